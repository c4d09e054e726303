/*
 * test_extract.c — `nerve extract` end to end on the PyTorch fixtures:
 * vectors equal PyTorch's activations (through every mode's definition),
 * random positions are seeded and thread-count independent, and bad input
 * is refused with a clear message and nothing left behind.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nerve/study.h"
#include "../support/support.h"

static nerve_array read_f32(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    nerve_array a;
    cr_assert_eq(nerve_npy_read(&a, NULL, path, NERVE_F32), 0, "%s", nerve_error());
    return a;
}

static nerve_array torch_tap(const char *model, const char *tap)
{
    char rel[256];
    snprintf(rel, sizeof rel, "nn/%s.taps.npz", model);
    nerve_npz z;
    cr_assert_eq(nerve_npz_open(&z, fixture(rel)), 0);
    nerve_array a;
    cr_assert_eq(nerve_npz_read(&z, tap, NERVE_F32, &a, NULL), 0, "%s", nerve_error());
    nerve_npz_close(&z);
    return a;
}

static const char *extract_small_cnn(const char *name, nerve_vector_mode mode, uint64_t seed)
{
    nerve_extract_options o;
    nerve_extract_defaults(&o);
    char rel[64];
    snprintf(rel, sizeof rel, "%s", name);
    static char out[4][4096];
    static int slot;
    char *dir = out[slot++ % 4];
    snprintf(dir, 4096, "%s", temp_path(rel));
    char model[4096], data[4096];
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    snprintf(data, sizeof data, "%s", fixture("nn/small_cnn.input.npy"));
    o.model = model;
    o.data = data;
    o.out = dir;
    o.mode = mode;
    o.seed = seed;
    o.batch = 1;   /* batches of one: the batch size must not matter */
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    return dir;
}

Test(extract, vectors_match_pytorch_for_dense_layers_and_mean_mode)
{
    const char *dir = extract_small_cnn("mean", NERVE_MODE_MEAN, 0);
    nerve_array fc1 = read_f32(dir, "acts/fc1_Gemm_output_0.npy");
    nerve_array want = torch_tap("small_cnn", "/fc1/Gemm_output_0.npy");
    cr_assert_eq(fc1.shape[0], 2);
    cr_assert_eq(fc1.shape[1], 32);
    for (int i = 0; i < 64; i++)
        cr_assert(fabsf(((float *)fc1.data)[i] - ((float *)want.data)[i]) < 1e-4f);
    nerve_array_free(&fc1);
    nerve_array_free(&want);

    nerve_array relu = read_f32(dir, "acts/relu2_Relu_output_0.npy");
    nerve_array map = torch_tap("small_cnn", "/relu2/Relu_output_0.npy");   /* (2, 16, 14, 14) */
    cr_assert_eq(relu.shape[1], 16);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 16; c++) {
            double s = 0;
            for (int p = 0; p < 196; p++)
                s += ((float *)map.data)[(n * 16 + c) * 196 + p];
            cr_assert(fabs(((float *)relu.data)[n * 16 + c] - s / 196) < 1e-4, "n %d c %d", n, c);
        }
    nerve_array_free(&relu);
    nerve_array_free(&map);
}

