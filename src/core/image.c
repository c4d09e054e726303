/*
 * image.c — PNG and JPEG in (stb_image), PNG out (stb_image_write), with
 * the output written under a temporary name like every other.
 */
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "nerve/core.h"
#include "core_internal.h"

/* The decoded size nerve accepts: 256 MiB, an 8192 x 8192 RGBA image.
 * stb_image allocates from the dimensions in the header before it decodes
 * a pixel (and a PNG's inflated rows beside its output, twice that for
 * 16-bit), so a 100-byte file claiming 20000 x 20000 would cost gigabytes;
 * a network's input images are far below this. */
#define IMAGE_MAX_BYTES ((int64_t)1 << 28)

/* Reads the header's dimensions and refuses an image whose decoded pixels
 * would pass IMAGE_MAX_BYTES, before stb allocates anything. */
static int check_dimensions(FILE *f, const char *path, int channels)
{
    int w, h, c;
    if (!stbi_info_from_file(f, &w, &h, &c))
        return nerve_error_set(NERVE_EINPUT, "%s: cannot read as an image (%s)", path,
                               stbi_failure_reason());
    int64_t per_pixel = channels > c ? channels : c, bytes;
    if (w < 1 || h < 1 || __builtin_mul_overflow((int64_t)w * h, per_pixel, &bytes) ||
        bytes > IMAGE_MAX_BYTES)
        return nerve_error_set(NERVE_EINPUT, "%s: image of %d x %d pixels x %lld channels is "
                               "larger than nerve reads (%lld MiB decoded at most)", path, w, h,
                               (long long)per_pixel, (long long)(IMAGE_MAX_BYTES >> 20));
    return 0;
}

int nerve_image_read(nerve_image *img, const char *path, int channels)
{
    memset(img, 0, sizeof *img);
    if (channels < 0 || channels > 4)
        return nerve_error_set(NERVE_EINTERNAL, "%s: %d channels asked (0 to 4)", path, channels);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot open", path);
    int rc = check_dimensions(f, path, channels);
    if (rc < 0) {
        fclose(f);
        return rc;
    }
    int w, h, c;
    unsigned char *pixels = stbi_load_from_file(f, &w, &h, &c, channels);
    fclose(f);
    if (!pixels)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot read as an image (%s)", path,
                               stbi_failure_reason());
    img->height = h;
    img->width = w;
    img->channels = channels ? channels : c;
    img->pixels = pixels;
    return 0;
}

void nerve_image_free(nerve_image *img)
{
    stbi_image_free(img->pixels);
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
