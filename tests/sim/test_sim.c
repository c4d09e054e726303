/*
 * test_sim.c — the similarity measures against Google's cca_core.py and
 * pwcca.py and NumPy versions of the CKA and Procrustes formulas
 * (tests/fixtures/sim/make_sim_fixtures.py), within 1e-6; and bad input.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
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

Test(sim, every_metric_matches_the_references_layer_a_against_b)
{
    check_pair("a", "b");
}

Test(sim, every_metric_matches_the_references_layer_c_against_b)
{
    check_pair("c", "b");
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