Test(extract, random_positions_are_inner_recorded_and_seeded)
{
    const char *a = extract_small_cnn("seed3a", NERVE_MODE_RANDOM_POSITION, 3);
    nerve_array rows = read_f32(a, "acts/relu1_Relu_output_0.npy");
    nerve_array map = torch_tap("small_cnn", "/relu1/Relu_output_0.npy");   /* (2, 8, 28, 28) */
    char path[4096];
    snprintf(path, sizeof path, "%s/acts/relu1_Relu_output_0.positions.npy", a);
    nerve_array pos;
    cr_assert_eq(nerve_npy_read(&pos, NULL, path, NERVE_I64), 0);
    for (int r = 0; r < 2; r++) {
        int64_t *p = (int64_t *)pos.data + 3 * r;
        cr_assert_eq(p[0], r);
        cr_assert(p[1] >= 1 && p[1] <= 26 && p[2] >= 1 && p[2] <= 26, "edge position %lld,%lld", (long long)p[1], (long long)p[2]);
        for (int c = 0; c < 8; c++)
            cr_assert(fabsf(((float *)rows.data)[r * 8 + c] -
                            ((float *)map.data)[((r * 8 + c) * 28 + p[1]) * 28 + p[2]]) < 1e-4f);
    }
    /* The same seed gives the same files; another seed other positions. */
    nerve_threads_init(1);
    const char *b = extract_small_cnn("seed3b", NERVE_MODE_RANDOM_POSITION, 3);
    nerve_threads_init(2);
    const char *c = extract_small_cnn("seed4", NERVE_MODE_RANDOM_POSITION, 4);
    char pa[4096], pb[4096], pc[4096];
    snprintf(pa, sizeof pa, "cmp -s %s/acts/relu1_Relu_output_0.positions.npy %s/acts/relu1_Relu_output_0.positions.npy", a, b);
    cr_assert_eq(system(pa), 0, "same seed, different positions");
    snprintf(pb, sizeof pb, "cmp -s %s/acts/relu1_Relu_output_0.npy %s/acts/relu1_Relu_output_0.npy", a, b);
    cr_assert_eq(system(pb), 0, "same seed and inputs, different bytes at another thread count");
    snprintf(pc, sizeof pc, "cmp -s %s/acts/relu1_Relu_output_0.positions.npy %s/acts/relu1_Relu_output_0.positions.npy", a, c);
    cr_assert_neq(system(pc), 0, "another seed gave the same positions");
    nerve_array_free(&rows);
    nerve_array_free(&map);
    nerve_array_free(&pos);
}

/* Rows equal to another row of the same file: the background's vector
 * repeats wherever a random position falls on empty background. */
static int64_t repeated_rows(const nerve_array *rows)
{
    int64_t n = rows->shape[0], d = rows->shape[1], repeated = 0;
    const float *v = (const float *)rows->data;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            if (j != i && memcmp(v + i * d, v + j * d, (size_t)d * sizeof *v) == 0) {
                repeated++;
                break;
            }
    return repeated;
}

/* foreground-position draws among positions where the input differs
 * from a blank one: on Fashion-MNIST (objects on black) the background's
 * repeated vector that random positions keep drawing all but disappears. */
Test(extract, foreground_positions_leave_the_background_out, .timeout = 120)
{
    nerve_extract_options o = fixture_study_options(temp_path("random"), 300);
    o.layers = "/relu1/Relu_output_0";
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    nerve_array random = read_f32(o.out, "acts/relu1_Relu_output_0.npy");
    o.out = temp_path("foreground");
    o.mode = NERVE_MODE_FOREGROUND_POSITION;
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    nerve_array fore = read_f32(o.out, "acts/relu1_Relu_output_0.npy");
    int64_t r = repeated_rows(&random), f = repeated_rows(&fore);
    cr_expect_gt(r, 30, "random positions: %lld of 300 rows repeat another", (long long)r);
    cr_expect_lt(f * 10, r, "foreground positions: %lld repeat, random positions %lld", (long long)f, (long long)r);
    nerve_array_free(&random);
    nerve_array_free(&fore);
}

