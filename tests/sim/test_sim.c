/*
 * test_sim.c — the similarity measures against Google's cca_core.py and
 * pwcca.py and NumPy versions of the CKA and Procrustes formulas
 * (tests/fixtures/sim/make_sim_fixtures.py), within 1e-6; and bad input.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "../support/support.h"

static nerve_mat layer(const char *name)
{
    char rel[64];
    snprintf(rel, sizeof rel, "sim/%s.npy", name);
    nerve_mat m;
    cr_assert_eq(nerve_mat_read_npy(&m, fixture(rel)), 0, "%s", nerve_error());
    return m;
}

static double expected(const char *pair, const char *metric)
{
    json_error_t err;
    json_t *root = json_load_file(fixture("sim/expected.json"), 0, &err);
    cr_assert(root != NULL, "%s", err.text);
    json_t *v = json_object_get(json_object_get(root, pair), metric);
    cr_assert(json_is_number(v), "%s %s missing", pair, metric);
    double x = json_number_value(v);
    json_decref(root);
    return x;
}

#define assert_close(got, want, what) \
    cr_assert(fabs((got) - (want)) <= 1e-6, "%s: %.10f, reference %.10f", what, (got), (want))

static void check_pair(const char *first, const char *second)
{
    char pair[8];
    snprintf(pair, sizeof pair, "%s%s", first, second);
    nerve_mat a = layer(first), b = layer(second);
    nerve_cca c;
    double v, w;

    cr_assert_eq(nerve_sim_cca(&c, &a, &b, 0), 0, "%s", nerve_error());
    assert_close(c.mean, expected(pair, "cca"), "cca");
    nerve_cca_free(&c);
    cr_assert_eq(nerve_sim_svcca(&c, &a, &b, 0.99), 0, "%s", nerve_error());
    assert_close(c.mean, expected(pair, "svcca"), "svcca");
    nerve_cca_free(&c);
    cr_assert_eq(nerve_sim_pwcca(&v, &c, &a, &b, 0), 0, "%s", nerve_error());
    assert_close(v, expected(pair, "pwcca"), "pwcca");
    nerve_cca_free(&c);
    cr_assert_eq(nerve_sim_cka_linear(&v, &a, &b, 0), 0, "%s", nerve_error());
    assert_close(v, expected(pair, "cka"), "cka");
    cr_assert_eq(nerve_sim_cka_linear(&v, &a, &b, 1), 0, "%s", nerve_error());
    assert_close(v, expected(pair, "cka_debiased"), "cka-debiased");
    cr_assert_eq(nerve_sim_cka_rbf(&v, &a, &b, 1.0), 0, "%s", nerve_error());
    assert_close(v, expected(pair, "cka_rbf_1"), "cka-rbf 1.0");
    cr_assert_eq(nerve_sim_cka_rbf(&v, &a, &b, 0.5), 0, "%s", nerve_error());
    assert_close(v, expected(pair, "cka_rbf_0.5"), "cka-rbf 0.5");
    cr_assert_eq(nerve_sim_procrustes(&v, &w, &a, &b), 0, "%s", nerve_error());
    assert_close(v, expected(pair, "procrustes"), "procrustes");
    assert_close(w, expected(pair, "procrustes_angular"), "procrustes angular");
    nerve_mat_free(&a);
    nerve_mat_free(&b);
}

/* The measures with nerve's default options (epsilon 1e-10: remove_small
 * drops neurons without variance) and the newer ones, through both the
 * pairwise functions and nerve_sim_measure. */
