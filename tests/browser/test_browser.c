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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nerve/core.h"
#include "../support/support.h"

/* A reduced study of the fixture model (600 inputs, one checkpoint). */
static void make_study(char *study, size_t cap, const char *name)
{
    char model[4096], config[4096];
    snprintf(study, cap, "%s", temp_path(name));
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    /* Feature visualisation of the first layer's nodes, which the viewer
     * shows first (the fixture's last layer of maps lies past a Pad, which
     * has no backward step), in few steps. */
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

/* Runs viewer.mjs on url; its exit status, with what it printed in report. */
static int browse(const char *url, const char *artifacts, char *report, size_t cap)
{
    const char *modules = getenv("NERVE_NODE_MODULES") ? getenv("NERVE_NODE_MODULES") : "build/browser/node_modules";
    char command[8192];
    nerve_dir_create("build/test-artifacts");
    nerve_dir_create(artifacts);
    snprintf(command, sizeof command, "NERVE_HOSTILE=%d NERVE_NODE_MODULES=%s node tests/browser/viewer.mjs '%s' %s 2>&1",
             strstr(artifacts, "hostile") != NULL, modules, url, artifacts);
    FILE *p = popen(command, "r");
    cr_assert(p, "cannot run node");
    size_t n = fread(report, 1, cap - 1, p);
    report[n] = 0;
    int status = pclose(p);
    cr_log_info("%s", report);
    return status;
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
