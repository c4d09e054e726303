/*
 * test_similarity.c — `nerve compare --study`: each entry of every layer x
 * layer matrix equals the pairwise measure on the same two layers (so the
 * per-layer caching changes nothing), and layers with several rows per
 * input are left out.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nerve/sim.h"
#include "nerve/study.h"
#include "../support/support.h"

static const char *make_study(const char *name, nerve_vector_mode mode)
{
    static char dir[2][4096];
    static int slot;
    char *out = dir[slot++ % 2];
    snprintf(out, 4096, "%s", temp_path(name));
    nerve_extract_options o = fixture_study_options(out, 400);
    o.mode = mode;
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    return out;
}

static double pairwise(nerve_sim_metric metric, const nerve_mat *a, const nerve_mat *b)
{
    double v = NAN, w;
    nerve_cca c = { 0 };
    switch (metric) {
    case NERVE_SIM_CKA: cr_assert_eq(nerve_sim_cka_linear(&v, a, b, 0), 0, "%s", nerve_error()); break;
    case NERVE_SIM_CKA_DEBIASED: cr_assert_eq(nerve_sim_cka_linear(&v, a, b, 1), 0, "%s", nerve_error()); break;
    case NERVE_SIM_SVCCA: cr_assert_eq(nerve_sim_svcca(&c, a, b, 0.99), 0, "%s", nerve_error()); v = c.mean; break;
    case NERVE_SIM_PWCCA: cr_assert_eq(nerve_sim_pwcca(&v, &c, a, b, 0), 0, "%s", nerve_error()); break;
    case NERVE_SIM_PROCRUSTES: cr_assert_eq(nerve_sim_procrustes(&v, &w, a, b), 0, "%s", nerve_error()); break;
    default: break;
    }
    nerve_cca_free(&c);
    return v;
}

Test(study_similarity, matrices_equal_the_pairwise_measures)
{
    const char *dir = make_study("sim-mean", NERVE_MODE_MEAN);
    nerve_sim_metric metrics[] = { NERVE_SIM_CKA, NERVE_SIM_CKA_DEBIASED, NERVE_SIM_SVCCA, NERVE_SIM_PWCCA,
                                   NERVE_SIM_PROCRUSTES };
    nerve_sim_options o = { .keep = 0.99, .epsilon = 0 };
    int skipped = -1;
    cr_assert_eq(nerve_study_similarity(dir, metrics, 5, &o, &skipped), 0, "%s", nerve_error());
    cr_assert_eq(skipped, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *manifest = json_load_file(path, 0, NULL);
    json_t *layers = json_object_get(manifest, "layers");
    int count = (int)json_array_size(layers);
    cr_assert_eq(count, 7);
    nerve_mat acts[7];
    for (int i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(json_array_get(layers, i), "file")));
        cr_assert_eq(nerve_mat_read_npy(&acts[i], path), 0);
    }
    for (int k = 0; k < 5; k++) {
        snprintf(path, sizeof path, "%s/sim/%s.npy", dir, nerve_sim_metric_name(metrics[k]));
        nerve_mat m;
        cr_assert_eq(nerve_mat_read_npy(&m, path), 0, "%s", nerve_error());
        cr_assert_eq(m.rows, count);
        for (int i = 0; i < count; i++)
            for (int j = 0; j < count; j += 2) {
                double want = pairwise(metrics[k], &acts[i], &acts[j]);
                cr_assert(fabs(m.data[i * count + j] - want) < 1e-5, "%s [%d][%d]: %g, pairwise %g",
                          nerve_sim_metric_name(metrics[k]), i, j, m.data[i * count + j], want);
            }
        nerve_mat_free(&m);
    }
    for (int i = 0; i < count; i++)
        nerve_mat_free(&acts[i]);
    json_decref(manifest);
}

Test(study_similarity, layers_with_several_rows_per_input_are_left_out_and_cli)
{
    const char *dir = make_study("sim-all", NERVE_MODE_ALL);
    const char *out, *err;
    int status = run_nerve((const char *[]){ "compare", "--study", dir, "-M", "cka", NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(err, "4 layers with several rows per input left out"), "%s", err);
    char path[4096];
    snprintf(path, sizeof path, "%s/sim/cka.npy", dir);
    nerve_mat m;
    cr_assert_eq(nerve_mat_read_npy(&m, path), 0);
    cr_assert_eq(m.rows, 3, "fc1, relu3 and fc2 remain");
    nerve_mat_free(&m);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "--study", "/nonexistent", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "manifest"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "--study", dir, "-M", "cka-rbf", NULL }, &out, &err), 2);
}

/* A study's layer as a matrix (first n rows). */
static void study_layer(nerve_mat *m, const char *dir, int i, int64_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *manifest = json_load_file(path, 0, NULL);
    json_t *l = json_array_get(json_object_get(manifest, "layers"), (size_t)i);
    snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(l, "file")));
    json_decref(manifest);
    cr_assert_eq(nerve_mat_read_npy(m, path), 0, "%s", nerve_error());
    m->rows = n;
}