static void check_defaults(const char *first, const char *second)
{
    char pair[8];
    snprintf(pair, sizeof pair, "%s%s", first, second);
    nerve_mat a = layer(first), b = layer(second);
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    cr_assert_eq(o.epsilon, 1e-10);
    nerve_cca c;
    double v, w;
    cr_assert_eq(nerve_sim_cca(&c, &a, &b, o.epsilon), 0, "%s", nerve_error());
    assert_close(c.mean, expected(pair, "cca_default"), "cca, default epsilon");
    nerve_cca_free(&c);
    for (int order = 0; order < 2; order++) {   /* the side with fewer kept neurons weights, either way */
        cr_assert_eq(nerve_sim_pwcca(&v, &c, order ? &b : &a, order ? &a : &b, o.epsilon), 0, "%s", nerve_error());
        assert_close(v, expected(pair, "pwcca_default"), "pwcca, default epsilon");
        nerve_cca_free(&c);
    }
    cr_assert_eq(nerve_sim_mutual_knn(&v, &a, &b, 5), 0, "%s", nerve_error());
    assert_close(v, expected(pair, "mutual_knn_5"), "mutual-knn 5");
    cr_assert_eq(nerve_sim_rsa(&v, &a, &b), 0, "%s", nerve_error());
    assert_close(v, expected(pair, "rsa"), "rsa");
    static const struct { nerve_sim_metric m; const char *key; } each[] = {
        { NERVE_SIM_CCA, "cca_default" }, { NERVE_SIM_SVCCA, "svcca" }, { NERVE_SIM_PWCCA, "pwcca_default" },
        { NERVE_SIM_CKA, "cka" }, { NERVE_SIM_CKA_DEBIASED, "cka_debiased" }, { NERVE_SIM_PROCRUSTES, "procrustes" },
        { NERVE_SIM_SHAPE_ANGULAR, "procrustes_angular" }, { NERVE_SIM_MUTUAL_KNN, "mutual_knn_10" },
        { NERVE_SIM_RSA, "rsa" },
    };
    for (size_t i = 0; i < sizeof each / sizeof *each; i++) {
        cr_assert_eq(nerve_sim_measure(&w, each[i].m, &a, &b, &o), 0, "%s", nerve_error());
        assert_close(w, expected(pair, each[i].key), nerve_sim_metric_name(each[i].m));
    }
    nerve_mat_free(&a);
    nerve_mat_free(&b);
}

Test(sim, every_metric_matches_the_references_layer_a_against_b)
{
    check_pair("a", "b");
    check_defaults("a", "b");
}

Test(sim, dead_units_are_dropped_by_default_as_cca_core_does)
{
    check_defaults("d", "e");
    /* With epsilon 0 each of the 26 + 6 dead units reads as a zero
     * correlation (the 0.459 against cca_core's 0.773). */
    nerve_mat d = layer("d"), e = layer("e");
    nerve_cca c;
    cr_assert_eq(nerve_sim_cca(&c, &d, &e, 0), 0, "%s", nerve_error());
    cr_assert(c.mean < expected("de", "cca_default") - 0.05, "%g", c.mean);
    nerve_cca_free(&c);
    cr_assert_eq(nerve_sim_cca(&c, &d, &e, NERVE_SIM_EPSILON), 0, "%s", nerve_error());
    cr_assert_eq(c.dims_a, 38);
    cr_assert_eq(c.dims_b, 42);
    nerve_cca_free(&c);
    nerve_mat_free(&d);
    nerve_mat_free(&e);
}

/* The table's metrics that matrices offer (cka-rbf is for pairs only),
 * each with its block of `cells` doubles; returns how many. */
static int matrix_metrics(nerve_sim_metric *metrics, double **out, double *cells, int size)
{
    int n = 0;
    for (int k = 0; k < NERVE_SIM_METRIC_COUNT; k++)
        if (nerve_sim_metrics[k].uses & NERVE_SIM_FOR_STUDY) {
            metrics[n] = nerve_sim_metrics[k].metric;
            out[n] = cells + (size_t)n * size;
            n++;
        }
    return n;
}

Test(sim, matrices_equal_the_pairwise_measures)
{
    nerve_mat layers[3] = { layer("d"), layer("e"), layer("d") };
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    nerve_sim_metric metrics[NERVE_SIM_METRIC_COUNT];
    double cells[NERVE_SIM_METRIC_COUNT][9], *out[NERVE_SIM_METRIC_COUNT];
    int n = matrix_metrics(metrics, out, cells[0], 9);
    cr_assert_eq(nerve_sim_matrices(out, layers, 3, metrics, n, &o, NULL), 0, "%s", nerve_error());
    for (int k = 0; k < n; k++) {
        double v;
        cr_assert_eq(nerve_sim_measure(&v, metrics[k], &layers[0], &layers[1], &o), 0, "%s", nerve_error());
        assert_close(cells[k][1], v, nerve_sim_metric_name(metrics[k]));
        cr_assert(fabs(cells[k][2] - (nerve_sim_metric_is_distance(metrics[k]) ? 0 : 1)) < 1e-6,
                  "%s of a layer with itself: %g", nerve_sim_metric_name(metrics[k]), cells[k][2]);
    }
    for (int i = 0; i < 3; i++)
        nerve_mat_free(&layers[i]);
}