Test(extract, max_norm_all_and_flatten_modes)
{
    const char *dir = extract_small_cnn("maxnorm", NERVE_MODE_MAX_NORM, 0);
    nerve_array rows = read_f32(dir, "acts/pool2_AveragePool_output_0.npy");
    nerve_array map = torch_tap("small_cnn", "/pool2/AveragePool_output_0.npy");   /* (2, 16, 7, 7) */
    for (int n = 0; n < 2; n++) {
        double best = -1, got = 0;
        for (int p = 0; p < 49; p++) {
            double s = 0;
            for (int c = 0; c < 16; c++)
                s += pow(((float *)map.data)[(n * 16 + c) * 49 + p], 2);
            best = fmax(best, s);
        }
        for (int c = 0; c < 16; c++)
            got += pow(((float *)rows.data)[n * 16 + c], 2);
        cr_assert(fabs(got - best) < 1e-3 * best, "input %d: norm^2 %g, largest %g", n, got, best);
    }
    nerve_array_free(&rows);
    dir = extract_small_cnn("all", NERVE_MODE_ALL, 0);
    rows = read_f32(dir, "acts/pool2_AveragePool_output_0.npy");
    cr_assert_eq(rows.shape[0], 2 * 49);
    cr_assert(fabsf(((float *)rows.data)[49 * 16 + 5 * 16 + 3] - ((float *)map.data)[(16 + 3) * 49 + 5]) < 1e-4f);
    nerve_array_free(&rows);
    dir = extract_small_cnn("flatten", NERVE_MODE_FLATTEN, 0);
    rows = read_f32(dir, "acts/pool2_AveragePool_output_0.npy");
    cr_assert_eq(rows.shape[1], 16 * 49);
    for (int i = 0; i < 2 * 16 * 49; i++)
        cr_assert(fabsf(((float *)rows.data)[i] - ((float *)map.data)[i]) < 1e-4f);
    nerve_array_free(&rows);
    nerve_array_free(&map);
}

Test(extract, fashion_mnist_with_labels_predictions_and_manifest)
{
    nerve_extract_options o = fixture_study_options(temp_path("fmnist"), 300);
    o.layers = "/relu3/Relu_output_0,/fc2/Gemm_output_0";
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    nerve_array labels, pred, conf;
    char path[4096];
    snprintf(path, sizeof path, "%s/inputs/labels.npy", o.out);
    cr_assert_eq(nerve_npy_read(&labels, NULL, path, NERVE_I64), 0);
    snprintf(path, sizeof path, "%s/inputs/predictions.npy", o.out);
    cr_assert_eq(nerve_npy_read(&pred, NULL, path, NERVE_I64), 0);
    snprintf(path, sizeof path, "%s/inputs/confidence.npy", o.out);
    cr_assert_eq(nerve_npy_read(&conf, NULL, path, NERVE_F32), 0);
    cr_assert_eq(labels.shape[0], 300);
    cr_assert_eq(pred.shape[0], 300);
    cr_assert_eq(((int64_t *)labels.data)[0], 9, "the first Fashion-MNIST test image is an ankle boot");
    for (int i = 0; i < 300; i++)
        cr_assert(((float *)conf.data)[i] >= 0.1f && ((float *)conf.data)[i] <= 1.0f);
    snprintf(path, sizeof path, "%s/manifest.json", o.out);
    FILE *f = fopen(path, "r");
    char text[8192] = { 0 };
    cr_assert(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    cr_assert(strstr(text, "\"count\": 300") && strstr(text, "\"name\": \"/relu3/Relu_output_0\"") &&
              strstr(text, "\"mode\": \"random-position\""), "%s", text);
    snprintf(path, sizeof path, "%s/acts/relu1_Relu_output_0.npy", o.out);
    cr_assert_neq(access(path, F_OK), 0, "only the asked layers are written");
    nerve_image sprite;   /* 300 thumbnails of 28 px in 18 columns */
    snprintf(path, sizeof path, "%s/inputs/sprite.png", o.out);
    cr_assert_eq(nerve_image_read(&sprite, path, 0), 0, "%s", nerve_error());
    cr_assert_eq(sprite.width, 18 * 28);
    cr_assert_eq(sprite.height, 17 * 28);
    cr_assert_eq(sprite.channels, 1);
    nerve_image_free(&sprite);
    nerve_array_free(&labels);
    nerve_array_free(&pred);
    nerve_array_free(&conf);
}

Test(extract, no_sprite_leaves_the_thumbnails_out)
{
    char path[4096];
    nerve_extract_options o = fixture_study_options(temp_path("no-sprite"), 20);
    o.layers = "/fc2/Gemm_output_0";
    o.no_sprite = 1;
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    snprintf(path, sizeof path, "%s/inputs/sprite.png", o.out);
    cr_assert_neq(access(path, F_OK), 0, "no sprite.png");
    snprintf(path, sizeof path, "%s/manifest.json", o.out);
    json_t *manifest = json_load_file(path, 0, NULL);
    cr_assert(manifest);
    cr_assert_null(json_object_get(json_object_get(manifest, "inputs"), "sprite"), "the manifest names no sprite");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(manifest, "inputs"), "count")), 20);
    json_decref(manifest);
}

