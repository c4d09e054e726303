/*
 * test_run.c — `nerve run` end to end on a reduced study (500 inputs, the
 * small CNN fixture as the model and as its own checkpoint): every stage's
 * output is there and recorded in the manifest, the summary table lists
 * every layer, a second run skips every stage, and a stage whose output
 * went missing is the only one run again.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/study.h"
#include "../support/support.h"

static const char *stage_names[] = { "extract", "mean", "mapper", "ph", "embed", "sim", "dynamics", "findings",
                                     "featvis" };

static int run_study(const char *dir, const char **out, const char **err)
{
    char model[4096];
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    return run_nerve((const char *[]){ "run", "-q", "-m", model, "--checkpoint", model, "-n", "500", "-o", dir,
                                       NULL },
                     out, err);
}

static json_t *load(const char *dir, const char *rel)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert(j, "%s: %s", path, e.text);
    return j;
}

static int listed(const json_t *names, const char *name)
{
    for (size_t i = 0; i < json_array_size(names); i++)
        if (strcmp(json_string_value(json_array_get(names, i)), name) == 0)
            return 1;
    return 0;
}

/* The averaged study's matrices include svcca-dft of the whole conv maps:
 * each map against itself near 1, every value a mean correlation, and a
 * vector layer NaN and named with the reason. */
static void expect_whole_map_svcca(const char *dir)
{
    json_t *index = load(dir, "mean/sim/index.json");
    const json_t *layers = json_object_get(index, "layers");
    const json_t *vectors = json_object_get(json_object_get(json_object_get(json_object_get(index, "null_cells"),
                                                                            "not_maps"), "svcca-dft"), "layers");
    cr_assert(json_object_get(json_object_get(index, "matrices"), "svcca-dft"), "no svcca-dft matrix");
    cr_assert(json_array_size(vectors) > 0 && json_array_size(vectors) < json_array_size(layers),
              "the fixture has conv maps and vectors both");
    char path[4400];
    snprintf(path, sizeof path, "%s/mean/sim/svcca-dft.npy", dir);
    nerve_array m;
    cr_assert_eq(nerve_npy_read(&m, NULL, path, NERVE_F32), 0, "%s", nerve_error());
    int64_t n = (int64_t)json_array_size(layers);
    cr_assert(m.ndim == 2 && m.shape[0] == n && m.shape[1] == n);
    const float *v = m.data;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            int vector = listed(vectors, json_string_value(json_array_get(layers, (size_t)i))) ||
                         listed(vectors, json_string_value(json_array_get(layers, (size_t)j)));
            float x = v[i * n + j];
            if (vector)
                cr_assert(isnan(x), "[%lld][%lld] = %g with a vector layer", (long long)i, (long long)j, (double)x);
            else
                cr_assert(i == j ? x > 0.95f && x <= 1.0001f : x > 0 && x <= 1.0001f, "[%lld][%lld] = %g",
                          (long long)i, (long long)j, (double)x);
        }
    nerve_array_free(&m);
    json_decref(index);
}

