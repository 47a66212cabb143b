// Writes the JPEG seeds of the images fuzzer: grey and colour, baseline and progressive,
// 4:2:0 and 4:4:4, restart markers, and a CMYK one. Build and run from Fuzz/Corpus:
//   clang make-jpeg-seeds.c -ljpeg -o /tmp/make-jpeg-seeds && /tmp/make-jpeg-seeds
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

static void write_jpeg(const char *path, int width, int height, int components, J_COLOR_SPACE space,
                       int progressive, int h_samp, int restart) {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    unsigned char *buffer = NULL;
    unsigned long size = 0;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = components;
    cinfo.in_color_space = space;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 75, TRUE);
    if (components == 3) { cinfo.comp_info[0].h_samp_factor = h_samp; cinfo.comp_info[0].v_samp_factor = h_samp; }
    if (progressive) jpeg_simple_progression(&cinfo);
    cinfo.restart_in_rows = restart;
    jpeg_start_compress(&cinfo, TRUE);
    unsigned char *row = malloc((size_t)width * components);
    while (cinfo.next_scanline < cinfo.image_height) {
        for (int x = 0; x < width * components; x++) row[x] = (unsigned char)(x * 37 + cinfo.next_scanline * 11);
        JSAMPROW rows[1] = { row };
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    FILE *f = fopen(path, "wb");
    fwrite(buffer, 1, size, f);
    fclose(f);
    free(row);
    free(buffer);
}

int main(void) {
    write_jpeg("image/grey.jpg", 8, 8, 1, JCS_GRAYSCALE, 0, 1, 0);
    write_jpeg("image/colour-420.jpg", 16, 16, 3, JCS_RGB, 0, 2, 0);
    write_jpeg("image/colour-444.jpg", 9, 7, 3, JCS_RGB, 0, 1, 0);
    write_jpeg("image/progressive.jpg", 16, 8, 3, JCS_RGB, 1, 2, 0);
    write_jpeg("image/restart.jpg", 8, 24, 1, JCS_GRAYSCALE, 0, 1, 1);
    write_jpeg("image/cmyk.jpg", 8, 8, 4, JCS_CMYK, 0, 1, 0);
    return 0;
}
