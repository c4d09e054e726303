/*
 * test_featvis_cli.c — `nerve featvis`: the same PNGs at one and two
 * threads, the files it writes, and bad input refused with exit 2.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/support.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc(*len + 1);
    cr_assert_eq(fread(data, 1, *len, f), *len);
    fclose(f);
    return data;
}

static void render(const char *out, const char *threads)
{
    const char *out_text, *err;
    int status = run_nerve((const char *[]){ "featvis", "-t", threads, "-m", fixture("nn/small_cnn.onnx"), "--layer",
                                             "/relu2/Relu_output_0", "--channel", "0-2", "--steps", "6", "--batch", "2", "-o", out,
                                             NULL },
                           &out_text, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out_text, "channel_2.png  objective"), "%s", out_text);
}

Test(featvis_cli, same_pngs_at_one_and_two_threads, .timeout = 60)
{
    char one[4096], two[4096];
    snprintf(one, sizeof one, "%s", temp_path("one"));
    snprintf(two, sizeof two, "%s", temp_path("two"));
    render(one, "1");
    render(two, "2");
    for (int c = 0; c < 3; c++) {
        char a[4200], b[4200];
        size_t la, lb;
        snprintf(a, sizeof a, "%s/channel_%d.png", one, c);
        snprintf(b, sizeof b, "%s/channel_%d.png", two, c);
        char *da = slurp(a, &la), *db = slurp(b, &lb);
        cr_assert(la == lb && memcmp(da, db, la) == 0, "channel_%d.png differs between 1 and 2 threads", c);
        free(da);
        free(db);
        snprintf(a, sizeof a, "%s/channel_%d.npy", one, c);
        nerve_array x = { 0 };
        cr_assert_eq(nerve_npy_read(&x, NULL, a, NERVE_F32), 0, "%s", nerve_error());
        cr_assert(x.ndim == 3 && x.shape[0] == 1 && x.shape[1] == 28 && x.shape[2] == 28);
        nerve_array_free(&x);
    }
}

static void expect_refusal(const char **args, const char *needle)
{
    const char *out, *err;
    int status = run_nerve(args, &out, &err);
    cr_assert_eq(status, 2, "status %d for '%s': %s", status, needle, err);
    cr_assert(strstr(err, needle), "expected '%s' in: %s", needle, err);
}

Test(featvis_cli, refuses_bad_input_with_exit_2, .timeout = 60)
{
    const char *model = fixture("nn/small_cnn.onnx");
    char out[4096];
    snprintf(out, sizeof out, "%s", temp_path("bad"));
    expect_refusal((const char *[]){ "featvis", "-m", model, "--layer", "relu9", "--channel", "0", "-o", out, NULL },
                   "no layer 'relu9'");
    expect_refusal((const char *[]){ "featvis", "-m", model, "--layer", "/relu2/Relu_output_0", "--channel", "16",
                                     "--steps", "2", "-o", out, NULL },
                   "channels 0..15");
    const char *v = temp_path("v.npy");
    nerve_array d = { 0 };
    const int64_t shape[1] = { 15 };
    cr_assert_eq(nerve_array_alloc(&d, NERVE_F32, 1, shape), 0);
    cr_assert_eq(nerve_npy_write(v, &d), 0);
    nerve_array_free(&d);
    expect_refusal((const char *[]){ "featvis", "-m", model, "--layer", "/relu2/Relu_output_0", "--direction", v,
                                     "--steps", "2", "-o", out, NULL },
                   "16 channels, the direction 15 entries");
    expect_refusal((const char *[]){ "featvis", "-m", fixture("featvis/tiny_rounded.onnx"), "--class", "0",
                                     "--steps", "2", "-o", out, NULL },
                   "no gradient for Round");
    expect_refusal((const char *[]){ "featvis", "-m", model, "--channel", "0", "-o", out, NULL }, "need --layer");
    expect_refusal((const char *[]){ "featvis", "-m", model, "--class", "0", "--channel", "1", "-o", out, NULL },
                   "one of --channel");
    expect_refusal((const char *[]){ "featvis", "-m", model, "--class", "3-1", "-o", out, NULL }, "--class wants");
    FILE *f = fopen(out, "r");
    cr_assert_null(f, "a refused run left %s behind", out);
}

Test(featvis_cli, help_lists_the_options)
{
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "featvis", "--help", NULL }, &out, &err), 0);
    cr_assert(strstr(out, "--direction") && strstr(out, "--cossim-pow") && strstr(out, "--diversity"), "%s", out);
}
