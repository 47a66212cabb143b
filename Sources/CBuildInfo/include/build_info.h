#ifndef DIGITLAB_BUILD_INFO_H
#define DIGITLAB_BUILD_INFO_H

/// The commit the binary was built from ("abc1234", "abc1234-dirty" when tracked files had
/// changes), or "unknown" when it was built without `make` (plain `swift build`).
const char *digitlab_build_commit(void);

#endif