Test(sim, every_metric_matches_the_references_layer_c_against_b)
{
    check_pair("c", "b");
    check_defaults("c", "b");
}

Test(sim, symmetric_measures_do_not_depend_on_the_order)
{
    nerve_mat a = layer("a"), b = layer("b");
    double ab, ba;
    cr_assert_eq(nerve_sim_cka_linear(&ab, &a, &b, 0), 0);
    cr_assert_eq(nerve_sim_cka_linear(&ba, &b, &a, 0), 0);
    cr_assert(fabs(ab - ba) < 1e-12);
    nerve_cca c1, c2;
    cr_assert_eq(nerve_sim_pwcca(&ab, &c1, &a, &b, 0), 0);
    cr_assert_eq(nerve_sim_pwcca(&ba, &c2, &b, &a, 0), 0);
    cr_assert(fabs(ab - ba) < 1e-12, "pwcca takes the smaller layer first either way");
    nerve_cca_free(&c1);
    nerve_cca_free(&c2);
    cr_assert_eq(nerve_sim_cka_linear(&ab, &a, &a, 0), 0);
    cr_assert(fabs(ab - 1) < 1e-12, "a layer against itself: %g", ab);
    nerve_mat_free(&a);
    nerve_mat_free(&b);
}

Test(sim, bad_input)
{
    nerve_mat a = layer("a"), b;
    cr_assert_eq(nerve_mat_alloc(&b, 200, 5), 0);
    double v;
    cr_assert_eq(nerve_sim_cka_linear(&v, &a, &b, 0), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "300 and 200 inputs"), "%s", nerve_error());
    nerve_mat_free(&b);
    cr_assert_eq(nerve_mat_alloc(&b, 300, 5), 0);
    cr_assert_eq(nerve_sim_cka_linear(&v, &a, &b, 0), NERVE_EINPUT);   /* all zeros */
    cr_assert(strstr(nerve_error(), "constant"), "%s", nerve_error());
    b.data[7] = NAN;
    cr_assert_eq(nerve_sim_procrustes(&v, &v, &a, &b), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "NaN"), "%s", nerve_error());
    nerve_mat_free(&b);
    nerve_mat wide;   /* more dimensions than inputs */
    cr_assert_eq(nerve_mat_alloc(&wide, 300, 400), 0);
    for (int64_t i = 0; i < 300 * 400; i++)
        wide.data[i] = (float)((i * 7919) % 1013);
    nerve_cca c;
    cr_assert_eq(nerve_sim_cca(&c, &a, &wide, 0), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "svcca"), "%s", nerve_error());
    nerve_mat_free(&wide);
    nerve_mat_free(&a);
}

