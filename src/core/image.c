/*
 * image.c — PNG and JPEG in (stb_image), PNG out (stb_image_write), with
 * the output written under a temporary name like every other.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "nerve/core.h"
#include "nerve/internal/alloc.h"
#include "core_internal.h"

/* The decoded size nerve accepts: 256 MiB, an 8192 x 8192 RGBA image.
 * stb_image allocates from the dimensions in the header before it decodes
 * a pixel (and a PNG's inflated rows beside its output, twice that for
 * 16-bit), so a 100-byte file claiming 20000 x 20000 would cost gigabytes;
 * a network's input images are far below this. */
#define IMAGE_MAX_BYTES ((int64_t)1 << 28)

/* ---- JPEG Huffman tables ------------------------------------------------------
 * A JPEG's DHT segment gives, per table, how many codes have each length 1
 * to 16, then the codes. stb_image builds each table in arrays of 257
 * entries and, in the copy Debian 12 ships (git 2022-09-08), does not check
 * that the counts add up to at most 256: a crafted file writes past the
 * array (found by fuzzing; upstream later added the "bad size list" check).
 * So nerve reads every DHT segment of a JPEG first, the way stb will. */

enum { JPEG_MAX_CODES = 256 };

/* Whether the DHT segment whose length field starts at p (end: the file's
 * end) has a table listing more than 256 codes. Bytes past the end read
 * as 0, as stb reads them. */
static int dht_overflows(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 2)
        return 0;
    long length = ((long)p[0] << 8 | p[1]) - 2;
    p += 2;
    while (length > 0 && p < end) {
        int sum = 0;
        for (int i = 1; i <= 16 && p + i < end; i++)
            sum += p[i];
        if (sum > JPEG_MAX_CODES)
            return 1;
        p += 17 + sum;
        length -= 17 + sum;
    }
    return 0;
}

/* Checks every DHT marker (0xFF 0xC4) anywhere in a JPEG file, not only
 * those a walk over its segments would meet: stb finds the markers after
 * an entropy-coded scan by its own rules, so any place could be one. A
 * marker inside another segment (an EXIF thumbnail's) is checked too; a
 * sane table passes wherever it is. Other files pass. Leaves f at its start. */
static int check_jpeg_tables(FILE *f, const char *path)
{
    unsigned char head[2];
    int jpeg = fread(head, 1, 2, f) == 2 && head[0] == 0xFF && head[1] == 0xD8;
    int rc = 0;
    if (jpeg && fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        unsigned char *bytes = size > 0 ? nerve_alloc_array((size_t)size, 1, "JPEG bytes") : NULL;
        rewind(f);
        if (size > 0 && !bytes)
            rc = NERVE_ENOMEM;
        else if (bytes && fread(bytes, 1, (size_t)size, f) == (size_t)size) {
            for (long i = 0; i + 1 < size && rc == 0; i++)
                if (bytes[i] == 0xFF && bytes[i + 1] == 0xC4 && dht_overflows(bytes + i + 2, bytes + size))
                    rc = nerve_error_set(NERVE_EINPUT, "%s: corrupt JPEG: a Huffman table lists more than %d "
                                         "codes", path, JPEG_MAX_CODES);
        }
        free(bytes);
    }
    rewind(f);
    return rc;
}

/* stb_image decodes many formats; nerve reads PNG and JPEG only, so the
 * others' decoders (TGA, PSD, HDR, PIC, PNM, GIF, BMP) are never reached
 * by a file nerve is given: a 300-byte TGA made stb loop over 64 million
 * pixels (found by fuzzing). Sets *size to the file's bytes. */
static int check_format(FILE *f, const char *path, int64_t *size)
{
    static const unsigned char png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    unsigned char head[8] = { 0 };
    size_t got = fread(head, 1, sizeof head, f);
    struct stat st;
    *size = fstat(fileno(f), &st) == 0 ? (int64_t)st.st_size : 0;
    rewind(f);
    int is_png = got == sizeof head && memcmp(head, png, sizeof png) == 0;
    int is_jpeg = got >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
    if (!is_png && !is_jpeg)
        return nerve_error_set(NERVE_EINPUT, "%s: not a PNG or JPEG image", path);
    return 0;
}

/* The chunks of a PNG, walked as the format defines them (length, type,
 * data, CRC), before stb_image reads them its own way: a chunk longer than
 * 2^31 - 1 bytes (the format's limit) or running past the end of the file
 * is refused, since stb then skips to places a reader of the format would
 * not (found by fuzzing); so is an empty IDAT before any image data, whose
 * data stb takes at an offset into a buffer it has not made yet (UBSan).
 * Encoders write neither. Other files pass. Leaves f at its start. */
static int check_png_chunks(FILE *f, const char *path, int64_t size)
{
    unsigned char chunk[8];
    int rc = 0;
    int64_t at = 8;
    if (fread(chunk, 1, sizeof chunk, f) == sizeof chunk && chunk[0] == 0x89 && chunk[1] == 'P') {
        int data_seen = 0;
        while (rc == 0 && fread(chunk, 1, sizeof chunk, f) == sizeof chunk) {
            uint32_t length = (uint32_t)chunk[0] << 24 | (uint32_t)chunk[1] << 16 | (uint32_t)chunk[2] << 8 | chunk[3];
            int idat = memcmp(chunk + 4, "IDAT", 4) == 0;
            /* stb grows its IDAT buffer to a chunk's declared length before
             * reading it: a length past the file cost 2 GB (found by fuzzing). */
            if (length > INT32_MAX || at + 12 + (int64_t)length > size)
                rc = nerve_error_set(NERVE_EINPUT, "%s: corrupt or truncated PNG: a chunk of %lu bytes at byte %lld",
                                     path, (unsigned long)length, (long long)at);
            else if (idat && length == 0 && !data_seen)
                rc = nerve_error_set(NERVE_EINPUT, "%s: corrupt PNG: an empty IDAT chunk before the image data",
                                     path);
            data_seen |= idat && length > 0;
            if (rc < 0 || memcmp(chunk + 4, "IEND", 4) == 0)
                break;
            at += 12 + (int64_t)length;
            if (fseek(f, (long)at, SEEK_SET) != 0)
                break;
        }
    }
    rewind(f);
    return rc;
}

/* A decoder works in proportion to the pixels the header claims, whatever
 * the file holds: a header is believed up to this many decoded bytes per
 * byte of file. PNG's deflate and JPEG's 8 x 8 blocks of a flat picture
 * stay near 1,000:1; a file of a few hundred bytes claiming millions of
 * pixels does not. */
enum { IMAGE_MAX_RATIO = 4096 };

/* Reads the header's dimensions and refuses an image whose decoded pixels
 * would pass IMAGE_MAX_BYTES, or the file's size times IMAGE_MAX_RATIO,
 * before stb allocates anything. */
static int check_dimensions(FILE *f, const char *path, int channels, int64_t file_size)
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
    if (bytes / IMAGE_MAX_RATIO > file_size)
        return nerve_error_set(NERVE_EINPUT, "%s: a header claiming %d x %d pixels in a file of %lld bytes: "
                               "truncated or corrupt", path, w, h, (long long)file_size);
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
    int64_t size = 0;
    int rc = check_format(f, path, &size);
    if (rc == 0)
        rc = check_png_chunks(f, path, size);
    if (rc == 0)
        rc = check_jpeg_tables(f, path);
    if (rc == 0)
        rc = check_dimensions(f, path, channels, size);
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
