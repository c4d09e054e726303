/*
 * test_significance.c — the permutation test and bootstrap interval of
 * nerve_sim_significance: p roughly uniform on independent layers
 * (Kolmogorov-Smirnov against the uniform), tiny on a layer against a
 * rotated copy, the same for a seed at any thread count.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "nerve/sim.h"

/* n x d standard normal values from stream `stream` of seed 18. */
static nerve_mat gaussian(int64_t n, int64_t d, uint64_t stream)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_alloc(&m, n, d), 0);
    nerve_rng r;
    nerve_rng_stream(&r, 18, stream);
    for (int64_t i = 0; i < n * d; i++)
        m.data[i] = (float)nerve_rng_normal(&r);
    return m;
}

/* a times a d x d rotation (Gram-Schmidt of a Gaussian matrix). */
static nerve_mat rotated(const nerve_mat *a)
{
    int64_t d = a->cols;
    nerve_mat q = gaussian(d, d, 999), out;
    double *v = calloc((size_t)(d * d), sizeof *v);
    for (int64_t i = 0; i < d; i++) {
        for (int64_t k = 0; k < d; k++)
            v[i * d + k] = q.data[i * d + k];
        for (int64_t j = 0; j < i; j++) {
            double dot = 0;
            for (int64_t k = 0; k < d; k++)
                dot += v[i * d + k] * v[j * d + k];
            for (int64_t k = 0; k < d; k++)
                v[i * d + k] -= dot * v[j * d + k];
        }
        double norm = 0;
        for (int64_t k = 0; k < d; k++)
            norm += v[i * d + k] * v[i * d + k];
        for (int64_t k = 0; k < d; k++)
            v[i * d + k] /= sqrt(norm);
    }
    cr_assert_eq(nerve_mat_alloc(&out, a->rows, d), 0);
    for (int64_t r = 0; r < a->rows; r++)
        for (int64_t j = 0; j < d; j++) {
            double s = 0;
            for (int64_t k = 0; k < d; k++)
                s += a->data[r * d + k] * v[k * d + j];
            out.data[r * d + j] = (float)s;
        }
    free(v);
    nerve_mat_free(&q);
    return out;
}

static int by_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The Kolmogorov-Smirnov statistic of v against the uniform on [0, 1]. */
static double ks_uniform(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    double D = 0;
    for (int i = 0; i < n; i++)
        D = fmax(D, fmax((i + 1.0) / n - v[i], v[i] - (double)i / n));
    return D;
}

Test(significance, p_is_uniform_on_independent_layers)
{
    enum { PAIRS = 200 };
    /* One thread: 10,000 tiny measures would spend their time starting
     * thread teams (the result is the same at any count: see below). */
    nerve_threads_init(1);
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    /* Small layers and 49 permutations (p in steps of 1/50, far below
     * the critical value's 0.115) keep this quick in the sanitizer build. */
    const nerve_sim_metric metrics[] = { NERVE_SIM_CKA };
    for (size_t m = 0; m < sizeof metrics / sizeof *metrics; m++) {
        double p[PAIRS];
        for (int i = 0; i < PAIRS; i++) {
            nerve_mat a = gaussian(24, 3, 2 * (uint64_t)i), b = gaussian(24, 4, 2 * (uint64_t)i + 1);
            nerve_sim_test_options t = { .permutations = 49, .seed = (uint64_t)i };
            nerve_sim_test r;
            cr_assert_eq(nerve_sim_significance(&r, metrics[m], &a, &b, &o, &t), 0, "%s", nerve_error());
            cr_assert_eq(r.permutations, 49);
            cr_assert(isnan(r.low) && isnan(r.high), "no bootstrap asked");
            p[i] = r.p_value;
            nerve_mat_free(&a);
            nerve_mat_free(&b);
        }
        /* The 1% critical value of the one-sample KS statistic, n = 200:
         * 1.628 / sqrt(n). */
        double D = ks_uniform(p, PAIRS);
        cr_assert(D < 1.628 / sqrt(PAIRS), "%s: KS statistic %g", nerve_sim_metric_name(metrics[m]), D);
    }
}

Test(significance, a_layer_and_its_rotation_are_significant)
{
    nerve_mat a = gaussian(60, 5, 7), b = rotated(&a);
    nerve_threads_init(1);
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    const nerve_sim_metric metrics[] = { NERVE_SIM_CKA, NERVE_SIM_CCA, NERVE_SIM_PROCRUSTES, NERVE_SIM_RSA };
    for (size_t m = 0; m < sizeof metrics / sizeof *metrics; m++) {
        nerve_sim_test_options t = { .permutations = 199, .bootstrap = 100, .seed = 3 };
        nerve_sim_test r;
        cr_assert_eq(nerve_sim_significance(&r, metrics[m], &a, &b, &o, &t), 0, "%s", nerve_error());
        cr_assert(r.p_value < 0.01, "%s: p %g", nerve_sim_metric_name(metrics[m]), r.p_value);
        cr_assert(r.low <= r.observed + 1e-9 && r.observed <= r.high + 1e-9, "%s: %g outside [%g, %g]",
                  nerve_sim_metric_name(metrics[m]), r.observed, r.low, r.high);
        cr_assert_eq(r.bootstrap + r.skipped, 100);
    }
    nerve_mat_free(&a);
    nerve_mat_free(&b);
}

Test(significance, the_same_for_a_seed_at_any_thread_count)
{
    nerve_mat a = gaussian(50, 6, 11), b = gaussian(50, 4, 12);
    for (int k = 0; k < 5; k++)
        b.data[k * 4] += a.data[k * 6];   /* a little shared signal */
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    nerve_sim_test_options t = { .permutations = 50, .bootstrap = 50, .seed = 42 };
    nerve_sim_test r[3];
    for (int run = 0; run < 3; run++) {
        nerve_threads_init(run == 1 ? 1 : 2);
        cr_assert_eq(nerve_sim_significance(&r[run], NERVE_SIM_SVCCA, &a, &b, &o, &t), 0, "%s", nerve_error());
    }
    for (int run = 1; run < 3; run++)
        cr_assert(r[run].p_value == r[0].p_value && r[run].low == r[0].low && r[run].high == r[0].high &&
                  r[run].null_mean == r[0].null_mean, "run %d differs", run);
    t.seed = 43;
    nerve_sim_test other;
    cr_assert_eq(nerve_sim_significance(&other, NERVE_SIM_SVCCA, &a, &b, &o, &t), 0);
    cr_assert(other.null_mean != r[0].null_mean, "another seed, another null");
    nerve_mat_free(&a);
    nerve_mat_free(&b);
}

Test(significance, bad_options)
{
    nerve_mat a = gaussian(20, 3, 1), b = gaussian(20, 3, 2);
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    nerve_sim_test r;
    nerve_sim_test_options t = { .permutations = -1 };
    cr_assert_eq(nerve_sim_significance(&r, NERVE_SIM_CKA, &a, &b, &o, &t), NERVE_EINPUT);
    t = (nerve_sim_test_options){ .bootstrap = 10, .level = 1.5 };
    cr_assert_eq(nerve_sim_significance(&r, NERVE_SIM_CKA, &a, &b, &o, &t), NERVE_EINPUT);
    cr_assert(isnan(r.observed));
    nerve_mat_free(&a);
    nerve_mat_free(&b);
}
