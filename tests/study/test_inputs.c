/*
 * test_inputs.c — inputs as researchers have them (issue 17): image files
 * of every colour mode converted to the model's channels as PIL does,
 * folders of mixed sizes brought to one by preprocessing, .npy arrays with
 * labels and class names (checked), the preprocessing and the inputs'
 * place recorded in a manifest and read back from any working directory.
 * Fixtures: tests/fixtures/own/make_own.py.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nerve/study.h"
#include "../support/support.h"

/* ---- colour modes ------------------------------------------------------------ */

/* The folder modes/<mode>/image.png in class order l, la, p, rgb, rgba,
 * opened for a model of `channels`, equals PIL's convert() of each
 * (modes/<mode>.<rgb|l>.npy), pixel for pixel. */
static void assert_modes_as_pil(int channels)
{
    static const char *const modes[] = { "l", "la", "p", "rgb", "rgba" };
    nerve_preprocess pp = { .no_scale = 1 };
    nerve_inputs in;
    cr_assert_eq(nerve_inputs_open(&in, fixture("own/modes"), channels, &pp), 0, "%s", nerve_error());
    cr_assert_eq(in.count, 5);
    cr_assert_eq(in.shape[0], channels);
    nerve_array batch;
    cr_assert_eq(nerve_inputs_batch(&in, 0, 5, &batch), 0, "%s", nerve_error());
    int64_t per = in.shape[0] * in.shape[1] * in.shape[2];
    for (int m = 0; m < 5; m++) {
        char rel[64];
        snprintf(rel, sizeof rel, "own/modes/%s.%s.npy", modes[m], channels == 3 ? "rgb" : "l");
        nerve_array want;
        cr_assert_eq(nerve_npy_read(&want, NULL, fixture(rel), NERVE_F32), 0, "%s", nerve_error());
        cr_assert_eq(nerve_array_count(&want), per, "%s", rel);
        const float *got = (const float *)batch.data + m * per, *w = want.data;
        int64_t off = 0;
        for (int64_t i = 0; i < per; i++)
            off += got[i] != w[i];
        cr_expect_eq(off, 0, "%s: %lld of %lld values differ from PIL's", rel, (long long)off, (long long)per);
        nerve_array_free(&want);
    }
    nerve_array_free(&batch);
    nerve_inputs_free(&in);
}

Test(inputs, colour_modes_to_rgb_as_pil) { assert_modes_as_pil(3); }

/* stb's own RGB -> grey (77/150/29, truncated) is off by one on many pixels. */
Test(inputs, colour_modes_to_grey_as_pil) { assert_modes_as_pil(1); }

/* ---- image folders of mixed sizes --------------------------------------------- */

Test(inputs, mixed_sizes_and_modes_cropped_to_one)
{
    nerve_preprocess pp = { .resize = 36, .crop = 32 };
    nerve_inputs in;
    cr_assert_eq(nerve_inputs_open(&in, fixture("own/images"), 3, &pp), 0, "%s", nerve_error());
    cr_expect_eq(in.count, 8);
    cr_expect_eq(in.shape[1], 32);
    cr_expect_eq(in.shape[2], 32);
    cr_expect_eq(in.n_classes, 2);
    nerve_array batch;
    cr_assert_eq(nerve_inputs_batch(&in, 0, in.count, &batch), 0, "%s", nerve_error());
    nerve_array_free(&batch);
    nerve_inputs_free(&in);
}

/* Resized but not cropped, the images keep their own aspect: refused, with
 * the file and what to do. */
Test(inputs, mixed_sizes_without_crop_refused)
{
    nerve_preprocess pp = { .resize = 36 };
    nerve_inputs in;
    cr_assert_eq(nerve_inputs_open(&in, fixture("own/images"), 3, &pp), NERVE_EINPUT);
    cr_expect(strstr(nerve_error(), "b.jpg") && strstr(nerve_error(), "--center-crop"), "%s", nerve_error());
}

Test(inputs, folder_without_images_refused)
{
    const char *dir = temp_path("empty");
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/cats", dir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    cr_assert_eq(mkdir(sub, 0755), 0);
    nerve_inputs in;
    cr_assert_eq(nerve_inputs_open(&in, dir, 3, NULL), NERVE_EINPUT);
    cr_expect(strstr(nerve_error(), "no readable images"), "%s", nerve_error());
}

/* ---- arrays with labels and class names ----------------------------------------- */

static int open_labelled(nerve_inputs *in, const char *labels, const char *names)
{
    nerve_preprocess pp = { .labels = labels, .class_names = names };
    return nerve_inputs_open(in, fixture("own/arrays/x.npy"), 3, &pp);
}

