/*
 * image_png.c — PNG in, through libpng (Debian's libpng16).
 *
 * libpng reports a corrupt file by calling an error function that must not
 * return; nerve's jumps back to png_decode, which frees what was made and
 * returns NERVE_EINPUT with libpng's words. Transforms give stb_image's
 * (and PIL's) view of a file: palettes and low bit depths expanded to
 * 8-bit grey or RGB, a tRNS chunk as an alpha channel, 16-bit samples cut
 * to their high byte, gamma ignored.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "core_internal.h"

/* An ancillary chunk (text, ICC profile) may not ask for more than this
 * much memory; a network's input image needs none of them. */
enum { PNG_CHUNK_MAX_BYTES = 8 << 20 };

typedef struct png_failure {
    jmp_buf jump;
    char    message[200];
} png_failure;

static void on_error(png_structp png, png_const_charp message)
{
    png_failure *failure = png_get_error_ptr(png);
    snprintf(failure->message, sizeof failure->message, "%s", message);
    longjmp(failure->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message)
{
    (void)png, (void)message;
}

/* What png_decode made, freed there whichever way decoding ends. */
typedef struct png_work {
    png_structp png;
    png_infop   info;
    uint8_t    *pixels;
    png_bytep  *rows;
} png_work;

/* Sets the transforms and reads the header: *h, *w, *c are the decoded
 * image's. */
static void read_header(png_work *work, FILE *f, int64_t *h, int64_t *w, int64_t *c)
{
    png_init_io(work->png, f);
    png_set_user_limits(work->png, 1u << 20, 1u << 20);
    png_set_chunk_malloc_max(work->png, PNG_CHUNK_MAX_BYTES);
    /* Like stb_image and most viewers, a bad checksum is not a reason to
     * refuse pixels that decode. */
    png_set_crc_action(work->png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
    png_read_info(work->png, work->info);
    png_set_expand(work->png);
    png_set_strip_16(work->png);
    png_set_interlace_handling(work->png);
    png_read_update_info(work->png, work->info);
    *h = png_get_image_height(work->png, work->info);
    *w = png_get_image_width(work->png, work->info);
    *c = png_get_channels(work->png, work->info);
}

/* Decodes every row into work->pixels, (h, w, c) bytes. */
static int read_pixels(png_work *work, const char *path, int64_t h, int64_t w, int64_t c)
{
    size_t row_bytes = png_get_rowbytes(work->png, work->info);
    if (row_bytes != (size_t)(w * c))
        return nerve_error_set(NERVE_EINTERNAL, "%s: libpng rows of %zu bytes for %lld x %lld", path,
                               row_bytes, (long long)w, (long long)c);
    work->pixels = nerve_alloc_array((size_t)h, row_bytes, "PNG pixels");
    work->rows = nerve_alloc_array((size_t)h, sizeof *work->rows, "PNG rows");
    if (!work->pixels || !work->rows)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory for %lld x %lld pixels", path,
                               (long long)h, (long long)w);
    for (int64_t y = 0; y < h; y++)
        work->rows[y] = work->pixels + y * (int64_t)row_bytes;
    png_read_image(work->png, work->rows);
    return 0;
}

int image_png_decode(nerve_image *img, FILE *f, const char *path, int64_t file_size, int header_only)
{
    png_failure failure = { .message = "" };
    png_work work = { 0 };
    work.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, on_error, on_warning);
    work.info = work.png ? png_create_info_struct(work.png) : NULL;
    int rc = 0;
    if (!work.info)
        rc = nerve_error_set(NERVE_ENOMEM, "%s: out of memory starting libpng", path);
    else if (setjmp(failure.jump))
        rc = nerve_error_set(NERVE_EINPUT, "%s: corrupt or truncated PNG (%s)", path, failure.message);
    else {
        int64_t h, w, c;
        read_header(&work, f, &h, &w, &c);
        rc = image_check_size(path, h, w, c, file_size);
        if (rc == 0 && !header_only)
            rc = read_pixels(&work, path, h, w, c);
        if (rc == 0) {
            *img = (nerve_image){ .height = h, .width = w, .channels = c, .pixels = work.pixels };
            work.pixels = NULL;
        }
    }
    png_destroy_read_struct(&work.png, &work.info, NULL);
    free(work.rows);
    free(work.pixels);
    return rc;
}
