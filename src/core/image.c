/*
 * image.c — PNG and JPEG in (image_png.c, image_jpeg.c: Debian's libpng
 * and libjpeg-turbo), the channels a caller asks for, PNG out
 * (stb_image_write), written under a temporary name like every other file.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_write.h>

#include "nerve/core.h"
#include "core_internal.h"

/* A decoder works in proportion to the pixels the header claims, whatever
 * the file holds: a header is believed up to this many decoded bytes per
 * byte of file. PNG's deflate and JPEG's 8 x 8 blocks of a flat picture
 * stay near 1,000:1; a file of a few hundred bytes claiming millions of
 * pixels does not. */
enum { IMAGE_MAX_RATIO = 4096 };

int image_check_size(const char *path, int64_t h, int64_t w, int64_t channels, int64_t file_size)
{
    int64_t bytes;
    if (w < 1 || h < 1 || __builtin_mul_overflow(w * h, channels, &bytes) || bytes > IMAGE_MAX_BYTES)
        return nerve_error_set(NERVE_EINPUT, "%s: image of %lld x %lld pixels x %lld channels is "
                               "larger than nerve reads (%lld MiB decoded at most)", path, (long long)w,
                               (long long)h, (long long)channels, (long long)(IMAGE_MAX_BYTES >> 20));
    if (bytes / IMAGE_MAX_RATIO > file_size)
        return nerve_error_set(NERVE_EINPUT, "%s: a header claiming %lld x %lld pixels in a file of %lld "
                               "bytes: truncated or corrupt", path, (long long)w, (long long)h,
                               (long long)file_size);
    return 0;
}

typedef int (*image_decoder)(nerve_image *img, FILE *f, const char *path, int64_t file_size, int header_only);

/* The decoder for the file's first bytes; NULL (and the error set) when it
 * is neither PNG nor JPEG. Sets *size to the file's bytes. */
static image_decoder decoder_for(FILE *f, const char *path, int64_t *size)
{
    static const unsigned char png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    unsigned char head[8] = { 0 };
    size_t got = fread(head, 1, sizeof head, f);
    struct stat st;
    *size = fstat(fileno(f), &st) == 0 ? (int64_t)st.st_size : 0;
    rewind(f);
    if (got == sizeof head && memcmp(head, png, sizeof png) == 0)
        return image_png_decode;
    if (got >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF)
        return image_jpeg_decode;
    nerve_error_set(NERVE_EINPUT, "%s: not a PNG or JPEG image", path);
    return NULL;
}

/* Opens path and runs its decoder: all of it, or the header only. */
static int decode(nerve_image *img, const char *path, int header_only)
{
    memset(img, 0, sizeof *img);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot open", path);
    int64_t size;
    image_decoder decoder = decoder_for(f, path, &size);
    int rc = decoder ? decoder(img, f, path, size, header_only) : NERVE_EINPUT;
    fclose(f);
    return rc;
}

/* ---- channels -------------------------------------------------------------
 * PIL's convert(), which a PyTorch pipeline reading images sees: grey is
 * repeated, alpha dropped or 255 where missing, colour becomes ITU-R 601-2
 * luma in 16-bit fixed point, rounded (Pillow's Convert.c, L24). */

static uint8_t luma(const uint8_t *rgb)
{
    return (uint8_t)(((uint32_t)rgb[0] * 19595 + (uint32_t)rgb[1] * 38470 + (uint32_t)rgb[2] * 7471 + 0x8000) >> 16);
}

/* One pixel of `from` channels as `to` channels. */
static void convert_pixel(uint8_t *out, int to, const uint8_t *in, int from)
{
    int colour = from >= 3;
    uint8_t grey = colour ? luma(in) : in[0];
    uint8_t alpha = from == 2 ? in[1] : from == 4 ? in[3] : 255;
    if (to <= 2)
        out[0] = grey;
    else
        for (int k = 0; k < 3; k++)
            out[k] = colour ? in[k] : grey;
    if (to == 2 || to == 4)
        out[to - 1] = alpha;
}

/* img's pixels in `to` channels, replacing its own; 0 or NERVE_ENOMEM. */
static int convert_channels(nerve_image *img, int to, const char *path)
{
    int64_t n = img->height * img->width;
    uint8_t *out = malloc((size_t)(n * to));
    if (!out)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory converting to %d channels", path, to);
    for (int64_t i = 0; i < n; i++)
        convert_pixel(out + i * to, to, img->pixels + i * img->channels, (int)img->channels);
    free(img->pixels);
    img->pixels = out;
    img->channels = to;
    return 0;
}

int nerve_image_read(nerve_image *img, const char *path, int channels)
{
    if (channels < 0 || channels > 4) {
        memset(img, 0, sizeof *img);
        return nerve_error_set(NERVE_EINTERNAL, "%s: %d channels asked (0 to 4)", path, channels);
    }
    int rc = decode(img, path, 0);
    if (rc == 0 && channels && channels != img->channels)
        rc = convert_channels(img, channels, path);
    if (rc < 0)
        nerve_image_free(img);
    return rc;
}

int nerve_image_info(const char *path, int64_t *height, int64_t *width, int64_t *channels)
{
    nerve_image img;
    int rc = decode(&img, path, 1);
    *height = img.height, *width = img.width, *channels = img.channels;
    return rc;
}

void nerve_image_free(nerve_image *img)
{
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

static void write_to_file(void *context, void *data, int size)
{
    fwrite(data, 1, (size_t)size, (FILE *)context);
}

int nerve_image_write_png(const char *path, const nerve_image *img)
{
    if (img->channels < 1 || img->channels > 4 || img->width < 1 || img->height < 1 ||
        img->width > INT32_MAX / img->channels || img->height > INT32_MAX)
        return nerve_error_set(NERVE_EINTERNAL, "%s: cannot write a %lldx%lldx%lld image as PNG",
                               path, (long long)img->height, (long long)img->width,
                               (long long)img->channels);
    nerve_outfile o;
    int rc = nerve_outfile_open(&o, path);
    if (rc < 0)
        return rc;
    int stride = (int)(img->width * img->channels);
    /* stb's own deflate is slow at its default level 8; level 2 writes a
     * 10,000-image sprite several times faster for a slightly larger file. */
    stbi_write_png_compression_level = 2;
    if (!stbi_write_png_to_func(write_to_file, o.f, (int)img->width, (int)img->height,
                                (int)img->channels, img->pixels, stride)) {
        nerve_outfile_abort(&o);
        return nerve_error_set(NERVE_ENOMEM, "%s: cannot encode PNG", path);
    }
    return nerve_outfile_commit(&o);
}
