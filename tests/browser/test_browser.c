/*
 * test_browser.c — the viewer in a real browser: a reduced study made by
 * `nerve run`, served by `nerve serve` or written by `nerve report` and
 * opened from disk, driven by viewer.mjs (Debian's chromium through
 * playwright-core, installed by scripts/run-tests.sh). Screenshots of every
 * view go to build/test-artifacts/browser/ and .../report/.
 */
#define _XOPEN_SOURCE 700   /* nftw */
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nerve/core.h"
#include "../support/support.h"

/* A reduced study of the fixture model (600 inputs, one checkpoint) with
 * only the stages the embedding at scale reads. */
static void make_light_study(char *study, size_t cap, const char *name)
{
    char model[4096], config[4096];
    snprintf(study, cap, "%s", temp_path(name));
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    snprintf(config, sizeof config, "%s", temp_path("light.json"));
    write_literal(config, "{\"stages\": [\"extract\", \"mapper\", \"embed\"]}");
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "run", "-q", "--config", config, "-m", model, "--checkpoint", model, "-n",
                                             "600", "-o", study, NULL },
                           &out, &err),
                 0, "%s", err);
}

/* A reduced study of the fixture model (600 inputs, one checkpoint). */
static void make_study(char *study, size_t cap, const char *name)
{
    char model[4096], config[4096];
    snprintf(study, cap, "%s", temp_path(name));
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    /* Feature visualisation of the first layer's nodes, which the viewer
     * shows first, in few steps. */
    snprintf(config, sizeof config, "%s", temp_path("featvis.json"));
    write_literal(config, "{\"featvis\": {\"layers\": \"/relu1/Relu_output_0\", \"steps\": 8, \"channels\": 4}}");
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "run", "-q", "--config", config, "-m", model, "--checkpoint", model, "-n",
                                             "600", "-o", study, NULL },
                           &out, &err),
                 0, "%s", err);
    char index[4200];
    snprintf(index, sizeof index, "%s/featvis/index.json", study);
    json_t *fv = json_load_file(index, 0, NULL);
    cr_assert(json_array_size(json_object_get(json_object_get(json_object_get(fv, "layers"), "relu1_Relu_output_0"),
                                              "nodes")) > 0, "no node images in %s", index);
    json_decref(fv);
    /* a second embedding method: the viewer offers a switch (PCA: a second), in 3-D to turn */
    cr_assert_eq(run_nerve((const char *[]){ "embed", "-q", "--method", "pca", "-k", "3", "--study", study, NULL }, &out,
                           &err),
                 0, "%s", err);
}

/* ---- hostile names (row 9 of issue 15) ------------------------------------------ */

/* Names that run script wherever the viewer builds HTML from strings, as
 * JSON string bodies: the class names and a layer's new name. */
static const char *const hostile_classes[] = { "<img src=x onerror=alert(1)>",
                                               "<\\/script><script>alert(2)<\\/script>",
                                               "\\\"><svg onload=alert(3)>" };
static const char hostile_layer[] = "\\\"><svg onload=alert(3)>";
static const char renamed_layer[] = "\"/fc2/Gemm_output_0\"";

/* Every JSON file of the study with the layer's name replaced (the name is
 * the key of its graph, diagram and matrices in the indexes alike). */
static int rename_layer(const char *path, const struct stat *st, int kind, struct FTW *ftw)
{
    (void)st, (void)ftw;
    size_t n = strlen(path);
    if (kind != FTW_F || n < 5 || strcmp(path + n - 5, ".json") != 0)
        return 0;
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    static char text[1 << 24], out[(1 << 24) + 4096];
    size_t len = fread(text, 1, sizeof text - 1, f), k = 0;
    fclose(f);
    text[len] = 0;
    for (const char *at = text; *at;) {
        const char *hit = strstr(at, renamed_layer);
        size_t run = hit ? (size_t)(hit - at) : strlen(at);
        memcpy(out + k, at, run);
        k += run;
        at += run;
        if (hit) {
            k += (size_t)sprintf(out + k, "\"%s\"", hostile_layer);
            at += strlen(renamed_layer);
        }
    }
    write_bytes(path, out, k);
    return 0;
}

static void make_hostile(const char *study)
{
    char manifest[4200], classes[512] = "";
    snprintf(manifest, sizeof manifest, "%s/manifest.json", study);
    for (size_t i = 0; i < sizeof hostile_classes / sizeof *hostile_classes; i++)
        snprintf(classes + strlen(classes), sizeof classes - strlen(classes), "\"%s\", ", hostile_classes[i]);
    FILE *f = fopen(manifest, "rb");
    static char text[1 << 20], out[(1 << 20) + 1024];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = 0;
    /* The first three Fashion-MNIST classes become the hostile names. */
    const char *at = strstr(text, "\"T-shirt/top\"");
    const char *after = at ? strstr(at, "\"Dress\"") : NULL;
    cr_assert(at && after, "the study has no Fashion-MNIST classes");
    int k = snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, classes, after);
    write_bytes(manifest, out, (size_t)k);
    cr_assert_eq(nftw(study, rename_layer, 16, FTW_PHYS), 0);
}

