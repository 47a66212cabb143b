// libjpeg (Debian's libjpeg62-turbo). jpeglib.h uses FILE and size_t without including the
// headers that declare them, so stdio.h comes first.
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
