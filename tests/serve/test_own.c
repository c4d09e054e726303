/*
 * test_own.c — a study of one's own model and images (issue 17): made with
 * resizing, cropping and normalisation over PNG and JPEG files of mixed
 * sizes and colour modes, served by nerve serve; the activation maps the
 * server computes (by running the model again) equal nerve extract's
 * values for the same input, the layers carry readable names, and the
 * study still opens from another working directory.
 * Fixtures: tests/fixtures/own/make_own.py.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/study.h"
#include "../support/support.h"

/* The server of the running test, stopped after it even when an assertion
 * ends it early (an orphaned server would hold the runner's output open). */
static pid_t server;

static void stop(void)
{
    if (server > 0)
        cr_expect_eq(stop_serving(server), 0, "nerve serve did not stop cleanly on SIGINT");
    server = 0;
}

TestSuite(own, .fini = stop);

/* A study of the fixture model over the fixture images, every position of
 * every map kept (--mode flatten: row i is input i's whole C x H x W map). */
static const char *make_study(void)
{
    static char study[4096];
    snprintf(study, sizeof study, "%s", temp_path("own-study"));
    const char *out, *err;
    int rc = run_nerve((const char *[]){ "extract", "-q", "-m", fixture("own/model.onnx"), "-d", fixture("own/images"),
                                         "--resize", "72", "--center-crop", "64", "--mean", "0.485,0.456,0.406",
                                         "--std", "0.229,0.224,0.225", "--mode", "flatten", "-o", study, NULL },
                       &out, &err);
    cr_assert_eq(rc, 0, "nerve extract: %s", err);
    return study;
}

static unsigned char *base64_decode(const char *s, size_t *n)
{
    size_t len = strlen(s);
    unsigned char *out = malloc(len / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    *n = 0;
    for (size_t i = 0; i < len && s[i] != '='; i++) {
        const char *at = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", s[i]);
        cr_assert(at, "not base64");
        acc = acc << 6 | (uint32_t)(at - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        if ((bits += 6) >= 8) {
            bits -= 8;
            out[(*n)++] = (unsigned char)(acc >> bits);
        }
    }
    return out;
}

static json_t *get_json(int port, const char *path, int want_status)
{
    http_reply r;
    cr_assert_eq(http_get(&r, port, path), 0);
    cr_assert_eq(r.status, want_status, "%s: %d %s", path, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    free(r.body);
    return j;
}

/* The server's 8-bit maps of one layer against the layer's row in acts/:
 * within the quantisation (half a step, plus float rounding). */
static void assert_maps_match(const char *study, json_t *layer, int64_t input)
{
    const char *name = json_string_value(json_object_get(layer, "name"));
    char stem[512], path[4700];
    nerve_layer_file_name(stem, sizeof stem, name);
    snprintf(path, sizeof path, "%s/acts/%s.npy", study, stem);
    nerve_array acts;
    cr_assert_eq(nerve_npy_read(&acts, NULL, path, NERVE_F32), 0, "%s", nerve_error());
    size_t n;
    unsigned char *px = base64_decode(json_string_value(json_object_get(layer, "maps")), &n);
    cr_assert_eq((int64_t)n, acts.shape[1], "%s: %zu pixels, %lld values", name, n, (long long)acts.shape[1]);
    const float *row = (const float *)acts.data + input * acts.shape[1];
    float top = 0, low = 0;
    for (size_t i = 0; i < n; i++) {
        top = fmaxf(top, fabsf(row[i]));
        low = fminf(low, row[i]);
    }
    double max_abs = json_number_value(json_object_get(layer, "max_abs"));
    cr_expect(fabs(max_abs - top) <= 1e-4 * (top + 1e-6), "%s: the server's largest magnitude %g, extract's %g", name,
              max_abs, (double)top);
    double offset = low < 0 ? 127.5 : 0, step = top > 0 ? top / (low < 0 ? 127.5 : 255.0) : 1;
    int64_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += fabs(offset + row[i] / step - px[i]) > 0.5 + 1e-3;
    cr_expect_eq(off, 0, "%s, input %lld: %lld of %zu pixels differ from extract's values", name, (long long)input,
                 (long long)off, n);
    free(px);
    nerve_array_free(&acts);
}

/* The bug of issue 17: the server ran the model without the study's
 * preprocessing ("the model expects (?, 3, 32, 32)"). */
Test(own, activation_maps_equal_extract, .timeout = 120)
{
    const char *study = make_study();
    int port;
    server = serve_study(study, &port);
    for (int64_t input = 0; input < 8; input += 3) {
        char q[64];
        snprintf(q, sizeof q, "/api/activations?input=%lld", (long long)input);
        json_t *maps = get_json(port, q, 200);
        cr_assert(maps);
        json_t *layers = json_object_get(maps, "layers");
        cr_expect_eq(json_array_size(layers), 6);
        for (size_t i = 0; i < json_array_size(layers); i++)
            assert_maps_match(study, json_array_get(layers, i), input);
        json_decref(maps);
    }
}

/* Layers read by their module path; the tap name kept beside it. */
Test(own, readable_layer_names, .timeout = 120)
{
    const char *study = make_study();
    int port;
    server = serve_study(study, &port);
    json_t *doc = get_json(port, "/api/study", 200);
    json_t *layers = json_object_get(json_object_get(doc, "manifest"), "layers");
    static const char *const want[][2] = {
        { "/relu/Relu_output_0", "relu" },
        { "/maxpool/MaxPool_output_0", "maxpool" },
        { "/layer1/layer1.0/relu/Relu_output_0", "layer1.0.relu" },
        { "/layer1/layer1.0/relu_1/Relu_output_0", "layer1.0.relu_1" },
        { "/avgpool/GlobalAveragePool_output_0", "avgpool" },
        { "logits", "logits" },
    };
    cr_assert_eq(json_array_size(layers), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *l = json_array_get(layers, i);
        cr_expect_str_eq(json_string_value(json_object_get(l, "name")), want[i][0]);
        cr_expect_str_eq(json_string_value(json_object_get(l, "display")), want[i][1]);
    }
    json_decref(doc);
    json_t *maps = get_json(port, "/api/activations?input=0", 200);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(maps, "layers"), 3), "display")),
                     "layer1.0.relu_1");
    json_decref(maps);
}