Test(extract, image_folder_in_the_imagefolder_layout)
{
    const char *root = temp_path("folder");
    char dir[4096], cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/cat %s/dog && cp %s %s/cat/a.png && cp %s %s/dog/b.png && "
             "cp %s %s/dog/c.jpg && echo junk > %s/dog/broken.png", root, root, fixture("image/rgb.png"), root,
             fixture("image/rgba.png"), root, fixture("image/rgb.jpg"), root, root);
    cr_assert_eq(system(cmd), 0);
    nerve_extract_options o;
    nerve_extract_defaults(&o);
    char model[4096];
    snprintf(model, sizeof model, "%s", fixture("nn/resnet_block.onnx"));
    snprintf(dir, sizeof dir, "%s", temp_path("folder-study"));
    o.model = model;
    o.data = root;
    o.out = dir;
    o.pp.resize = 16;
    o.pp.crop = 16;
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    nerve_array labels;
    snprintf(cmd, sizeof cmd, "%s/inputs/labels.npy", dir);
    cr_assert_eq(nerve_npy_read(&labels, NULL, cmd, NERVE_I64), 0);
    cr_assert_eq(labels.shape[0], 3, "the unreadable image is skipped");
    cr_assert_eq(((int64_t *)labels.data)[0], 0);
    cr_assert_eq(((int64_t *)labels.data)[2], 1);
    nerve_array_free(&labels);
    o.pp.strict = 1;
    cr_assert_eq(nerve_extract(&o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "broken.png"), "%s", nerve_error());
}

Test(extract, bad_input_is_refused_and_leaves_nothing)
{
    nerve_extract_options o;
    nerve_extract_defaults(&o);
    char model[4096];
    snprintf(model, sizeof model, "%s", fixture("nn/resnet_block.onnx"));
    o.model = model;
    o.data = "fashion-mnist:test";
    o.out = temp_path("bad");
    cr_assert_eq(nerve_extract(&o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "1 channels, the model takes 3"), "%s", nerve_error());
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    o.data = "fashion-mnist:test";
    o.layers = "/relu1/Relu_output_0,conv9";
    cr_assert_eq(nerve_extract(&o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "no layer 'conv9'") && strstr(nerve_error(), "/fc1/Gemm_output_0"),
              "%s", nerve_error());
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", o.out);
    cr_assert_neq(access(path, F_OK), 0);
}

Test(extract, cli)
{
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "extract", "--help", NULL }, &out, &err), 0);
    cr_assert(strstr(out, "--mode MODE"), "%s", out);
    cr_assert_eq(run_nerve((const char *[]){ "extract", "--data", "x.npy", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "--model and --data are required"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "extract", "-m", "a.onnx", "-d", "b", "--mode", "median", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "unknown --mode 'median'"), "%s", err);
    const char *dir = temp_path("cli-study");
    int status = run_nerve((const char *[]){ "extract", "-q", "-m", fixture("nn/small_cnn.onnx"), "-d",
                                             "fashion-mnist:test", "-n", "50", "-o", dir, NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    status = run_nerve((const char *[]){ "layers", fixture("nn/small_cnn.onnx"), NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "/fc1/Gemm_output_0") && strstr(out, "26794 parameters"), "%s", out);
}
