/*
 * test_npz_idx_image.c — .npz (stored and deflated, NumPy's and ours), IDX
 * (plain and gzip, every type), Fashion-MNIST, and PNG/JPEG images.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "../support/support.h"

static void check_npz_members(const char *path)
{
    nerve_npz z;
    cr_assert_eq(nerve_npz_open(&z, path), 0, "%s", nerve_error());
    cr_assert_eq(z.count, 3);
    const char *names[] = { "a", "b", "c" };
    nerve_dtype types[] = { NERVE_F32, NERVE_I64, NERVE_I64 };
    for (int i = 0; i < 3; i++) {
        nerve_array a;
        char rel[64];
        snprintf(rel, sizeof rel, "npz/member_%s.expect.npy", names[i]);
        const char *expect = fixture(rel);
        cr_assert_eq(nerve_npz_read(&z, names[i], types[i], &a, NULL), 0, "%s", nerve_error());
        assert_same_as(&a, expect, 0);
        nerve_array_free(&a);
    }
    nerve_npz_close(&z);
}

Test(npz, numpy_savez_stored)
{
    check_npz_members(fixture("npz/stored.npz"));
}

Test(npz, header_alone_of_a_deflated_member)
{
    nerve_npz z;
    cr_assert_eq(nerve_npz_open(&z, fixture("npz/deflated.npz")), 0, "%s", nerve_error());
    nerve_npy_header h;
    cr_assert_eq(nerve_npz_read_header(&z, "b", &h), 0, "%s", nerve_error());
    cr_assert_eq(h.dtype, NERVE_I64);
    cr_assert_eq(h.ndim, 1);
    cr_assert_eq(h.shape[0], 5);
    nerve_npz_close(&z);
    cr_assert_eq(nerve_npz_open(&z, fixture("npz/not_npy_member.npz")), 0);
    cr_assert_eq(nerve_npz_read_header(&z, "readme.txt", &h), NERVE_EINPUT);
    nerve_npz_close(&z);
}

Test(npz, numpy_savez_compressed)
{
    check_npz_members(fixture("npz/deflated.npz"));
}

Test(npz, write_then_read_both_compressions)
{
    int64_t shape[2] = { 50, 20 }, n = 9;
    nerve_array f, i;
    cr_assert_eq(nerve_array_alloc(&f, NERVE_F32, 2, shape), 0);
    cr_assert_eq(nerve_array_alloc(&i, NERVE_I64, 1, &n), 0);
    for (int k = 0; k < 1000; k++)
        ((float *)f.data)[k] = (float)(k % 17) / 3;
    for (int k = 0; k < 9; k++)
        ((int64_t *)i.data)[k] = k * k - 40;
    nerve_npz_member members[] = { { "weights", &f }, { "labels", &i } };
    for (int compress = 0; compress < 2; compress++) {
        const char *path = temp_path(compress ? "c.npz" : "s.npz");
        cr_assert_eq(nerve_npz_write(path, members, 2, compress), 0, "%s", nerve_error());
        nerve_npz z;
        cr_assert_eq(nerve_npz_open(&z, path), 0, "%s", nerve_error());
        cr_assert_str_eq(z.names[0], "weights.npy");
        nerve_array g;
        cr_assert_eq(nerve_npz_read(&z, "weights.npy", NERVE_F32, &g, NULL), 0);
        cr_assert_eq(memcmp(g.data, f.data, 1000 * sizeof(float)), 0);
        nerve_array_free(&g);
        cr_assert_eq(nerve_npz_read(&z, "labels", NERVE_I64, &g, NULL), 0);
        cr_assert_eq(memcmp(g.data, i.data, 9 * sizeof(int64_t)), 0);
        nerve_array_free(&g);
        nerve_npz_close(&z);
    }
    nerve_array_free(&f);
    nerve_array_free(&i);
}

Test(idx, every_type_plain_and_gzip)
{
    const char *names[] = { "images_u8", "labels_u8", "values_i32", "values_f32", "values_f64",
                            "values_i16" };
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        for (int gz = 0; gz < 2; gz++) {
            char rel[128], expect_rel[128];
            snprintf(rel, sizeof rel, "idx/%s.idx%s", names[k], gz ? ".gz" : "");
            snprintf(expect_rel, sizeof expect_rel, "idx/%s.expect.npy", names[k]);
            const char *expect = fixture(expect_rel);
            nerve_npy_header h;
            cr_assert_eq(nerve_npy_read_header(&h, expect), 0);
            nerve_array a;
            nerve_dtype want = h.dtype == NERVE_I64 ? NERVE_I64 : NERVE_F32;
            cr_assert_eq(nerve_idx_read(&a, NULL, fixture(rel), want), 0, "%s", nerve_error());
            assert_same_as(&a, expect, 0);
            nerve_array_free(&a);
        }
    }
}

static void check_fashion_split(const char *split, int64_t n, int64_t per_class)
{
    nerve_array images, labels;
    int rc = nerve_fashion_mnist_load(&images, &labels, split);
    cr_assert_eq(rc, 0, "%s", nerve_error());
    cr_assert_eq(images.ndim, 3);
    cr_assert_eq(images.shape[0], n);
    cr_assert_eq(images.shape[1], 28);
    cr_assert_eq(images.shape[2], 28);
    cr_assert_eq(labels.ndim, 1);
    cr_assert_eq(labels.shape[0], n);
    int64_t counts[10] = { 0 };
    for (int64_t i = 0; i < n; i++) {
        int64_t y = ((int64_t *)labels.data)[i];
        cr_assert(y >= 0 && y < 10, "label %lld out of range", (long long)y);
        counts[y]++;
    }
    for (int c = 0; c < 10; c++)
        cr_assert_eq(counts[c], per_class, "class %d has %lld %s images", c, (long long)counts[c], split);
    float lo = 255, hi = 0;
    for (int64_t i = 0; i < n * 784; i++) {
        float v = ((float *)images.data)[i];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    cr_assert(lo == 0 && hi == 255, "pixel range %g..%g", lo, hi);
    nerve_array_free(&images);
    nerve_array_free(&labels);
}

Test(fashion_mnist, test_split_10000_with_1000_per_class)
{
    check_fashion_split("test", 10000, 1000);
}

Test(fashion_mnist, train_split_60000_with_6000_per_class, .timeout = 120)
{
    check_fashion_split("train", 60000, 6000);
}

Test(fashion_mnist, unknown_split_and_missing_folder)
{
    nerve_array a;
    cr_assert_eq(nerve_fashion_mnist_load(&a, NULL, "validation"), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "unknown split"), "%s", nerve_error());
    setenv("NERVE_FASHION_MNIST", "/nonexistent", 1);
    cr_assert_eq(nerve_fashion_mnist_load(&a, NULL, "test"), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "dataset-fashion-mnist"), "%s", nerve_error());
    unsetenv("NERVE_FASHION_MNIST");
}

static void check_image(const char *name, int tolerance)
{
    char rel[64];
    snprintf(rel, sizeof rel, "image/%s", name);
    nerve_image img;
    cr_assert_eq(nerve_image_read(&img, fixture(rel), 0), 0, "%s", nerve_error());
    char expect[4096];
    snprintf(expect, sizeof expect, "%s.expect.npy", fixture(rel));
    nerve_array want;
    cr_assert_eq(nerve_npy_read(&want, NULL, expect, NERVE_I64), 0);
    cr_assert_eq(img.height, want.shape[0]);
    cr_assert_eq(img.width, want.shape[1]);
    cr_assert_eq(img.channels, want.ndim == 2 ? 1 : want.shape[2]);
    int64_t n = img.height * img.width * img.channels;
    for (int64_t i = 0; i < n; i++) {
        int64_t d = (int64_t)img.pixels[i] - ((int64_t *)want.data)[i];
        cr_assert(d <= tolerance && d >= -tolerance, "%s pixel byte %lld differs by %lld", name,
                  (long long)i, (long long)d);
    }
    nerve_array_free(&want);
    nerve_image_free(&img);
}

Test(image, png_gray_rgb_rgba_exact)
{
    check_image("gray.png", 0);
    check_image("rgb.png", 0);
    check_image("rgba.png", 0);
}

Test(image, jpeg_within_decoder_rounding)
{
    /* nerve decodes with libjpeg-turbo, as PIL does: the same pixels. */
    check_image("rgb.jpg", 0);
}

Test(image, png_round_trip_and_channel_conversion)
{
    nerve_image img;
    cr_assert_eq(nerve_image_read(&img, fixture("image/rgb.png"), 0), 0);
    const char *path = temp_path("copy.png");
    cr_assert_eq(nerve_image_write_png(path, &img), 0, "%s", nerve_error());
    nerve_image back;
    cr_assert_eq(nerve_image_read(&back, path, 0), 0);
    cr_assert_eq(back.channels, 3);
    cr_assert_eq(memcmp(back.pixels, img.pixels, (size_t)(img.height * img.width * 3)), 0);
    nerve_image_free(&back);
    cr_assert_eq(nerve_image_read(&back, fixture("image/rgb.png"), 1), 0);
    cr_assert_eq(back.channels, 1);
    nerve_image_free(&back);
    nerve_image_free(&img);
}