/* Made in one directory, served from another: thumbnails and activation
 * maps (which open the inputs again) still answer. */
Test(own, opens_from_another_working_directory, .timeout = 120)
{
    char bin[PATH_MAX], cwd[PATH_MAX];
    cr_assert(realpath(getenv("NERVE_BIN") ? getenv("NERVE_BIN") : "build/nerve", bin));
    setenv("NERVE_BIN", bin, 1);
    const char *study = make_study();
    char manifest[4200];
    snprintf(manifest, sizeof manifest, "%s/manifest.json", study);
    json_t *m = json_load_file(manifest, 0, NULL);
    int recorded = json_object_get(json_object_get(m, "inputs"), "location") != NULL;
    json_decref(m);
    if (!recorded)
        cr_skip_test("nerve extract does not record inputs.location yet (write_manifest must call "
                     "nerve_study_inputs_record)");
    cr_assert(getcwd(cwd, sizeof cwd));
    cr_assert_eq(chdir(temp_path("")), 0);
    int port;
    server = serve_study(study, &port);
    json_t *maps = get_json(port, "/api/activations?input=7", 200);
    cr_expect_eq(json_array_size(json_object_get(maps, "layers")), 6);
    json_decref(maps);
    http_reply r;
    cr_assert_eq(http_get(&r, port, "/study/inputs/sprite.png"), 0);
    cr_expect_eq(r.status, 200);
    free(r.body);
    cr_assert_eq(chdir(cwd), 0);
}

/* The whole study through nerve run from a study file (issue 17's
 * acceptance): preprocessing, mode and each stage's parameters from the
 * file, every stage's output written, the settings recorded so that the
 * study's own manifest reruns it (every stage up to date), one changed
 * parameter reruns its stage only, and the server's maps equal the
 * extracted values. */
