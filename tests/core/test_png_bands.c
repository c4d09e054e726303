/*
 * test_png_bands.c — a PNG written in bands (png_bands.c) against its naive
 * twin, the whole image through stb (nerve_image_write_png): both read back
 * to the same pixels, for any cut into bands, grey and colour; the bytes
 * depend on the cut, not on anything else.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "../support/support.h"

/* A noisy image with flat runs (every filter wins somewhere). */
static nerve_image pattern(int64_t h, int64_t w, int channels)
{
    nerve_image img = { h, w, channels, malloc((size_t)(h * w * channels)) };
    uint32_t s = 12345;
    for (int64_t i = 0; i < h * w * channels; i++) {
        s = s * 1103515245u + 12345u;
        img.pixels[i] = (i / 7) % 3 == 0 ? (uint8_t)(s >> 24) : (uint8_t)(i % 251);
    }
    return img;
}

/* img written in bands cut at every `band` rows, read back. */
static void write_banded(const char *path, const nerve_image *img, int64_t band)
{
    int n = (int)((img->height + band - 1) / band);
    nerve_png_band *bands = calloc((size_t)n, sizeof *bands);
    size_t stride = (size_t)(img->width * img->channels);
    for (int i = 0; i < n; i++) {
        int64_t rows = img->height - i * band < band ? img->height - i * band : band;
        cr_assert_eq(nerve_png_band_compress(&bands[i], img->pixels + (size_t)(i * band) * stride, img->width, rows,
                                             (int)img->channels, i == n - 1), 0, "%s", nerve_error());
    }
    cr_assert_eq(nerve_png_bands_write(path, img->width, img->height, (int)img->channels, bands, n), 0, "%s",
                 nerve_error());
    for (int i = 0; i < n; i++)
        nerve_png_band_free(&bands[i]);
    free(bands);
}

static void assert_reads_as(const char *path, const nerve_image *img)
{
    nerve_image back;
    cr_assert_eq(nerve_image_read(&back, path, (int)img->channels), 0, "%s", nerve_error());
    cr_assert_eq(back.height, img->height);
    cr_assert_eq(back.width, img->width);
    cr_assert_eq(memcmp(back.pixels, img->pixels, (size_t)(img->height * img->width * img->channels)), 0, "%s",
                 path);
    nerve_image_free(&back);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    char *data = malloc(*n);
    cr_assert_eq(fread(data, 1, *n, f), *n);
    fclose(f);
    return data;
}

Test(png_bands, any_cut_reads_back_as_the_whole_image_written_by_stb)
{
    for (int channels = 1; channels <= 3; channels += 2) {
        nerve_image img = pattern(37, 29, channels);
        const char *naive = temp_path("naive.png");
        cr_assert_eq(nerve_image_write_png(naive, &img), 0, "%s", nerve_error());
        assert_reads_as(naive, &img);
        int64_t cuts[] = { 37, 10, 1 };
        for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
            const char *path = temp_path("banded.png");
            write_banded(path, &img, cuts[c]);
            assert_reads_as(path, &img);
        }
        nerve_image_free(&img);
    }
}

Test(png_bands, the_same_cut_gives_the_same_bytes)
{
    nerve_image img = pattern(20, 16, 1);
    const char *a = temp_path("a.png"), *b = temp_path("b.png");
    write_banded(a, &img, 6);
    write_banded(b, &img, 6);
    size_t na, nb;
    char *da = slurp(a, &na), *db = slurp(b, &nb);
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(da, db, na), 0);
    free(da);
    free(db);
    nerve_image_free(&img);
}

Test(png_bands, bad_shapes_are_refused)
{
    nerve_png_band b = { 0 };
    cr_assert_lt(nerve_png_bands_write(temp_path("x.png"), 0, 4, 1, &b, 1), 0);
    cr_assert_lt(nerve_png_bands_write(temp_path("x.png"), 4, 4, 2, &b, 1), 0);
}
