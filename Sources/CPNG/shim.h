// libpng 1.6, for reading and writing PNG through its simplified API (png_image_*), which
// catches libpng's errors itself and reports them in png_image.message.
#include <png.h>