static const char *stage_line(const char *out)
{
    const char *line = strstr(out, "stages:");
    cr_assert(line, "no stages line in: %s", out);
    return line;
}

Test(own, run_from_a_study_file, .timeout = 300)
{
    const char *dir = temp_path("own-run");
    char file[4200], study[4200], text[8192], model[PATH_MAX], images[PATH_MAX];
    /* paths in a study file are read from its folder: these are absolute */
    cr_assert(realpath(fixture("own/model.onnx"), model) && realpath(fixture("own/images"), images));
    snprintf(study, sizeof study, "%s/studies/own", dir);   /* a parent that does not exist yet */
    snprintf(file, sizeof file, "%s/own.json", temp_path(""));
    snprintf(text, sizeof text,
             "{ \"model\": \"%s\", \"data\": \"%s\", \"out\": \"%s\",\n"
             "  \"preprocess\": { \"resize\": 72, \"center_crop\": 64, \"mean\": [0.485, 0.456, 0.406],\n"
             "                  \"std\": [0.229, 0.224, 0.225] },\n"
             "  \"extract\": { \"layers\": \"all\", \"mode\": \"flatten\" },\n"
             "  \"mapper\": { \"intervals\": 3, \"overlap\": 0.3, \"min_samples\": 2 },\n"
             "  \"ph\": { \"points\": 8 },\n"
             "  \"embed\": { \"perplexity\": 2, \"iterations\": 300 },\n"
             "  \"sim\": { \"metrics\": [\"cka\", \"svcca\"] },\n"
             "  \"stages\": [\"extract\", \"mean\", \"mapper\", \"ph\", \"embed\", \"sim\", \"findings\"] }\n",
             model, images, study);
    write_bytes(file, text, strlen(text));
    const char *out, *err;
    int rc = run_nerve((const char *[]){ "run", "-q", "--config", file, NULL }, &out, &err);
    cr_assert_eq(rc, 0, "nerve run: %s", err);
    static const char *const outputs[] = { "manifest.json", "mean/manifest.json", "mapper/index.json", "ph/index.json",
                                           "embed/index.tsne.json", "sim/index.json", "sim/cka.npy",
                                           "findings/findings.json" };
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", study, outputs[i]);
        cr_expect_eq(access(path, R_OK), 0, "%s is missing", path);
    }
    char manifest[4300];
    snprintf(manifest, sizeof manifest, "%s/manifest.json", study);
    json_t *m = json_load_file(manifest, 0, NULL);
    json_t *settings = json_object_get(json_object_get(m, "run"), "settings");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(settings, "mapper"), "intervals")), 3);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(settings, "extract"), "mode")), "flatten");
    json_decref(m);

    /* the study's own manifest as the study file: nothing to do */
    rc = run_nerve((const char *[]){ "run", "-q", "--config", manifest, NULL }, &out, &err);
    cr_assert_eq(rc, 0, "nerve run --config manifest.json: %s", err);
    const char *line = stage_line(out);
    cr_expect(!strstr(line, " s,") && !strstr(line, " s\n"), "a stage reran: %s", line);

    /* one Mapper parameter: only the mapper stage reruns */
    rc = run_nerve((const char *[]){ "run", "-q", "--config", manifest, "--intervals", "4", NULL }, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    line = stage_line(out);
    cr_expect(strstr(line, "mapper ") && !strstr(line, "mapper (up to date)"), "%s", line);
    cr_expect(strstr(line, "extract (up to date)") && strstr(line, "ph (up to date)") &&
              strstr(line, "embed (up to date)") && strstr(line, "sim (up to date)"), "%s", line);

    int port;
    server = serve_study(study, &port);
    /* the position-averaged matrices, named from the study's root */
    json_t *doc = get_json(port, "/api/study", 200);
    const char *cka = json_string_value(json_object_get(json_object_get(json_object_get(doc, "mean_sim"), "matrices"),
                                                        "cka"));
    cr_expect(cka && strcmp(cka, "mean/sim/cka.npy") == 0, "mean_sim's cka: %s", cka ? cka : "(none)");
    json_decref(doc);
    http_reply r;
    cr_assert_eq(http_get(&r, port, "/study/mean/sim/cka.npy"), 0);
    cr_expect_eq(r.status, 200);
    free(r.body);
    for (int64_t input = 0; input < 8; input += 7) {
        char q[64];
        snprintf(q, sizeof q, "/api/activations?input=%lld", (long long)input);
        json_t *maps = get_json(port, q, 200);
        json_t *layers = json_object_get(maps, "layers");
        cr_expect_eq(json_array_size(layers), 6);
        for (size_t i = 0; i < json_array_size(layers); i++)
            assert_maps_match(study, json_array_get(layers, i), input);
        json_decref(maps);
    }
}

