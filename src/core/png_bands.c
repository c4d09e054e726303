/*
 * png_bands.c — a PNG written in bands of rows: each band is filtered and
 * deflated on its own (by another process, even), and the bands are then
 * joined into one zlib stream (pigz's way: every band but the last ends
 * on a byte boundary with a full flush, their Adler-32s combine). The
 * file's bytes depend on where the bands start, never on who compressed
 * them, so a sprite made by several ranks is the one a single process
 * makes. zlib at a low level is also several times faster than stb's own
 * deflate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nerve/core.h"

enum { LEVEL = 3 };   /* measured: near level 6's size on thumbnails, a third of its time */

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Row `row` under filter f into out[0..n) (prev: the row above, or NULL at
 * a band's top, where only None and Sub apply: the row above is another
 * band's). Returns the sum of |signed byte|, the usual heuristic. One loop
 * a filter, without a branch inside, for the compiler to vectorise. */
static long filter_row(uint8_t *out, const uint8_t *row, const uint8_t *prev, size_t n, int bpp, int f)
{
    size_t b = (size_t)bpp < n ? (size_t)bpp : n;
    if (f == 0)
        memcpy(out, row, n);
    for (size_t i = 0; f == 1 && i < n; i++)
        out[i] = (uint8_t)(row[i] - (i >= b ? row[i - b] : 0));
    for (size_t i = 0; f == 2 && i < n; i++)
        out[i] = (uint8_t)(row[i] - prev[i]);
    for (size_t i = 0; f == 3 && i < b; i++)
        out[i] = (uint8_t)(row[i] - prev[i] / 2);
    for (size_t i = b; f == 3 && i < n; i++)
        out[i] = (uint8_t)(row[i] - (row[i - b] + prev[i]) / 2);
    for (size_t i = 0; f == 4 && i < b; i++)
        out[i] = (uint8_t)(row[i] - prev[i]);   /* Paeth of (0, b, 0) is b */
    for (size_t i = b; f == 4 && i < n; i++)
        out[i] = (uint8_t)(row[i] - paeth(row[i - b], prev[i], prev[i - b]));
    long cost = 0;
    for (size_t i = 0; i < n; i++)
        cost += out[i] < 128 ? out[i] : 256 - out[i];
    return cost;
}

/* The band's rows, each a filter byte and the filtered row; NULL when out
 * of memory. */
static uint8_t *filter_band(const uint8_t *pixels, int64_t width, int64_t rows, int channels, size_t *bytes)
{
    size_t n = (size_t)(width * channels);
    *bytes = (n + 1) * (size_t)rows;
    uint8_t *out = malloc(*bytes ? *bytes : 1), *trial = malloc(n + 1);
    for (int64_t y = 0; out && trial && y < rows; y++) {
        const uint8_t *row = pixels + (size_t)y * n, *prev = y ? row - n : NULL;
        uint8_t *dst = out + (size_t)y * (n + 1);
        long best = -1;
        for (int f = 0; f < (prev ? 5 : 2); f++) {
            long cost = filter_row(trial, row, prev, n, channels, f);
            if (best < 0 || cost < best) {
                best = cost;
                dst[0] = (uint8_t)f;
                memcpy(dst + 1, trial, n);
            }
        }
    }
    free(trial);
    return out;
}

int nerve_png_band_compress(nerve_png_band *b, const uint8_t *pixels, int64_t width, int64_t rows, int channels,
                            int last)
{
    memset(b, 0, sizeof *b);
    size_t raw;
    uint8_t *filtered = filter_band(pixels, width, rows, channels, &raw);
    z_stream z = { 0 };
    int rc = filtered && raw <= UINT32_MAX ? 0 : nerve_error_set(NERVE_ENOMEM, "out of memory compressing rows");
    if (rc == 0 && deflateInit2(&z, LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory compressing rows");
    size_t cap = rc == 0 ? deflateBound(&z, (uLong)raw) + 16 : 0;
    if (rc == 0 && !(b->data = malloc(cap)))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory compressing rows");
    if (rc == 0) {
        z.next_in = filtered;
        z.avail_in = (uInt)raw;
        z.next_out = b->data;
        z.avail_out = (uInt)cap;
        if (deflate(&z, last ? Z_FINISH : Z_FULL_FLUSH) != (last ? Z_STREAM_END : Z_OK) || z.avail_in)
            rc = nerve_error_set(NERVE_EINTERNAL, "zlib could not compress %zu bytes of rows", raw);
        b->bytes = cap - z.avail_out;
        b->raw = raw;
        b->adler = (uint32_t)adler32(adler32(0, NULL, 0), filtered, (uInt)raw);
    }
    if (cap)
        deflateEnd(&z);
    free(filtered);
    if (rc < 0)
        nerve_png_band_free(b);
    return rc;
}

void nerve_png_band_free(nerve_png_band *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One chunk: length, type, data, CRC of type and data. */
static void chunk(FILE *f, const char *type, const uint8_t *data, size_t n)
{
    uint8_t word[4];
    put32(word, (uint32_t)n);
    fwrite(word, 1, 4, f);
    fwrite(type, 1, 4, f);
    if (n)
        fwrite(data, 1, n, f);
    uLong crc = crc32(crc32(0, (const Bytef *)type, 4), n ? data : (const Bytef *)"", (uInt)n);
    put32(word, (uint32_t)crc);
    fwrite(word, 1, 4, f);
}

/* The IDAT chunk's data: zlib's header, the bands, their Adler-32. */
static uint8_t *join_bands(const nerve_png_band *bands, int n, size_t *bytes)
{
    size_t total = 6;
    for (int i = 0; i < n; i++)
        total += bands[i].bytes;
    uint8_t *out = malloc(total), *at = out;
    if (!out)
        return NULL;
    *at++ = 0x78;   /* deflate, 32 KiB window */
    *at++ = 0x01;   /* no dictionary; 0x7801 is a multiple of 31 */
    uLong adler = adler32(0, NULL, 0);
    for (int i = 0; i < n; i++) {
        memcpy(at, bands[i].data, bands[i].bytes);
        at += bands[i].bytes;
        adler = adler32_combine(adler, bands[i].adler, (z_off_t)bands[i].raw);
    }
    put32(at, (uint32_t)adler);
    *bytes = total;
    return out;
}

int nerve_png_bands_write(const char *path, int64_t width, int64_t height, int channels, const nerve_png_band *bands,
                          int n)
{
    if (width < 1 || height < 1 || width > INT32_MAX || height > INT32_MAX || (channels != 1 && channels != 3) ||
        n < 1)
        return nerve_error_set(NERVE_EINTERNAL, "%s: cannot write a %lldx%lldx%d image in %d bands as PNG", path,
                               (long long)height, (long long)width, channels, n);
    size_t bytes;
    uint8_t *idat = join_bands(bands, n, &bytes), header[13];
    if (!idat || bytes > UINT32_MAX) {
        free(idat);
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory joining the PNG's rows", path);
    }
    put32(header, (uint32_t)width);
    put32(header + 4, (uint32_t)height);
    header[8] = 8;                           /* bits a sample */
    header[9] = channels == 3 ? 2 : 0;       /* truecolour, greyscale */
    header[10] = header[11] = header[12] = 0;   /* deflate, adaptive filters, not interlaced */
    nerve_outfile o;
    int rc = nerve_outfile_open(&o, path);
    if (rc == 0) {
        fwrite("\x89PNG\r\n\x1a\n", 1, 8, o.f);
        chunk(o.f, "IHDR", header, sizeof header);
        chunk(o.f, "IDAT", idat, bytes);
        chunk(o.f, "IEND", NULL, 0);
        rc = nerve_outfile_commit(&o);
    }
    free(idat);
    return rc;
}
