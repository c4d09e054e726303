/*
 * test_npy.c — .npy reading against files NumPy wrote (every dtype, byte
 * order, version and memory order), round trips, and the streaming writer.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "nerve/core.h"
#include "../support/support.h"

static void check_fixture(const char *name, nerve_dtype want)
{
    char rel[256], expect[256];
    snprintf(rel, sizeof rel, "npy/%s.npy", name);
    snprintf(expect, sizeof expect, "%s.expect.npy", fixture(rel));
    nerve_array a;
    int rc = nerve_npy_read(&a, NULL, fixture(rel), want);
    cr_assert_eq(rc, 0, "%s: %s", name, nerve_error());
    assert_same_as(&a, expect, 0);
    nerve_array_free(&a);
}

Test(npy, every_dtype_as_float32_or_int64)
{
    const char *floats[] = { "dtype_le_f4", "dtype_le_f8", "dtype_le_f2", "dtype_be_f4", "dtype_be_f8" };
    const char *ints[] = { "dtype_le_i4", "dtype_le_i8", "dtype_be_i4", "dtype_u1", "dtype_i1",
                           "dtype_b1", "dtype_le_i2", "dtype_le_u2", "dtype_le_u4" };
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++)
        check_fixture(floats[i], NERVE_F32);
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        check_fixture(ints[i], NERVE_I64);
}

Test(npy, integers_convert_to_float32_too)
{
    nerve_array a;
    cr_assert_eq(nerve_npy_read(&a, NULL, fixture("npy/dtype_le_i8.npy"), NERVE_F32), 0);
    nerve_array want;
    cr_assert_eq(nerve_npy_read(&want, NULL, fixture("npy/dtype_le_i8.npy.expect.npy"), NERVE_I64), 0);
    for (int64_t i = 0; i < nerve_array_count(&a); i++)
        cr_assert_eq(((float *)a.data)[i], (float)((int64_t *)want.data)[i]);
    nerve_array_free(&a);
    nerve_array_free(&want);
}

Test(npy, versions_1_2_3)
{
    check_fixture("version_1_0", NERVE_F32);
    check_fixture("version_2_0", NERVE_F32);
    check_fixture("version_3_0", NERVE_F32);
}

Test(npy, fortran_order_becomes_c_order)
{
    check_fixture("fortran_f4_2d", NERVE_F32);
    check_fixture("fortran_f8_3d", NERVE_F32);
    check_fixture("fortran_i8_4d", NERVE_I64);
}

Test(npy, shapes_scalar_vector_empty_and_five_d)
{
    check_fixture("scalar", NERVE_F32);
    check_fixture("vector", NERVE_F32);
    check_fixture("empty_rows", NERVE_F32);
    check_fixture("five_d", NERVE_F32);
    check_fixture("nonfinite", NERVE_F32);
}

Test(npy, float32_little_endian_c_order_is_mapped)
{
    nerve_array a;
    cr_assert_eq(nerve_npy_read(&a, NULL, fixture("npy/dtype_le_f4.npy"), NERVE_F32), 0);
    cr_assert_neq(a.storage.kind, 0);
    cr_assert_neq(a.data, a.storage.base, "data should point into the mapped file");
    cr_assert_eq((uintptr_t)a.data % 4, 0);
    nerve_array_free(&a);

    cr_assert_eq(nerve_npy_read(&a, NULL, fixture("npy/dtype_be_f4.npy"), NERVE_F32), 0);
    cr_assert_eq(a.data, a.storage.base, "a big-endian file must be converted, not mapped");
    nerve_array_free(&a);
}

Test(npy, header_fields)
{
    nerve_npy_header h;
    cr_assert_eq(nerve_npy_read_header(&h, fixture("npy/fortran_f8_3d.npy")), 0);
    cr_assert_eq(h.major, 1);
    cr_assert_str_eq(h.descr, "<f8");
    cr_assert_eq(h.dtype, NERVE_F64);
    cr_assert_eq(h.fortran_order, 1);
    cr_assert_eq(h.ndim, 3);
    cr_assert_eq(h.shape[2], 4);
    cr_assert_eq(nerve_npy_read_header(&h, fixture("npy/version_3_0.npy")), 0);
    cr_assert_eq(h.major, 3);
}

Test(npy, round_trip_float_and_int)
{
    int64_t shape[3] = { 4, 3, 2 };
    nerve_array a, b;
    cr_assert_eq(nerve_array_alloc(&a, NERVE_F32, 3, shape), 0);
    for (int i = 0; i < 24; i++)
        ((float *)a.data)[i] = (float)i * 0.5f - 3;
    const char *path = temp_path("round.npy");
    cr_assert_eq(nerve_npy_write(path, &a), 0, "%s", nerve_error());
    cr_assert_eq(nerve_npy_read(&b, NULL, path, NERVE_F32), 0, "%s", nerve_error());
    cr_assert_eq(b.ndim, 3);
    cr_assert_eq(memcmp(a.data, b.data, 24 * sizeof(float)), 0);
    nerve_array_free(&a);
    nerve_array_free(&b);

    int64_t n = 5;
    cr_assert_eq(nerve_array_alloc(&a, NERVE_I64, 1, &n), 0);
    ((int64_t *)a.data)[4] = INT64_MIN;
    cr_assert_eq(nerve_npy_write(path, &a), 0);
    cr_assert_eq(nerve_npy_read(&b, NULL, path, NERVE_I64), 0);
    cr_assert_eq(((int64_t *)b.data)[4], INT64_MIN);
    nerve_array_free(&a);
    nerve_array_free(&b);
}

Test(npy, written_header_is_64_byte_aligned_version_1)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_alloc(&m, 2, 3), 0);
    const char *path = temp_path("m.npy");
    cr_assert_eq(nerve_mat_write_npy(path, &m), 0);
    nerve_npy_header h;
    cr_assert_eq(nerve_npy_read_header(&h, path), 0);
    cr_assert_eq(h.major, 1);
    cr_assert_eq(h.data_offset % 64, 0);
    cr_assert_str_eq(h.descr, "<f4");
    nerve_mat_free(&m);
}

Test(npy, matrix_view_of_n_dimensional_array)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_read_npy(&m, fixture("npy/five_d.npy")), 0);
    cr_assert_eq(m.rows, 2);
    cr_assert_eq(m.cols, 6);
    nerve_mat_free(&m);
    cr_assert_eq(nerve_mat_read_npy(&m, fixture("npy/empty_rows.npy")), 0);
    cr_assert_eq(m.rows, 0);
    cr_assert_eq(m.cols, 5);
    nerve_mat_free(&m);
}

Test(npy_writer, appends_rows_and_fixes_header)
{
    const char *path = temp_path("stream.npy");
    int64_t row_shape[2] = { 2, 3 };
    nerve_npy_writer w;
    cr_assert_eq(nerve_npy_writer_open(&w, path, NERVE_F32, 2, row_shape), 0);
    float rows[4 * 6];
    for (int i = 0; i < 24; i++)
        rows[i] = (float)i;
    cr_assert_eq(nerve_npy_writer_append(&w, rows, 1), 0);
    cr_assert_eq(nerve_npy_writer_append(&w, rows + 6, 3), 0);
    cr_assert_eq(access(path, F_OK), -1, "nothing may appear under the final name before close");
    cr_assert_eq(nerve_npy_writer_close(&w), 0, "%s", nerve_error());
    nerve_array a;
    cr_assert_eq(nerve_npy_read(&a, NULL, path, NERVE_F32), 0, "%s", nerve_error());
    cr_assert_eq(a.ndim, 3);
    cr_assert_eq(a.shape[0], 4);
    cr_assert_eq(a.shape[1], 2);
    cr_assert_eq(a.shape[2], 3);
    cr_assert_eq(memcmp(a.data, rows, sizeof rows), 0);
    nerve_array_free(&a);
}

Test(npy_writer, zero_rows_and_abort)
{
    const char *path = temp_path("zero.npy");
    int64_t cols = 7;
    nerve_npy_writer w;
    cr_assert_eq(nerve_npy_writer_open(&w, path, NERVE_I64, 1, &cols), 0);
    cr_assert_eq(nerve_npy_writer_close(&w), 0);
    nerve_array a;
    cr_assert_eq(nerve_npy_read(&a, NULL, path, NERVE_I64), 0, "%s", nerve_error());
    cr_assert_eq(a.shape[0], 0);
    cr_assert_eq(a.shape[1], 7);
    nerve_array_free(&a);

    const char *gone = temp_path("aborted.npy");
    cr_assert_eq(nerve_npy_writer_open(&w, gone, NERVE_F32, 1, &cols), 0);
    nerve_npy_writer_abort(&w);
    cr_assert_eq(access(gone, F_OK), -1);
}
