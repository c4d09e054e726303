/*
 * image_jpeg.c — JPEG in, through libjpeg (Debian's libjpeg-turbo), the
 * decoder PIL uses: the same IDCT and upsampling give the same pixels.
 *
 * libjpeg reports a corrupt file by calling an error function that must
 * not return; nerve's jumps back to jpeg_decode, which frees what was made
 * and returns NERVE_EINPUT with libjpeg's words. Warnings (corrupt data the
 * decoder works around, as PIL accepts) are not errors.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "nerve/internal/alloc.h"
#include "core_internal.h"

/* A progressive JPEG may hold any number of scans, each a pass over the
 * whole image: libjpeg-turbo's own fuzzers stop at 500, which no encoder
 * writes (libjpeg's default script has 10). */
enum { JPEG_MAX_SCANS = 500 };

typedef struct jpeg_failure {
    struct jpeg_error_mgr manager;    /* first: libjpeg sees only this */
    jmp_buf jump;
    char    message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void on_error(j_common_ptr cinfo)
{
    jpeg_failure *failure = (jpeg_failure *)cinfo->err;
    cinfo->err->format_message(cinfo, failure->message);
    longjmp(failure->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    (void)cinfo, (void)level;
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_failure *failure = (jpeg_failure *)cinfo->err;
        snprintf(failure->message, sizeof failure->message, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(failure->jump, 1);
    }
}

/* The output colour space for the file's: grey stays grey, YCbCr and RGB
 * give RGB, CMYK and YCCK give CMYK (made RGB by cmyk_to_rgb). */
static void choose_colour(j_decompress_ptr d)
{
    if (d->jpeg_color_space == JCS_GRAYSCALE)
        d->out_color_space = JCS_GRAYSCALE;
    else if (d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK)
        d->out_color_space = JCS_CMYK;
    else
        d->out_color_space = JCS_RGB;
}

/* (n, 4) inverted CMYK, as Adobe writes it and libjpeg returns it, to
 * (n, 3) RGB in place: each colour is its ink times black. */
static void cmyk_to_rgb(uint8_t *px, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *s = px + 4 * i;
        unsigned k = s[3];
        uint8_t r = (uint8_t)((s[0] * k + 127) / 255), g = (uint8_t)((s[1] * k + 127) / 255),
                b = (uint8_t)((s[2] * k + 127) / 255);
        px[3 * i] = r, px[3 * i + 1] = g, px[3 * i + 2] = b;
    }
}

/* What jpeg_decode made, freed there whichever way decoding ends. */
typedef struct jpeg_work {
    struct jpeg_decompress_struct d;
    struct jpeg_progress_mgr      progress;
    uint8_t                      *pixels;
} jpeg_work;

static void read_header(jpeg_work *work, FILE *f)
{
    jpeg_stdio_src(&work->d, f);
    work->progress.progress_monitor = on_progress;
    work->d.progress = &work->progress;
    work->d.mem->max_memory_to_use = 2 * (long)IMAGE_MAX_BYTES;
    jpeg_read_header(&work->d, TRUE);
    choose_colour(&work->d);
    jpeg_calc_output_dimensions(&work->d);
}

static int read_pixels(jpeg_work *work, const char *path, int64_t h, int64_t w, int64_t c)
{
    int64_t row_bytes = w * work->d.output_components;
    work->pixels = nerve_alloc_array((size_t)h, (size_t)row_bytes, "JPEG pixels");
    if (!work->pixels)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory for %lld x %lld pixels", path,
                               (long long)h, (long long)w);
    jpeg_start_decompress(&work->d);
    while (work->d.output_scanline < work->d.output_height) {
        JSAMPROW row = work->pixels + (int64_t)work->d.output_scanline * row_bytes;
        jpeg_read_scanlines(&work->d, &row, 1);
    }
    if (work->d.output_components == 4 && c == 3)
        cmyk_to_rgb(work->pixels, h * w);
    return 0;
}

int image_jpeg_decode(nerve_image *img, FILE *f, const char *path, int64_t file_size, int header_only)
{
    jpeg_failure failure = { .message = "" };
    jpeg_work work = { 0 };
    work.d.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = on_error;
    failure.manager.emit_message = on_message;
    int rc = 0;
    if (setjmp(failure.jump))
        rc = nerve_error_set(NERVE_EINPUT, "%s: corrupt or truncated JPEG (%s)", path, failure.message);
    else {
        jpeg_create_decompress(&work.d);
        read_header(&work, f);
        int64_t h = work.d.output_height, w = work.d.output_width;
        int64_t c = work.d.output_components == 4 ? 3 : work.d.output_components;
        rc = image_check_size(path, h, w, c, file_size);
        if (rc == 0 && !header_only)
            rc = read_pixels(&work, path, h, w, c);
        if (rc == 0) {
            *img = (nerve_image){ .height = h, .width = w, .channels = c, .pixels = work.pixels };
            work.pixels = NULL;
        }
    }
    jpeg_destroy_decompress(&work.d);   /* safe on a struct never created: work is zeroed */
    free(work.pixels);
    return rc;
}
