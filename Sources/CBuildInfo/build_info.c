// The build's commit. `make build` writes build_info.generated.h (git-ignored) beside this file
// with DIGITLAB_COMMIT, and touches this file when the commit changes so that it is recompiled;
// a plain `swift build` without it compiles the fallback. A C file because C can ask whether a
// header exists (__has_include) and Swift cannot: no build plugin, no flag that changes with
// every commit (which would rebuild every module).
#include "build_info.h"

#if __has_include("build_info.generated.h")
#include "build_info.generated.h"
#endif

#ifndef DIGITLAB_COMMIT
#define DIGITLAB_COMMIT "unknown"
#endif

const char *digitlab_build_commit(void) { return DIGITLAB_COMMIT; }