/* Runs tests/browser/<script> on url; its exit status, with what it printed in report. */
static int browse_with(const char *script, const char *url, const char *artifacts, char *report, size_t cap)
{
    const char *modules = getenv("NERVE_NODE_MODULES") ? getenv("NERVE_NODE_MODULES") : "build/browser/node_modules";
    char command[8192];
    nerve_dir_create("build/test-artifacts");
    nerve_dir_create(artifacts);
    snprintf(command, sizeof command, "NERVE_HOSTILE=%d NERVE_NODE_MODULES=%s node tests/browser/%s '%s' %s 2>&1",
             strstr(artifacts, "hostile") != NULL, modules, script, url, artifacts);
    FILE *p = popen(command, "r");
    cr_assert(p, "cannot run node");
    size_t n = fread(report, 1, cap - 1, p);
    report[n] = 0;
    int status = pclose(p);
    cr_log_info("%s", report);
    return status;
}

static int browse(const char *url, const char *artifacts, char *report, size_t cap)
{
    return browse_with("viewer.mjs", url, artifacts, report, cap);
}

Test(browser, every_view_renders_and_views_are_linked, .timeout = 600, .disabled = SANITIZED_BUILD)
{
    char study[4096], url[256], report[16384];
    make_study(study, sizeof study, "browsed");
    int port;
    pid_t server = serve_study(study, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    int status = browse(url, "build/test-artifacts/browser", report, sizeof report);
    int stopped = stop_serving(server);
    cr_assert_eq(status, 0, "the browser checks failed:\n%s", report);
    cr_assert(strstr(report, "ok no console errors"), "%s", report);
    cr_assert_eq(stopped, 0);
}

Test(browser, the_report_opens_from_disk_with_every_view, .timeout = 600, .disabled = SANITIZED_BUILD)
{
    char study[4096], html[4096], url[4200], report[16384];
    make_study(study, sizeof study, "reported");
    snprintf(html, sizeof html, "%s", temp_path("report.html"));
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "report", "-q", "-o", html, study, NULL }, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "wrote"), "%s", out);
    snprintf(url, sizeof url, "file://%s", html);
    int status = browse(url, "build/test-artifacts/report", report, sizeof report);
    cr_assert_eq(status, 0, "the report's checks failed:\n%s", report);
    cr_assert(strstr(report, "ok no console errors"), "%s", report);
}

Test(browser, hostile_names_are_text_served_and_in_the_report, .timeout = 900)
{
    char study[4096], url[4300], html[4096], report[16384];
    make_study(study, sizeof study, "hostile");
    make_hostile(study);
    int port;
    pid_t server = serve_study(study, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    int status = browse(url, "build/test-artifacts/browser-hostile", report, sizeof report);
    int stopped = stop_serving(server);
    cr_assert_eq(status, 0, "the served viewer ran or built a name:\n%s", report);
    cr_assert_eq(stopped, 0);
    snprintf(html, sizeof html, "%s", temp_path("hostile.html"));
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "report", "-q", "--activations", "2", "-o", html, study, NULL }, &out,
                           &err),
                 0, "%s", err);
    snprintf(url, sizeof url, "file://%s", html);
    status = browse(url, "build/test-artifacts/report-hostile", report, sizeof report);
    cr_assert_eq(status, 0, "the report ran or built a name:\n%s", report);
}

/* A study of one's own model and photos (issue 17): an ImageNet-style
 * preprocessing, PNG and JPEG files of mixed sizes and colour modes, the
 * stages' parameters from the command line; every view renders without an
 * error. */
Test(browser, an_own_model_study_renders_in_every_view, .timeout = 600, .disabled = SANITIZED_BUILD)
{
    char study[4096], url[256], report[16384];
    snprintf(study, sizeof study, "%s", temp_path("own-browsed"));
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "run", "-q", "-m", fixture("own/model.onnx"), "--checkpoint",
                                             fixture("own/model.onnx"), "-d", fixture("own/images"), "--resize", "72",
                                             "--center-crop", "64", "--mean", "0.485,0.456,0.406", "--std",
                                             "0.229,0.224,0.225", "--per-input", "4", "--intervals", "4",
                                             "--min-samples", "2", "--perplexity", "5", "-o", study, NULL },
                           &out, &err),
                 0, "%s", err);
    /* the study beside itself, as nerve compare --studies stacks a model's seeds */
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-q", "--studies", study, "--studies", study, NULL }, &out,
                           &err), 0, "%s", err);
    int port;
    pid_t server = serve_study(study, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    int status = browse(url, "build/test-artifacts/browser-own", report, sizeof report);
    int stopped = stop_serving(server);
    cr_assert_eq(status, 0, "the browser checks failed:\n%s", report);
    cr_assert(strstr(report, "ok no console errors"), "%s", report);
    cr_assert_eq(stopped, 0);
}