Test(own, bad_study_settings_exit_2)
{
    const char *file = temp_path("bad.json"), *out, *err;
    write_literal(file, "{ \"mapper\": { \"intervals\": true } }");
    cr_expect_eq(run_nerve((const char *[]){ "run", "--config", file, NULL }, &out, &err), 2);
    cr_expect(strstr(err, file) && strstr(err, "mapper.intervals"), "%s", err);
    cr_expect_eq(run_nerve((const char *[]){ "run", "--preset", "imagenet-21k", "-o", temp_path("p"), NULL }, &out,
                           &err), 2);
    cr_expect(strstr(err, "unknown preset"), "%s", err);
    cr_expect_eq(run_nerve((const char *[]){ "run", "-m", fixture("own/model.onnx"), "-d", fixture("own/images"),
                                             "--resize", "72", "--center-crop", "64", "--mean", "0.5,0.5", "-o",
                                             temp_path("m"), NULL }, &out, &err), 2);
    cr_expect(strstr(err, "2 values for 3 channels"), "%s", err);
    const char *empty = temp_path("empty-folder/none");
    cr_assert_eq(nerve_dir_create(empty), 0);
    cr_expect_eq(run_nerve((const char *[]){ "run", "-m", fixture("own/model.onnx"), "-d", temp_path("empty-folder"),
                                             "-o", temp_path("e"), NULL }, &out, &err), 2);
    cr_expect(strstr(err, "empty-folder"), "%s", err);
}

/* The model was exported by torch.onnx.export (make_torch_model.py): nerve
 * runs it to PyTorch's logits, within 1e-4 of their largest magnitude. */
Test(own, the_pytorch_export_gives_pytorchs_logits, .timeout = 60)
{
    const char *study = temp_path("own-logits"), *out, *err;
    int rc = run_nerve((const char *[]){ "extract", "-q", "-m", fixture("own/model.onnx"), "-d",
                                         fixture("own/model.input.npy"), "-l", "logits", "-o", study, NULL },
                       &out, &err);
    cr_assert_eq(rc, 0, "nerve extract: %s", err);
    char path[4200];
    snprintf(path, sizeof path, "%s/acts/logits.npy", study);
    nerve_array got, want;
    cr_assert_eq(nerve_npy_read(&got, NULL, path, NERVE_F32), 0, "%s", nerve_error());
    cr_assert_eq(nerve_npy_read(&want, NULL, fixture("own/model.expected.npy"), NERVE_F32), 0, "%s", nerve_error());
    cr_assert_eq(nerve_array_count(&got), nerve_array_count(&want));
    const float *g = got.data, *w = want.data;
    float top = 0, err_max = 0;
    for (int64_t i = 0; i < nerve_array_count(&want); i++) {
        top = fmaxf(top, fabsf(w[i]));
        err_max = fmaxf(err_max, fabsf(g[i] - w[i]));
    }
    cr_expect_leq(err_max, 1e-4f * top, "largest difference %g, largest logit %g", (double)err_max, (double)top);
    nerve_array_free(&got);
    nerve_array_free(&want);
}