Test(sim, compare_cli)
{
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "compare", "--help", NULL }, &out, &err), 0);
    cr_assert(strstr(out, "pwcca"), "%s", out);
    int status = run_nerve((const char *[]){ "compare", "-M", "svcca", fixture("sim/a.npy"), fixture("sim/b.npy"),
                                             NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "\"metric\": \"svcca\"") && strstr(out, "\"coefficients\"") && strstr(out, "\"value\": 0.5168"),
              "%s", out);
    cr_assert(!strstr(out, "\"pwcca\"") && !strstr(out, "\"cka"), "one metric asked, others printed: %s", out);
    status = run_nerve((const char *[]){ "compare", "-M", "all", fixture("sim/c.npy"), fixture("sim/b.npy"), NULL },
                       &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "\"procrustes\"") && strstr(out, "\"cka-rbf\""), "%s", out);
    status = run_nerve((const char *[]){ "compare", fixture("sim/a.npy"), fixture("npy/vector.npy"), NULL }, &out, &err);
    cr_assert_eq(status, 2);
    cr_assert(strstr(err, "300 inputs") && strstr(err, "vector.npy has 6"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-M", "cosine", "a", "b", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "unknown --metric 'cosine'"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "compare", fixture("sim/a.npy"), NULL }, &out, &err), 2);
}

/* Issue 18 point 5: different input counts, a single input and constant
 * layers get a reason, from every metric; in a matrix a constant layer's
 * cells are NaN (documented as its only cause), never an error elsewhere. */
Test(sim, bad_pairs_are_refused_with_a_reason_by_every_metric)
{
    nerve_mat a = layer("a"), fewer, one, flat;
    cr_assert_eq(nerve_mat_alloc(&fewer, 299, 20), 0);
    cr_assert_eq(nerve_mat_alloc(&one, 1, 20), 0);
    cr_assert_eq(nerve_mat_alloc(&flat, 300, 20), 0);
    for (int64_t i = 0; i < 299 * 20; i++)
        fewer.data[i] = a.data[i];
    for (int64_t i = 0; i < 300 * 20; i++)
        flat.data[i] = 0.25f;   /* every input the same */
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    for (int k = 0; k < NERVE_SIM_METRIC_COUNT; k++) {
        double v = 42;
        const char *name = nerve_sim_metric_name((nerve_sim_metric)k);
        cr_assert_eq(nerve_sim_measure(&v, (nerve_sim_metric)k, &a, &fewer, &o), NERVE_EINPUT, "%s", name);
        cr_assert(strstr(nerve_error(), "300 and 299 inputs"), "%s: %s", name, nerve_error());
        cr_assert_eq(nerve_sim_measure(&v, (nerve_sim_metric)k, &one, &one, &o), NERVE_EINPUT, "%s", name);
        cr_assert(strstr(nerve_error(), "at least 3 inputs"), "%s: %s", name, nerve_error());
        cr_assert_eq(nerve_sim_measure(&v, (nerve_sim_metric)k, &a, &flat, &o), NERVE_EINPUT, "%s", name);
        cr_assert(strstr(nerve_error(), "layer B is constant"), "%s: %s", name, nerve_error());
        cr_assert_eq(v, 42, "%s wrote a value on failure", name);
    }
    double v;
    cr_assert_eq(nerve_sim_procrustes(&v, &v, &flat, &a), NERVE_EINPUT);   /* sqrt(2) before, silently */
    cr_assert_eq(nerve_sim_rsa(&v, &a, &flat), NERVE_EINPUT);
    cr_assert_eq(nerve_sim_mutual_knn(&v, &a, &a, 300), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "k must be"), "%s", nerve_error());

    nerve_mat layers[2] = { a, flat };
    nerve_sim_metric metrics[NERVE_SIM_METRIC_COUNT];
    double cells[NERVE_SIM_METRIC_COUNT][4], *out[NERVE_SIM_METRIC_COUNT];
    int n = matrix_metrics(metrics, out, cells[0], 4);
    cr_assert_eq(nerve_sim_matrices(out, layers, 2, metrics, n, &o, NULL), 0, "%s", nerve_error());
    for (int k = 0; k < n; k++) {
        cr_assert(isfinite(cells[k][0]), "%s", nerve_sim_metric_name(metrics[k]));
        cr_assert(isnan(cells[k][1]) && isnan(cells[k][2]) && isnan(cells[k][3]), "%s", nerve_sim_metric_name(metrics[k]));
    }
    nerve_mat_free(&a);
    nerve_mat_free(&fewer);
    nerve_mat_free(&one);
    nerve_mat_free(&flat);
}

/* A layer of n rows and d columns, uniform in [0, 1), of which only the
 * first `live` columns vary (the rest are dead: constant 0.5). */
static nerve_mat wide_layer(int64_t n, int64_t d, int64_t live, uint64_t seed)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_alloc(&m, n, d), 0);
    nerve_rng r;
    nerve_rng_seed(&r, seed);
    for (int64_t i = 0; i < n * d; i++)
        m.data[i] = i % d < live ? (float)nerve_rng_uniform(&r) : 0.5f;
    return m;
}

/* Linear CKA the slow way, from the row Grams of the centred data. */
static double naive_cka(const nerve_mat *a, const nerve_mat *b)
{
    int64_t n = a->rows;
    double *ka = calloc((size_t)(n * n), sizeof *ka), *kb = calloc((size_t)(n * n), sizeof *kb);
    const nerve_mat *m[2] = { a, b };
    double *k[2] = { ka, kb };
    for (int s = 0; s < 2; s++) {
        int64_t d = m[s]->cols;
        double *x = nerve_mat_centered(m[s], NULL);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                for (int64_t c = 0; c < d; c++)
                    k[s][i * n + j] += x[i * d + c] * x[j * d + c];
        free(x);
    }
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n * n; i++)
        ab += ka[i] * kb[i], aa += ka[i] * ka[i], bb += kb[i] * kb[i];
    free(ka);
    free(kb);
    return ab / sqrt(aa * bb);
}

