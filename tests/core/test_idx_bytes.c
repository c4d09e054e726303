/*
 * test_idx_bytes.c — IDX images kept as their stored bytes (NERVE_U8, what
 * a study's inputs hold and convert batch by batch): the same values as
 * the float32 reading, and a file of another type refused.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "../support/support.h"

Test(idx_bytes, uint8_as_stored_match_the_float_reading)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *path = fixture(gz ? "idx/images_u8.idx.gz" : "idx/images_u8.idx");
        nerve_array bytes, floats;
        nerve_dtype stored;
        cr_assert_eq(nerve_idx_read(&bytes, &stored, path, NERVE_U8), 0, "%s", nerve_error());
        cr_assert_eq(nerve_idx_read(&floats, NULL, path, NERVE_F32), 0, "%s", nerve_error());
        cr_assert_eq(stored, NERVE_U8);
        cr_assert_eq(bytes.dtype, NERVE_U8);
        cr_assert_eq(bytes.ndim, floats.ndim);
        cr_assert_eq(memcmp(bytes.shape, floats.shape, (size_t)bytes.ndim * sizeof *bytes.shape), 0);
        int64_t n = nerve_array_count(&bytes), differ = 0;
        float *back = malloc((size_t)n * sizeof *back);
        nerve_convert(back, NERVE_F32, bytes.data, NERVE_U8, 0, n);
        for (int64_t i = 0; i < n; i++)
            differ += back[i] != ((const float *)floats.data)[i];
        cr_assert_eq(differ, 0);
        cr_assert_gt(n, 0);
        free(back);
        nerve_array_free(&bytes);
        nerve_array_free(&floats);
    }
}

Test(idx_bytes, other_types_are_not_read_as_bytes)
{
    nerve_array a;
    cr_assert_eq(nerve_idx_read(&a, NULL, fixture("idx/values_f32.idx"), NERVE_U8), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "not bytes"), "%s", nerve_error());
    cr_assert_null(a.data);
}

Test(idx_bytes, fashion_mnist_bytes_match_its_floats)
{
    nerve_array bytes, floats, labels;
    cr_assert_eq(nerve_fashion_mnist_read(&bytes, &labels, "test", NERVE_U8), 0, "%s", nerve_error());
    cr_assert_eq(nerve_fashion_mnist_load(&floats, NULL, "test"), 0, "%s", nerve_error());
    cr_assert_eq(bytes.dtype, NERVE_U8);
    cr_assert_eq(bytes.shape[0], 10000);
    cr_assert_eq(labels.shape[0], 10000);
    const uint8_t *b = bytes.data;
    const float *f = floats.data;
    int64_t differ = 0;
    for (int64_t i = 0; i < nerve_array_count(&bytes); i += 97)
        differ += (float)b[i] != f[i];
    cr_assert_eq(differ, 0);
    nerve_array_free(&bytes);
    nerve_array_free(&floats);
    nerve_array_free(&labels);
}
