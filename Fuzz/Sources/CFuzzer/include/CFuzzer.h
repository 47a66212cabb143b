// libFuzzer's driver, for executables that keep their own main (SwiftPM gives every executable
// target one): it parses libFuzzer's options from argc/argv and fuzzes `callback`.
#ifndef DIGITLAB_CFUZZER_H
#define DIGITLAB_CFUZZER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
