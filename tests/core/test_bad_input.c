/*
 * test_bad_input.c — malformed files: each gives NERVE_EINPUT and a message
 * that names the file and the problem, and leaves nothing allocated.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "nerve/core.h"
#include "../support/support.h"

#define GOOD_HEADER "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n"

static void expect_npy_error(const char *path, const char *problem)
{
    nerve_array a;
    int rc = nerve_npy_read(&a, NULL, path, NERVE_F32);
    cr_assert_eq(rc, NERVE_EINPUT, "%s: rc %d (%s)", path, rc, nerve_error());
    cr_assert(strstr(nerve_error(), path) != NULL, "message does not name the file: %s", nerve_error());
    cr_assert(strstr(nerve_error(), problem) != NULL, "message lacks '%s': %s", problem, nerve_error());
    cr_assert_eq(a.data, NULL);
}

Test(bad_npy, truncated_data)
{
    const char *path = temp_path("short.npy");
    write_npy_raw(path, 1, GOOD_HEADER, 2 * 3 * 4 - 1);
    expect_npy_error(path, "truncated");
}

Test(bad_npy, truncated_inside_magic)
{
    const char *path = temp_path("tiny.npy");
    write_literal(path, "\x93NUM");
    expect_npy_error(path, "truncated");
}

Test(bad_npy, wrong_magic)
{
    const char *path = temp_path("magic.npy");
    write_literal(path, "\x93NUMPZ\x01\x00\x10\x00{}              ");
    expect_npy_error(path, "magic");
}

Test(bad_npy, unsupported_version)
{
    const char *path = temp_path("v9.npy");
    write_npy_raw(path, 9, GOOD_HEADER, 24);
    expect_npy_error(path, "version 9.0");
}

Test(bad_npy, header_length_past_end)
{
    const char *path = temp_path("hlen.npy");
    unsigned char buf[40] = "\x93NUMPY\x01\x00\xff\x7f{'descr': '<f4'";
    write_bytes(path, buf, sizeof buf);
    expect_npy_error(path, "runs past the end");
}

Test(bad_npy, header_not_a_dict)
{
    const char *headers[] = {
        "[1, 2, 3]\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': __import__('os')}\n",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} trailing\n",
        "{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3)}\n",
        "{'descr': '<f4', 'shape': (2, 3)}\n",
    };
    const char *problems[] = { "dict", "unknown key", "True or False", "dict", "dict", "dict",
                               "lacks 'fortran_order'" };
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        const char *path = temp_path("dict.npy");
        write_npy_raw(path, 1, headers[i], 24);
        expect_npy_error(path, problems[i]);
    }
}

Test(bad_npy, shape_product_overflows)
{
    const char *path = temp_path("overflow.npy");
    write_npy_raw(path, 1, "{'descr': '<f4', 'fortran_order': False, "
                  "'shape': (4294967296, 4294967296, 4), }\n", 16);
    expect_npy_error(path, "too large");
    write_npy_raw(path, 1, "{'descr': '<f4', 'fortran_order': False, "
                  "'shape': (99999999999999999999, 1), }\n", 16);
    expect_npy_error(path, "64 bits");
}

Test(bad_npy, shape_exceeds_file_size)
{
    const char *path = temp_path("big.npy");
    write_npy_raw(path, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000, 1000), }\n", 64);
    expect_npy_error(path, "needs 8000000 bytes");
}

Test(bad_npy, negative_dimension)
{
    const char *path = temp_path("neg.npy");
    write_npy_raw(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }\n", 24);
    expect_npy_error(path, "negative");
}

Test(bad_npy, unsupported_dtypes)
{
    const char *descrs[] = { "<c8", "O", "<U5", "|S3", "<M8[ns]", "<f3" };
    const char *words[] = { "complex", "objects", "unicode", "byte strings", "dates", "'<f3'" };
    for (size_t i = 0; i < sizeof descrs / sizeof *descrs; i++) {
        char header[256];
        snprintf(header, sizeof header,
                 "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }\n", descrs[i]);
        const char *path = temp_path("dtype.npy");
        write_npy_raw(path, 1, header, 64);
        expect_npy_error(path, words[i]);
    }
    const char *path = temp_path("structured.npy");
    write_npy_raw(path, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", 8);
    expect_npy_error(path, "structured");
}

Test(bad_npy, missing_file)
{
    expect_npy_error("/nonexistent/nerve/x.npy", "cannot open");
}

Test(bad_npz, member_that_is_not_npy)
{
    nerve_npz z;
    const char *path = fixture("npz/not_npy_member.npz");
    cr_assert_eq(nerve_npz_open(&z, path), 0, "%s", nerve_error());
    nerve_array a;
    cr_assert_eq(nerve_npz_read(&z, "readme.txt", NERVE_F32, &a, NULL), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "readme.txt") && strstr(nerve_error(), "not a .npy"),
              "%s", nerve_error());
    cr_assert_eq(nerve_npz_read(&z, "a", NERVE_F32, &a, NULL), 0, "%s", nerve_error());
    nerve_array_free(&a);
    cr_assert_eq(nerve_npz_read(&z, "nope", NERVE_F32, &a, NULL), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "no such member"), "%s", nerve_error());
    nerve_npz_close(&z);
}

Test(bad_npz, not_a_zip_and_truncated_zip)
{
    nerve_npz z;
    const char *path = temp_path("junk.npz");
    write_literal(path, "PK\x03\x04 this is not really a zip file");
    cr_assert_eq(nerve_npz_open(&z, path), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), path), "%s", nerve_error());

    FILE *f = fopen(fixture("npz/deflated.npz"), "rb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_bytes(path, buf, n / 2);
    cr_assert_eq(nerve_npz_open(&z, path), NERVE_EINPUT);
}

Test(bad_idx, wrong_dimension_count)
{
    const char *path = temp_path("zero_dims.idx");
    write_literal(path, "\x00\x00\x08\x00");
    nerve_array a;
    cr_assert_eq(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), path) && strstr(nerve_error(), "dimensions"), "%s", nerve_error());
}

Test(bad_idx, wrong_magic_truncated_and_short)
{
    nerve_array a;
    const char *path = temp_path("bad.idx");
    write_literal(path, "\x01\x02\x08\x01\x00\x00\x00\x02xx");
    cr_assert_eq(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "magic"), "%s", nerve_error());
    write_literal(path, "\x00\x00\x08\x01\x00\x00\x00\x09xx");
    cr_assert_eq(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "truncated"), "%s", nerve_error());
    write_literal(path, "\x00\x00\x08\x03\x00\x00");
    cr_assert_eq(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "truncated"), "%s", nerve_error());
}

Test(bad_idx, truncated_gzip)
{
    FILE *f = fopen(fixture("idx/images_u8.idx.gz"), "rb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *path = temp_path("cut.idx.gz");
    write_bytes(path, buf, n - 12);
    nerve_array a;
    cr_assert_eq(nerve_idx_read(&a, NULL, path, NERVE_F32), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), path), "%s", nerve_error());
}

Test(bad_image, not_an_image)
{
    const char *path = temp_path("fake.png");
    write_literal(path, "\x89PNG\r\n\x1a\n garbage");
    nerve_image img;
    cr_assert_eq(nerve_image_read(&img, path, 0), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), path), "%s", nerve_error());
    cr_assert_eq(img.pixels, NULL);
}

/* Missing folders of an output are made (-o a/b/c.npy); a folder that
 * cannot be made, a file standing in its way, is bad input and leaves
 * nothing. */
Test(bad_output, missing_directory_is_made_or_bad_input_and_leaves_nothing)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_alloc(&m, 1, 1), 0);
    char made[4200], blocked[4200];
    snprintf(made, sizeof made, "%s/new/folders/out.npy", temp_path("outputs"));
    cr_assert_eq(nerve_mat_write_npy(made, &m), 0, "%s", nerve_error());
    cr_assert_eq(access(made, R_OK), 0);
    const char *file = temp_path("a-file");
    write_literal(file, "x");
    snprintf(blocked, sizeof blocked, "%s/sub/out.npy", file);
    cr_assert_eq(nerve_mat_write_npy(blocked, &m), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), file) && strstr(nerve_error(), "is a file"), "%s", nerve_error());
    cr_assert_neq(access(blocked, F_OK), 0);
    nerve_mat_free(&m);
}
