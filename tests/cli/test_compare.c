/*
 * test_compare.c — `nerve compare` on the sim room's one metric table
 * (issue 18): its choices and help come from the table, it starts from
 * nerve_sim_defaults (dead units dropped), and it offers the new metrics,
 * --significance and svcca-dft.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "nerve/sim.h"
#include "../support/support.h"

/* An (n, c[, h, w]) float32 file of pseudo-random values; units listed in
 * dead (count ndead) are 0 for every input, as dead ReLU units. */
static const char *write_layer(const char *name, int rank, const int64_t *shape, uint64_t seed, int ndead)
{
    nerve_array a;
    cr_assert_eq(nerve_array_alloc(&a, NERVE_F32, rank, shape), 0);
    int64_t count = nerve_array_count(&a), per = count / shape[0];
    for (int64_t i = 0; i < count; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ((float *)a.data)[i] = i % per < ndead ? 0.0f : (float)((seed >> 33) % 10007) / 10007.0f;
    }
    /* temp_path reuses its buffers: each layer's path is kept in its own. */
    static char paths[8][4096];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s", temp_path(name));
    cr_assert_eq(nerve_npy_write(path, &a), 0, "%s", nerve_error());
    nerve_array_free(&a);
    return path;
}

static double value_of(const char *json)
{
    const char *v = strstr(json, "\"value\": ");
    cr_assert(v, "%s", json);
    return strtod(v + 9, NULL);
}

Test(cli_compare, help_and_choices_come_from_the_metric_table)
{
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "compare", "--help", NULL }, &out, &err), 0);
    for (int i = 0; i < NERVE_SIM_METRIC_COUNT; i++)
        cr_assert(strstr(out, nerve_sim_metrics[i].summary), "%s missing from --help", nerve_sim_metrics[i].name);
    cr_assert(strstr(out, "dead units dropped") && strstr(out, "svcca-dft"), "%s", out);
    const char *a = write_layer("a.npy", 2, (int64_t[]){ 60, 8 }, 1, 0), *b = write_layer("b.npy", 2, (int64_t[]){ 60, 6 }, 2, 0);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-M", "all", a, b, NULL }, &out, &err), 0, "%s", err);
    for (int i = 0; i < NERVE_SIM_METRIC_COUNT; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"metric\": \"%s\"", nerve_sim_metrics[i].name);
        cr_assert(strstr(out, want), "all without %s: %s", nerve_sim_metrics[i].name, out);
    }
}

/* Issue 18 point 3: dead units are dropped by default, as cca_core's
 * tutorials (epsilon 1e-10); --epsilon 0 counts each as a zero correlation. */
Test(cli_compare, cca_drops_dead_units_by_default)
{
    const char *out, *err;
    const char *a = write_layer("dead_a.npy", 2, (int64_t[]){ 200, 12 }, 3, 5);
    const char *b = write_layer("dead_b.npy", 2, (int64_t[]){ 200, 12 }, 3, 0);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-M", "cca", a, b, NULL }, &out, &err), 0, "%s", err);
    double by_default = value_of(out);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-M", "cca", "--epsilon", "1e-10", a, b, NULL }, &out, &err), 0);
    cr_assert(fabs(value_of(out) - by_default) < 1e-12, "default %g, epsilon 1e-10 %g", by_default, value_of(out));
}

Test(cli_compare, new_metrics_significance_and_dft)
{
    const char *out, *err;
    const char *a = write_layer("s_a.npy", 2, (int64_t[]){ 80, 6 }, 4, 0), *b = write_layer("s_b.npy", 2, (int64_t[]){ 80, 5 }, 5, 0);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-M", "mutual-knn", "--knn-k", "4", a, b, NULL }, &out, &err), 0,
                 "%s", err);
    cr_assert(strstr(out, "\"k\": 4"), "%s", out);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-M", "rsa", "--significance", "40", "--seed", "9", a, a, NULL },
                           &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "\"p_value\"") && strstr(out, "\"interval\""), "%s", out);
    const char *p = strstr(out, "\"p_value\": ");
    cr_assert(strtod(p + 11, NULL) < 0.05, "a layer against itself: %s", out);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "--study", "x", "--significance", "5", NULL }, &out, &err), 2);

    const char *ma = write_layer("m_a.npy", 4, (int64_t[]){ 40, 3, 4, 4 }, 6, 0);
    const char *mb = write_layer("m_b.npy", 4, (int64_t[]){ 40, 2, 4, 4 }, 7, 0);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-M", "svcca-dft", ma, mb, NULL }, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "\"metric\": \"svcca-dft\"") && value_of(out) > 0 && value_of(out) <= 1, "%s", out);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-M", "svcca-dft", a, b, NULL }, &out, &err), 2);
    cr_assert(strstr(err, "(N, C, H, W)"), "%s", err);
}