/* Layers with more neurons than inputs (a flattened conv map): CKA goes
 * through the N x N Grams and CCA builds only the kept neurons'
 * covariance, never a d x d one (at d = 200,000 that would be 320 GB). */
Test(sim, layers_wider_than_the_inputs)
{
    nerve_mat a = wide_layer(12, 200000, 5, 1), b = wide_layer(12, 300, 300, 2), small = wide_layer(12, 5, 5, 1);
    double v;
    cr_assert_eq(nerve_sim_cka_linear(&v, &b, &small, 0), 0, "%s", nerve_error());
    assert_close(v, naive_cka(&b, &small), "cka, 12 x 300 against 12 x 5");
    nerve_mat c = wide_layer(12, 800, 800, 3);
    cr_assert_eq(nerve_sim_cka_linear(&v, &b, &c, 0), 0, "%s", nerve_error());
    assert_close(v, naive_cka(&b, &c), "cka, 12 x 300 against 12 x 800");
    /* a's 199,995 dead neurons are dropped: the same as its live five */
    nerve_mat live;
    cr_assert_eq(nerve_mat_alloc(&live, 12, 5), 0);
    for (int64_t i = 0; i < 12; i++)
        memcpy(live.data + i * 5, a.data + i * a.cols, 5 * sizeof *live.data);
    nerve_cca wide, narrow;
    cr_assert_eq(nerve_sim_cca(&wide, &a, &small, NERVE_SIM_EPSILON), 0, "%s", nerve_error());
    cr_assert_eq(nerve_sim_cca(&narrow, &live, &small, NERVE_SIM_EPSILON), 0, "%s", nerve_error());
    assert_close(wide.mean, narrow.mean, "cca of the wide layer and of its live neurons");
    cr_assert_eq(wide.dims_a, 5);
    nerve_cca_free(&wide);
    nerve_cca_free(&narrow);
    /* b has 300 live neurons for 12 inputs: refused with the reason */
    cr_assert_eq(nerve_sim_cca(&wide, &b, &small, NERVE_SIM_EPSILON), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "12 inputs but 300 neurons"), "%s", nerve_error());
    nerve_mat_free(&a);
    nerve_mat_free(&b);
    nerve_mat_free(&c);
    nerve_mat_free(&live);
    nerve_mat_free(&small);
}

/* Class sensitivity equals SVCCA of the layer and the class's indicator
 * column, the direct way (one canonical pair). */
Test(sim, class_sensitivity_is_svcca_with_the_class_indicator)
{
    nerve_mat layer = wide_layer(60, 12, 12, 5);
    int64_t labels[60];
    for (int i = 0; i < 60; i++) {
        labels[i] = i % 3;
        layer.data[i * 12] += 0.8f * (float)(labels[i] == 1);   /* class 1 shows in neuron 0 */
    }
    double rho[4];
    cr_assert_eq(nerve_sim_class_sensitivity(rho, &layer, labels, 4, 0.99), 0, "%s", nerve_error());
    for (int c = 0; c < 3; c++) {
        nerve_mat indicator;
        cr_assert_eq(nerve_mat_alloc(&indicator, 60, 1), 0);
        for (int i = 0; i < 60; i++)
            indicator.data[i] = (float)(labels[i] == c);
        nerve_cca cca;
        cr_assert_eq(nerve_sim_svcca(&cca, &layer, &indicator, 0.99), 0, "%s", nerve_error());
        cr_expect(fabs(rho[c] - cca.mean) < 1e-6, "class %d: %.9f, svcca %.9f", c, rho[c], cca.mean);
        nerve_cca_free(&cca);
        nerve_mat_free(&indicator);
    }
    cr_expect(rho[1] > rho[0] + 0.2 && rho[1] > rho[2] + 0.2, "%g %g %g", rho[0], rho[1], rho[2]);
    cr_expect(isnan(rho[3]), "a class without inputs: %g", rho[3]);
    nerve_mat_free(&layer);
}
