// libjpeg reports a fatal error by calling error_exit, which must not return: the usual answer is
// setjmp/longjmp, which Swift cannot do. These two functions run libjpeg under setjmp and turn
// every error into a return code and a message, so damaged JPEG files never end the process.
#ifndef DIGITLAB_JPEG_SAFE_H
#define DIGITLAB_JPEG_SAFE_H

#include <stddef.h>

/// Return codes of both functions.
#define DIGITLAB_JPEG_OK 0
#define DIGITLAB_JPEG_ERROR 1      // libjpeg rejected the data; the message says why
#define DIGITLAB_JPEG_TOO_LARGE 2  // the header declares more pixels than max_pixels; nothing allocated

/// Decodes a JPEG held in memory to 8-bit grayscale (channels 1) or RGB (channels 3; CMYK is
/// converted). With grey nonzero, a colour (YCbCr) JPEG is decoded to its luma by libjpeg itself,
/// as cv2.imread(path, IMREAD_GRAYSCALE) does. On success *pixels is a malloc'd
/// width*height*channels buffer the caller frees with digitlab_jpeg_free. Data that libjpeg only
/// warns about but that mean a damaged file (premature end, corrupt entropy data) count as errors.
/// max_pixels is checked before any pixel buffer is allocated. The header's dimensions are
/// returned even when the image is too large.
int digitlab_jpeg_decode(const unsigned char *data, size_t size, long max_pixels, int grey,
                         unsigned char **pixels, int *width, int *height, int *channels,
                         char *message, size_t message_size);

/// Encodes 8-bit grayscale (channels 1) or RGB (channels 3) pixels as a baseline JPEG of the
/// given quality (1-100). On success *output is a malloc'd buffer of *output_size bytes.
int digitlab_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                         unsigned char **output, unsigned long *output_size,
                         char *message, size_t message_size);

/// Frees a buffer returned by either function.
void digitlab_jpeg_free(void *buffer);

#endif
