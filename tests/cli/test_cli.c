/*
 * test_cli.c — the nerve binary as a user meets it: help, version, usage
 * errors, `nerve info` in text and JSON, and bad files (exit 2, a message
 * naming the file, nothing on stdout for them).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "nerve/core.h"
#include "../support/support.h"

Test(cli, help_and_version)
{
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "--help", NULL }, &out, &err), 0);
    cr_assert(strstr(out, "usage: nerve <command>") && strstr(out, "info"), "%s", out);
    cr_assert_eq(run_nerve((const char *[]){ "--version", NULL }, &out, &err), 0);
    cr_assert(strstr(out, "nerve " NERVE_VERSION_STRING), "%s", out);
    cr_assert_eq(run_nerve((const char *[]){ "help", "info", NULL }, &out, &err), 0);
    cr_assert(strstr(out, "usage: nerve info"), "%s", out);
    cr_assert_eq(run_nerve((const char *[]){ "info", "--help", NULL }, &out, &err), 0);
    cr_assert(strstr(out, "--json"), "%s", out);
    cr_assert_eq(run_nerve((const char *[]){ "info", "-h", NULL }, &out, &err), 0);
}

Test(cli, usage_errors_exit_2)
{
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ NULL }, &out, &err), 2);
    cr_assert_eq(run_nerve((const char *[]){ "frobnicate", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "unknown command 'frobnicate'"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "--frob", NULL }, &out, &err), 2);
    cr_assert_eq(run_nerve((const char *[]){ "help", "frobnicate", NULL }, &out, &err), 2);
    cr_assert_eq(run_nerve((const char *[]){ "info", "--frob", "x.npy", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "nerve: error: info: unknown option '--frob'"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "info", "-Z", NULL }, &out, &err), 2);
    cr_assert_eq(run_nerve((const char *[]){ "info", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "no FILE"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "info", "--threads", "zero", "a.npy", NULL }, &out, &err), 2);
    cr_assert_eq(run_nerve((const char *[]){ "info", "--threads", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "needs a value"), "%s", err);
}

Test(cli, info_text)
{
    const char *out, *err;
    int status = run_nerve((const char *[]){ "info", fixture("npy/fortran_f8_3d.npy"), NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "2 x 3 x 4") && strstr(out, "float64") && strstr(out, "Fortran"), "%s", out);
    status = run_nerve((const char *[]){ "info", fixture("npz/deflated.npz"), fixture("idx/labels_u8.idx.gz"),
                                         NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "deflated.npz:a.npy") && strstr(out, "deflated.npz:c.npy"), "%s", out);
    cr_assert(strstr(out, "IDX (gzip)") && strstr(out, "max      9"), "%s", out);
}

Test(cli, info_json_is_machine_readable)
{
    const char *out, *err;
    int status = run_nerve((const char *[]){ "info", "--json", fixture("npy/nonfinite.npy"), NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "\"shape\": [\n      7\n    ]"), "%s", out);
    cr_assert(strstr(out, "\"nan\": 1") && strstr(out, "\"inf\": 2"), "%s", out);
    cr_assert(strstr(out, "\"mean\": 0.625"), "%s", out);
    cr_assert(strstr(out, "\"descr\": \"<f4\""), "%s", out);
}

Test(cli, options_may_follow_the_files)
{
    const char *out, *err;
    int status = run_nerve((const char *[]){ "info", fixture("npy/vector.npy"), "--json", NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "\"shape\""), "%s", out);
    status = run_nerve((const char *[]){ "layers", fixture("nn/small_cnn.onnx"), "--input-shape", "3,1,28,28", NULL },
                       &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "3 x 10"), "%s", out);
}

Test(cli, info_empty_rows_is_valid)
{
    const char *out, *err;
    int status = run_nerve((const char *[]){ "info", "--json", fixture("npy/empty_rows.npy"), NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "\"count\": 0") && strstr(out, "\"min\": null"), "%s", out);
}

/* A bad file: exit 2, `nerve: error: <path>: ...<problem>` on stderr. */
static void expect_bad(const char *path, const char *problem)
{
    const char *out, *err;
    int status = run_nerve((const char *[]){ "info", path, NULL }, &out, &err);
    cr_assert_eq(status, 2, "%s: status %d, stderr %s", path, status, err);
    cr_assert(strstr(err, "nerve: error: ") && strstr(err, path), "does not name %s: %s", path, err);
    cr_assert(strstr(err, problem), "%s: lacks '%s': %s", path, problem, err);
}

Test(cli, bad_files_exit_2_and_name_the_problem)
{
    const char *p = temp_path("trunc.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 10);
    expect_bad(p, "truncated");
    p = temp_path("magic.bin");
    write_literal(p, "hello world");
    expect_bad(p, "not a .npy, .npz or IDX");
    p = temp_path("hlen.npy");
    write_literal(p, "\x93NUMPY\x01\x00\xff\x7f{'d");
    expect_bad(p, "runs past the end");
    p = temp_path("dict.npy");
    write_npy_raw(p, 1, "print('hi')\n", 0);
    expect_bad(p, "not a Python dict literal");
    p = temp_path("over.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 8), }\n", 0);
    expect_bad(p, "too large");
    p = temp_path("neg.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n", 0);
    expect_bad(p, "negative");
    const char *dtypes[] = { "<c8", "O", "<U5" };
    for (int i = 0; i < 3; i++) {
        char header[128];
        snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (1,), }\n", dtypes[i]);
        p = temp_path("dtype.npy");
        write_npy_raw(p, 1, header, 32);
        expect_bad(p, "not supported");
    }
    expect_bad(fixture("npz/not_npy_member.npz"), "not a .npy array");
    p = temp_path("dims.idx");
    write_literal(p, "\x00\x00\x08\x00");
    expect_bad(p, "dimensions");
    expect_bad("/nonexistent/file.npy", "cannot open");
}

Test(cli, good_files_still_reported_beside_a_bad_one)
{
    const char *out, *err;
    int status = run_nerve((const char *[]){ "info", fixture("npy/vector.npy"), "/nonexistent.npy",
                                             fixture("npy/scalar.npy"), NULL }, &out, &err);
    cr_assert_eq(status, 2);
    cr_assert(strstr(out, "vector.npy") && strstr(out, "scalar.npy"), "%s", out);
}

Test(cli, info_on_fashion_mnist)
{
    const char *out, *err;
    int status = run_nerve((const char *[]){ "info", "fashion-mnist:test", NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "10000 x 28 x 28") && strstr(out, "uint8"), "%s", out);
    status = run_nerve((const char *[]){ "info", "fashion-mnist:dev", NULL }, &out, &err);
    cr_assert_eq(status, 2);
    cr_assert(strstr(err, "unknown split"), "%s", err);
}