Test(study_similarity, two_studies_match_inputs_by_id)
{
    const char *a = make_study("sim-a", NERVE_MODE_MEAN);   /* 400 inputs */
    char b[4096];
    snprintf(b, sizeof b, "%s", temp_path("sim-b"));
    nerve_extract_options o = fixture_study_options(b, 300);   /* fewer: ids 0..299 in common */
    o.mode = NERVE_MODE_MAX;
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    nerve_sim_metric metrics[] = { NERVE_SIM_CKA, NERVE_SIM_PWCCA };
    nerve_sim_options so = { .keep = 0.99, .epsilon = 0 };
    int skipped = 0;
    cr_assert_eq(nerve_study_similarity_between(a, b, metrics, 2, &so, &skipped), 0, "%s", nerve_error());
    for (int k = 0; k < 2; k++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/sim/vs_sim-b/%s.npy", a, nerve_sim_metric_name(metrics[k]));
        nerve_mat m;
        cr_assert_eq(nerve_mat_read_npy(&m, path), 0, "%s", nerve_error());
        cr_assert_eq(m.rows, 7);
        cr_assert_eq(m.cols, 7);
        for (int i = 0; i < 7; i += 3)
            for (int j = 0; j < 7; j += 2) {
                nerve_mat x, y;
                study_layer(&x, a, i, 300);
                study_layer(&y, b, j, 300);
                double want = pairwise(metrics[k], &x, &y);
                cr_assert(fabs(m.data[i * 7 + j] - want) < 1e-5, "%s [%d][%d]: %g, pairwise %g",
                          nerve_sim_metric_name(metrics[k]), i, j, m.data[i * 7 + j], want);
                nerve_mat_free(&x);
                nerve_mat_free(&y);
            }
        nerve_mat_free(&m);
    }
    /* Studies of different inputs have no ids in common. */
    char c[4096];
    snprintf(c, sizeof c, "%s", temp_path("sim-c"));
    o.out = c;
    o.data = "fashion-mnist:train";
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    cr_assert_eq(nerve_study_similarity_between(a, c, metrics, 1, &so, &skipped), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "different inputs"), "%s", nerve_error());
}

/* Issue 18 point 3 / issue 17 point 4: a metric the inputs do not allow
 * (the CCA family with fewer inputs than neurons) is null with its reason
 * in index.json, never a failed stage. */
Test(study_similarity, a_metric_that_cannot_be_computed_is_null_with_a_reason)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", temp_path("sim-few"));
    nerve_extract_options e = fixture_study_options(dir, 6);
    e.mode = NERVE_MODE_MEAN;
    cr_assert_eq(nerve_extract(&e), 0, "%s", nerve_error());
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    nerve_sim_metric set[NERVE_SIM_METRIC_COUNT];
    int n = nerve_sim_study_defaults(set), skipped;
    cr_assert_eq(nerve_study_similarity(dir, set, n, &o, &skipped), 0, "%s", nerve_error());
    char path[4200];
    snprintf(path, sizeof path, "%s/sim/index.json", dir);
    json_t *index = json_load_file(path, 0, NULL);
    cr_assert(index);
    json_t *unavailable = json_object_get(json_object_get(index, "null_cells"), "unavailable");
    cr_assert(json_object_size(unavailable) > 0, "nothing unavailable with 6 inputs");
    const char *metric;
    json_t *why;
    json_object_foreach(unavailable, metric, why) {
        cr_assert(json_string_length(why) > 0, "%s without a reason", metric);
        snprintf(path, sizeof path, "%s/sim/%s.npy", dir, metric);
        nerve_mat m;
        cr_assert_eq(nerve_mat_read_npy(&m, path), 0, "%s", nerve_error());
        cr_assert(isnan(m.data[0]), "%s: a value where none could be computed", metric);
        nerve_mat_free(&m);
    }
    json_decref(index);
}