Test(inputs, npy_with_labels_and_class_names)
{
    nerve_inputs in;
    cr_assert_eq(open_labelled(&in, fixture("own/arrays/y.npy"), fixture("own/arrays/classes.txt")), 0, "%s",
                 nerve_error());
    cr_expect_eq(in.count, 6);
    cr_assert(in.has_labels);
    const int64_t *y = in.labels.data;
    cr_expect(y[0] == 0 && y[1] == 1 && y[2] == 2 && y[5] == 2);
    cr_assert_eq(in.n_classes, 3);
    cr_expect_str_eq(in.class_names[0], "circle");
    cr_expect_str_eq(in.class_names[2], "triangle");
    nerve_inputs_free(&in);
}

/* The labels as written (int16 here: any integer type), names optional. */
Test(inputs, npy_labels_of_any_integer_type)
{
    const char *path = temp_path("y16.npy");
    write_npy_raw(path, 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (6,), }", 0);
    FILE *f = fopen(path, "ab");
    const int16_t y[6] = { 5, 4, 3, 2, 1, 0 };   /* little-endian hosts, as the header says */
    cr_assert(f && fwrite(y, sizeof y, 1, f) == 1 && fclose(f) == 0);
    nerve_inputs in;
    cr_assert_eq(open_labelled(&in, path, NULL), 0, "%s", nerve_error());
    cr_expect_eq(((const int64_t *)in.labels.data)[0], 5);
    cr_expect_eq(in.n_classes, 6);
    cr_expect_null(in.class_names);
    nerve_inputs_free(&in);
}

/* Bad labels name the file and the problem. */
static void assert_refused(const char *labels, const char *names, const char *says)
{
    nerve_inputs in;
    cr_assert_eq(open_labelled(&in, labels, names), NERVE_EINPUT, "accepted (%s)", says);
    cr_expect(strstr(nerve_error(), says), "%s", nerve_error());
}

static const char *labels_file(const char *name, nerve_dtype t, int64_t n, double value)
{
    const char *path = temp_path(name);
    double v[8] = { 0 };
    v[n - 1] = value;
    nerve_array y;
    cr_assert_eq(nerve_array_alloc(&y, t, 1, &n), 0);
    nerve_convert(y.data, t, v, NERVE_F64, 0, n);   /* to int64 or float32 */
    cr_assert_eq(nerve_npy_write(path, &y), 0);
    nerve_array_free(&y);
    return path;
}

Test(inputs, bad_labels_refused)
{
    assert_refused(labels_file("five.npy", NERVE_I64, 5, 1), NULL, "one row per input");
    assert_refused(labels_file("float.npy", NERVE_F32, 6, 1), NULL, "must be integers");
    assert_refused(labels_file("negative.npy", NERVE_I64, 6, -1), NULL, "negative.npy");
    assert_refused(labels_file("huge.npy", NERVE_I64, 6, 1e9), NULL, "huge.npy");
    assert_refused(temp_path("missing.npy"), NULL, "missing.npy");
}

Test(inputs, bad_class_names_refused)
{
    const char *y = fixture("own/arrays/y.npy");
    const char *two = temp_path("two.txt"), *gap = temp_path("gap.txt"), *bin = temp_path("bin.txt");
    write_literal(two, "a\nb\n");
    write_literal(gap, "a\n\nc\n");
    write_literal(bin, "a\nb\xff\xfe\nc\n");
    assert_refused(y, two, "2 class names, but the labels go up to 2");
    assert_refused(y, gap, "line 2 is empty");
    assert_refused(y, bin, "line 2 is not UTF-8");
    assert_refused(NULL, fixture("own/arrays/classes.txt"), "need labels");
}

Test(inputs, labels_for_a_folder_refused)
{
    nerve_preprocess pp = { .labels = fixture("own/arrays/y.npy") };
    nerve_inputs in;
    cr_assert_eq(nerve_inputs_open(&in, fixture("own/images"), 3, &pp), NERVE_EINPUT);
    cr_expect(strstr(nerve_error(), "sub-folders"), "%s", nerve_error());
}

/* ---- what the manifest records, read back ---------------------------------------- */

Test(inputs, preprocess_round_trip)
{
    nerve_preprocess pp = { .resize = 256, .crop = 224, .n_mean = 3, .mean = { 0.485f, 0.456f, 0.406f },
                            .n_std = 3, .std = { 0.229f, 0.224f, 0.225f }, .no_scale = 1 };
    json_t *m = json_pack("{s:{s:o}}", "inputs", "preprocess", nerve_preprocess_json(&pp));
    nerve_preprocess back;
    cr_assert_eq(nerve_preprocess_from_json(&back, m, "m.json"), 0, "%s", nerve_error());
    cr_expect_eq(back.resize, 256);
    cr_expect_eq(back.crop, 224);
    cr_expect_eq(back.no_scale, 1);
    cr_expect_eq(back.n_mean, 3);
    cr_expect_eq(back.n_std, 3);
    for (int i = 0; i < 3; i++)
        cr_expect(back.mean[i] == pp.mean[i] && back.std[i] == pp.std[i]);
    json_decref(m);
}

