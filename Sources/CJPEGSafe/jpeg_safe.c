#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#include "jpeg_safe.h"

/// libjpeg's error manager, extended with where to jump and what went wrong.
struct safe_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

/// Progressive JPEGs can declare thousands of scans, each re-reading the whole image: the same
/// guard TurboJPEG uses (at most 500 scans) keeps a crafted file from running for minutes.
struct safe_progress {
    struct jpeg_progress_mgr pub;
    struct safe_error *error;
};

static void safe_error_exit(j_common_ptr cinfo) {
    struct safe_error *error = (struct safe_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, error->message);
    longjmp(error->jump, 1);
}

/// Warnings that mean the data are truncated or damaged stop decoding; others (extraneous bytes
/// between markers, common in camera files) are ignored. Nothing is printed.
static void safe_emit_message(j_common_ptr cinfo, int level) {
    struct safe_error *error = (struct safe_error *)cinfo->err;
    if (level >= 0) return;
    error->pub.num_warnings++;
    int code = error->pub.msg_code;
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE) {
        (*cinfo->err->format_message)(cinfo, error->message);
        longjmp(error->jump, 1);
    }
}

static void safe_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void safe_progress_monitor(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    struct safe_progress *progress = (struct safe_progress *)cinfo->progress;
    if (((j_decompress_ptr)cinfo)->input_scan_number > 500) {
        snprintf(progress->error->message, JMSG_LENGTH_MAX, "more than 500 progressive scans");
        longjmp(progress->error->jump, 1);
    }
}

static void install(struct safe_error *error) {
    jpeg_std_error(&error->pub);
    error->pub.error_exit = safe_error_exit;
    error->pub.emit_message = safe_emit_message;
    error->pub.output_message = safe_output_message;
    error->message[0] = 0;
}

static void copy_message(char *message, size_t message_size, const char *text) {
    if (message && message_size > 0) snprintf(message, message_size, "%s", text);
}

int digitlab_jpeg_decode(const unsigned char *data, size_t size, long max_pixels, int grey,
                         unsigned char **pixels, int *width, int *height, int *channels,
                         char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    struct safe_error error;
    struct safe_progress progress;
    unsigned char *volatile image = NULL;
    unsigned char *volatile row = NULL;

    *pixels = NULL;
    *width = *height = *channels = 0;
    install(&error);
    cinfo.err = &error.pub;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(image);
        free(row);
        copy_message(message, message_size, error.message);
        return DIGITLAB_JPEG_ERROR;
    }
    jpeg_create_decompress(&cinfo);
    progress.pub.progress_monitor = safe_progress_monitor;
    progress.error = &error;
    cinfo.progress = &progress.pub;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    if ((long)cinfo.image_width * (long)cinfo.image_height > max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        copy_message(message, message_size, "too large");
        return DIGITLAB_JPEG_TOO_LARGE;
    }
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr: cinfo.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK: cinfo.out_color_space = JCS_CMYK; break;
    default: cinfo.out_color_space = JCS_RGB; break;
    }
    jpeg_start_decompress(&cinfo);
    int components = cinfo.output_components;
    int out_channels = components == 1 ? 1 : 3;
    size_t w = cinfo.output_width, h = cinfo.output_height;
    image = malloc(w * h * (size_t)out_channels);
    row = malloc(w * (size_t)components);
    if (!image || !row) {
        snprintf(error.message, JMSG_LENGTH_MAX, "out of memory for %zux%zu pixels", w, h);
        longjmp(error.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = { row };
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
            snprintf(error.message, JMSG_LENGTH_MAX, "no data for row %zu", y);
            longjmp(error.jump, 1);
        }
        unsigned char *out = image + y * w * (size_t)out_channels;
        if (components == 4) {
            // Adobe's CMYK JPEGs store inverted ink amounts: value = 255 - ink.
            for (size_t x = 0; x < w; x++) {
                unsigned k = row[4 * x + 3];
                for (int c = 0; c < 3; c++) out[3 * x + c] = (unsigned char)((row[4 * x + c] * k + 127) / 255);
            }
        } else {
            memcpy(out, row, w * (size_t)components);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *pixels = image;
    *width = (int)w;
    *height = (int)h;
    *channels = out_channels;
    return DIGITLAB_JPEG_OK;
}

int digitlab_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                         unsigned char **output, unsigned long *output_size,
                         char *message, size_t message_size) {
    struct jpeg_compress_struct cinfo;
    struct safe_error error;
    unsigned char *buffer = NULL;
    unsigned long size = 0;

    *output = NULL;
    *output_size = 0;
    install(&error);
    cinfo.err = &error.pub;
    if (setjmp(error.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        copy_message(message, message_size, error.message);
        return DIGITLAB_JPEG_ERROR;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = { (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * (size_t)width * (size_t)channels) };
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *output = buffer;
    *output_size = size;
    return DIGITLAB_JPEG_OK;
}

void digitlab_jpeg_free(void *buffer) { free(buffer); }