Test(run, reduced_study_end_to_end_then_up_to_date, .timeout = 600)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", temp_path("run_study"));
    const char *out, *err;
    cr_assert_eq(run_study(dir, &out, &err), 0, "%s", err);
    json_t *manifest = load(dir, "manifest.json");
    json_t *stages = json_object_get(json_object_get(manifest, "run"), "stages");
    size_t layers = json_array_size(json_object_get(manifest, "layers"));
    cr_assert_gt(layers, 3);
    for (size_t i = 0; i < sizeof stage_names / sizeof *stage_names; i++) {
        json_t *s = json_object_get(stages, stage_names[i]);
        cr_assert(s, "stage %s not recorded", stage_names[i]);
        json_decref(load(dir, json_string_value(json_object_get(s, "output"))));
    }
    /* Every layer has its graph, diagrams, t-SNE and a row in the table. */
    json_t *mapper = load(dir, "mapper/index.json"), *ph = load(dir, "ph/index.json"),
           *embed = load(dir, "embed/index.tsne.json");
    cr_assert_eq(json_array_size(json_object_get(mapper, "layers")), layers);
    cr_assert_eq(json_array_size(json_object_get(ph, "layers")), layers);
    cr_assert_eq(json_array_size(json_object_get(embed, "layers")), layers);
    /* The table names layers by their display names (relu1 for
     * /relu1/Relu_output_0), as the viewer does. */
    cr_assert_eq(nerve_study_display_names(manifest), 0, "%s", nerve_error());
    for (size_t i = 0; i < layers; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(json_object_get(manifest, "layers"), i),
                                                             "display"));
        cr_assert(name && strstr(out, name), "%s missing from the table:\n%s", name ? name : "(no display name)", out);
    }
    expect_whole_map_svcca(dir);
    json_t *dynamics = load(dir, "checkpoints/index.json");
    cr_assert_eq(json_array_size(json_object_get(dynamics, "checkpoints")), 1);
    /* Layers against classes, for the final model and the checkpoint: the
     * checkpoint is the final model here, so the two matrices are equal. */
    const char *final = json_string_value(json_object_get(dynamics, "classes"));
    const char *ckpt = json_string_value(json_object_get(json_array_get(json_object_get(dynamics, "checkpoints"), 0),
                                                         "classes"));
    cr_assert(final && ckpt, "no class sensitivity in checkpoints/index.json");
    json_t *fc = load(dir, final), *cc = load(dir, ckpt);
    cr_assert_eq(json_integer_value(json_object_get(fc, "classes")), 10);
    nerve_array a, b;
    char pa[4400], pb[4400];
    snprintf(pa, sizeof pa, "%s/mean/%s", dir, json_string_value(json_object_get(fc, "matrix")));
    snprintf(pb, sizeof pb, "%s/checkpoints/ckpt0/%s", dir, json_string_value(json_object_get(cc, "matrix")));
    cr_assert_eq(nerve_npy_read(&a, NULL, pa, NERVE_F32), 0, "%s", nerve_error());
    cr_assert_eq(nerve_npy_read(&b, NULL, pb, NERVE_F32), 0, "%s", nerve_error());
    cr_assert_eq(a.shape[0], (int64_t)json_array_size(json_object_get(fc, "layers")));
    cr_assert_eq(a.shape[1], 10);
    cr_assert_eq(memcmp(a.data, b.data, (size_t)nerve_array_count(&a) * sizeof(float)), 0);
    for (int64_t i = 0; i < nerve_array_count(&a); i++) {
        float v = ((const float *)a.data)[i];
        cr_assert(v >= 0 && v <= 1, "a canonical correlation of %g", (double)v);
    }
    nerve_array_free(&a);
    nerve_array_free(&b);
    json_decref(fc);
    json_decref(cc);
    json_decref(dynamics);
    json_decref(mapper);
    json_decref(ph);
    json_decref(embed);
    json_decref(manifest);

    /* Again: nothing to do. */
    cr_assert_eq(run_study(dir, &out, &err), 0, "%s", err);
    for (size_t i = 0; i < sizeof stage_names / sizeof *stage_names; i++) {
        char want[64];
        snprintf(want, sizeof want, "%s (up to date)", stage_names[i]);
        cr_assert(strstr(out, want), "%s not skipped:\n%s", stage_names[i], out);
    }
    /* A lost output: that stage alone runs again. */
    char path[4400];
    snprintf(path, sizeof path, "%s/mapper/index.json", dir);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(run_study(dir, &out, &err), 0, "%s", err);
    cr_assert(!strstr(out, "mapper (up to date)") && strstr(out, "ph (up to date)"), "%s", out);
    json_decref(load(dir, "mapper/index.json"));
}

Test(run, bad_input_exits_2)
{
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "run", "-m", "/nonexistent.onnx", "-o", temp_path("bad_run"), NULL },
                           &out, &err),
                 2);
    cr_assert(strstr(err, "/nonexistent.onnx"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "run", "--checkpoint", "a.onnx", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "--checkpoint goes with --model"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "run", "extra", NULL }, &out, &err), 2);
    cr_assert_eq(run_nerve((const char *[]){ "run", "--port", "9000", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "go with --serve"), "%s", err);
    /* One input: stopped after extraction, which stays. */
    char model[4096], dir[4096];
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    snprintf(dir, sizeof dir, "%s", temp_path("one_input"));
    cr_assert_eq(run_nerve((const char *[]){ "run", "-q", "-m", model, "-n", "1", "-o", dir, NULL }, &out, &err), 2);
    cr_assert(strstr(err, "1 input: a study compares inputs, it needs at least 2"), "%s", err);
    json_decref(load(dir, "manifest.json"));
}

Test(run, serve_flag_serves_the_finished_study, .timeout = 300)
{
    char model[4096], dir[4096];
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    snprintf(dir, sizeof dir, "%s", temp_path("served_run"));
    int port;
    pid_t pid = spawn_server((const char *[]){ "run", "-q", "-m", model, "-n", "400", "-o", dir, "--stages", "mapper",
                                               "--serve", "--port", "0", NULL },
                             &port);
    http_reply r;
    cr_assert_eq(http_get(&r, port, "/api/study"), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "\"mapper\": {") || strstr(r.body, "\"mapper\":{"), "the study has no graphs: %.300s", r.body);
    free(r.body);
    cr_assert_eq(stop_serving(pid), 0);
}