/* The bug of issue 17: the manifest's inputs.preprocess was ignored. */
Test(inputs, preprocess_read_from_inputs_not_the_top_level)
{
    json_t *m = json_loads("{\"preprocess\": {\"resize\": 9}, \"inputs\": {\"preprocess\": {\"resize\": 36, "
                           "\"center_crop\": 32}}}", 0, NULL);
    nerve_preprocess pp;
    cr_assert_eq(nerve_preprocess_from_json(&pp, m, "m.json"), 0);
    cr_expect_eq(pp.resize, 36);
    cr_expect_eq(pp.crop, 32);
    json_decref(m);
}

Test(inputs, preprocess_of_the_wrong_type_refused)
{
    static const char *const bad[][2] = {
        { "{\"inputs\": {\"preprocess\": {\"resize\": \"256\"}}}", "inputs.preprocess.resize" },
        { "{\"inputs\": {\"preprocess\": {\"center_crop\": -1}}}", "inputs.preprocess.center_crop" },
        { "{\"inputs\": {\"preprocess\": {\"mean\": [1, 2, 3, 4, 5]}}}", "inputs.preprocess.mean" },
        { "{\"inputs\": {\"preprocess\": {\"std\": [0.5, 0]}}}", "inputs.preprocess.std[1]" },
        { "{\"inputs\": {\"preprocess\": {\"scale_8bit\": 1}}}", "inputs.preprocess.scale_8bit" },
        { "{\"inputs\": {\"preprocess\": [1]}}", "inputs.preprocess" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *m = json_loads(bad[i][0], 0, NULL);
        nerve_preprocess pp;
        cr_expect_eq(nerve_preprocess_from_json(&pp, m, "m.json"), NERVE_EINPUT, "%s", bad[i][0]);
        cr_expect(strstr(nerve_error(), "m.json") && strstr(nerve_error(), bad[i][1]), "%s", nerve_error());
        json_decref(m);
    }
}

/* A study beside its data records "../data"; from another working
 * directory the inputs are still found, and a moved study finds them by
 * the absolute path. */
Test(inputs, located_from_another_working_directory)
{
    const char *root = temp_path("work");
    char study[4200], data[4200], elsewhere[4200], out[8400];
    snprintf(study, sizeof study, "%s/study", root);
    snprintf(data, sizeof data, "%s/data.npy", root);
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", root);
    cr_assert_eq(mkdir(root, 0755), 0);
    cr_assert_eq(mkdir(study, 0755), 0);
    cr_assert_eq(mkdir(elsewhere, 0755), 0);
    write_literal(data, "x");
    char cwd[PATH_MAX];
    cr_assert(getcwd(cwd, sizeof cwd));
    cr_assert_eq(chdir(root), 0);
    json_t *m = json_pack("{s:{s:s}}", "inputs", "spec", "data.npy");
    nerve_preprocess pp = { 0 };
    cr_assert_eq(nerve_study_inputs_record(json_object_get(m, "inputs"), "data.npy", &pp, "study"), 0, "%s",
                 nerve_error());
    json_t *where = json_object_get(json_object_get(m, "inputs"), "location");
    cr_expect_str_eq(json_string_value(json_object_get(where, "from_study")), "../data.npy");
    cr_assert_eq(chdir(elsewhere), 0);
    cr_assert_eq(nerve_study_inputs_locate(out, sizeof out, m, study, "manifest.json"), 0, "%s", nerve_error());
    struct stat a, b;
    cr_assert(stat(out, &a) == 0 && stat(data, &b) == 0 && a.st_ino == b.st_ino, "%s", out);
    /* The study moved away from its data: the absolute path still holds. */
    char moved[4300];
    snprintf(moved, sizeof moved, "%s/study", elsewhere);
    cr_assert_eq(rename(study, moved), 0);
    cr_assert_eq(nerve_study_inputs_locate(out, sizeof out, m, moved, "manifest.json"), 0, "%s", nerve_error());
    cr_expect_str_eq(out, json_string_value(json_object_get(where, "absolute")));
    /* Neither: the error names the manifest and the inputs. */
    cr_assert_eq(unlink(data), 0);
    cr_expect_eq(nerve_study_inputs_locate(out, sizeof out, m, moved, "manifest.json"), NERVE_EINPUT);
    cr_expect(strstr(nerve_error(), "manifest.json") && strstr(nerve_error(), "data.npy"), "%s", nerve_error());
    cr_assert_eq(chdir(cwd), 0);
    json_decref(m);
}