/* ---- the embedding at scale (issue 22) ----------------------------------------- */

/* A standard normal draw from a 64-bit state (xorshift, Box-Muller): the
 * synthetic points need no quality beyond looking like clusters. */
static double normal(uint64_t *s)
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        u[k] = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

static void write_vector(const char *study, const char *rel, nerve_dtype type, int ndim, const int64_t *shape, void *data)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", study, rel);
    nerve_array a = { .dtype = type, .ndim = ndim, .data = data };
    memcpy(a.shape, shape, (size_t)ndim * sizeof *shape);
    cr_assert_eq(nerve_npy_write(path, &a), 0, "%s", nerve_error());
}

/* The study grows to n inputs in the eyes of the viewer: the manifest's
 * counts, the inputs' labels, predictions and confidences, and the last
 * embedded layer's t-SNE (ten clusters on a ring, one a class) are
 * replaced by synthetic ones of n rows; of the other layers' embeddings
 * (the real 600 rows) only the first stays, which the viewer must refuse. The Mapper graphs stay: their
 * members are the first 600 inputs. Returns nothing; fails the test. */
static void grow_study(const char *study, int64_t n)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/manifest.json", study);
    json_t *m = json_load_file(path, 0, NULL);
    cr_assert(m);
    json_object_set_new(json_object_get(m, "inputs"), "count", json_integer(n));
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(m, "layers"), i, l)
        json_object_set_new(l, "rows", json_integer(n));
    cr_assert_eq(json_dump_file(m, path, JSON_INDENT(1)), 0);
    json_decref(m);
    snprintf(path, sizeof path, "%s/embed/index.tsne.json", study);
    json_t *index = json_load_file(path, 0, NULL), *layers = json_object_get(index, "layers");
    cr_assert(json_array_size(layers) > 1, "fewer than two embeddings in %s", path);
    json_t *first = json_incref(json_array_get(layers, 0)), *last = json_incref(json_array_get(layers, json_array_size(layers) - 1));
    json_array_clear(layers);
    json_array_append_new(layers, first);   /* its 600 rows: the viewer must refuse it */
    json_array_append_new(layers, last);
    cr_assert_eq(json_dump_file(index, path, JSON_INDENT(1)), 0);
    float *xy = malloc((size_t)n * 2 * sizeof *xy), *confidence = malloc((size_t)n * sizeof *confidence);
    int64_t *labels = malloc((size_t)n * sizeof *labels), *predicted = malloc((size_t)n * sizeof *predicted);
    cr_assert(xy && confidence && labels && predicted);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (int64_t r = 0; r < n; r++) {
        labels[r] = r % 10;
        double angle = 6.283185307179586 * (double)labels[r] / 10;
        xy[2 * r] = (float)(10 * cos(angle) + 1.6 * normal(&s));
        xy[2 * r + 1] = (float)(10 * sin(angle) + 1.6 * normal(&s));
        confidence[r] = (float)(0.5 + 0.5 * tanh(normal(&s)));
        predicted[r] = confidence[r] > 0.2 ? labels[r] : (labels[r] + 1) % 10;
    }
    write_vector(study, json_string_value(json_object_get(last, "file")), NERVE_F32, 2, (int64_t[]){ n, 2 }, xy);
    write_vector(study, "inputs/labels.npy", NERVE_I64, 1, &n, labels);
    write_vector(study, "inputs/predictions.npy", NERVE_I64, 1, &n, predicted);
    write_vector(study, "inputs/confidence.npy", NERVE_F32, 1, &n, confidence);
    free(xy), free(confidence), free(labels), free(predicted);
    json_decref(index);
}

/* Issue 22's figures: 300,000 points draw in under 3 s and pan with a
 * median frame under 50 ms; a box marks the Mapper nodes of its inputs;
 * a copied link reopens the view. scale.mjs prints the measured figures. */
Test(browser, a_300000_point_embedding_draws_pans_and_selects, .timeout = 600, .disabled = SANITIZED_BUILD)
{
    char study[4096], url[256], report[16384];
    make_light_study(study, sizeof study, "scale");
    grow_study(study, 300000);
    int port;
    pid_t server = serve_study(study, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    int status = browse_with("scale.mjs", url, "build/test-artifacts/browser-scale", report, sizeof report);
    int stopped = stop_serving(server);
    cr_assert_eq(status, 0, "the embedding at scale failed:\n%s", report);
    cr_assert(strstr(report, "ok no console errors"), "%s", report);
    cr_assert_eq(stopped, 0);
}
