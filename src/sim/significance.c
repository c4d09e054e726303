/*
 * significance.c — is a similarity real? A permutation test (the inputs of
 * one layer shuffled, which keeps each layer's own structure and breaks
 * only the pairing) and a bootstrap interval over inputs, for any metric.
 * Every permutation and resample draws from its own nerve_rng stream, so
 * the result does not depend on the order or the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "nerve/internal/alloc.h"
#include "sim_internal.h"

/* dst (rows of src, in the order of index). */
static void gather_rows(nerve_mat *dst, const nerve_mat *src, const int64_t *index)
{
    int64_t d = src->cols;
    for (int64_t i = 0; i < dst->rows; i++)
        memcpy(dst->data + i * d, src->data + index[i] * d, (size_t)d * sizeof *dst->data);
}

/* A uniform permutation of 0 .. n-1 (Fisher-Yates). */
static void shuffle(int64_t *index, int64_t n, nerve_rng *r)
{
    for (int64_t i = 0; i < n; i++)
        index[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)nerve_rng_below(r, (uint64_t)i + 1), t = index[i];
        index[i] = index[j];
        index[j] = t;
    }
}

static void resample(int64_t *index, int64_t n, nerve_rng *r)
{
    for (int64_t i = 0; i < n; i++)
        index[i] = (int64_t)nerve_rng_below(r, (uint64_t)n);
}

/* numpy.percentile's default (linear) on sorted v[0 .. n). */
static double percentile(const double *v, int64_t n, double q)
{
    double at = q * (double)(n - 1);
    int64_t lo = (int64_t)floor(at), hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (at - (double)lo) * (v[hi] - v[lo]);
}

static int check_test_options(const nerve_sim_test_options *t, double *level)
{
    *level = t->level == 0 ? 0.95 : t->level;
    if (t->permutations < 0 || t->bootstrap < 0)
        return nerve_error_set(NERVE_EINPUT, "significance: negative permutation (%lld) or bootstrap (%lld) count",
                               (long long)t->permutations, (long long)t->bootstrap);
    if (!(*level > 0 && *level < 1))
        return nerve_error_set(NERVE_EINPUT, "significance: the interval's level must be in (0, 1), not %g", *level);
    return 0;
}

/* The null distribution: metric(a, b permuted) for each permutation. */
static int permutation_test(nerve_sim_test *out, nerve_sim_metric metric, const nerve_mat *a,
                            const nerve_mat *b, const nerve_sim_options *o, const nerve_sim_test_options *t,
                            int64_t *index, nerve_mat *shuffled)
{
    int64_t n = a->rows, extreme = 0, done = 0;
    double total = 0;
    int distance = nerve_sim_metric_is_distance(metric), rc = 0;
    for (int64_t i = 0; i < t->permutations && rc == 0; i++) {
        nerve_rng r;
        nerve_rng_stream(&r, t->seed, 2 * (uint64_t)i);
        shuffle(index, n, &r);
        gather_rows(shuffled, b, index);
        double v;
        rc = nerve_sim_measure(&v, metric, a, shuffled, o);
        if (rc == 0) {
            extreme += distance ? v <= out->observed : v >= out->observed;
            total += v;
            done++;
        }
    }
    if (rc == 0) {
        out->p_value = (1.0 + (double)extreme) / (1.0 + (double)done);
        out->null_mean = total / (double)done;
        out->permutations = done;
    }
    return rc;
}

static int bootstrap_interval(nerve_sim_test *out, nerve_sim_metric metric, const nerve_mat *a,
                              const nerve_mat *b, const nerve_sim_options *o, const nerve_sim_test_options *t,
                              double level, int64_t *index, nerve_mat *ra, nerve_mat *rb)
{
    double *values = nerve_alloc_array((size_t)t->bootstrap, sizeof *values, "bootstrap values");
    if (!values)
        return NERVE_ENOMEM;
    int rc = 0;
    int64_t kept = 0;
    for (int64_t i = 0; i < t->bootstrap && rc != NERVE_ENOMEM; i++) {
        nerve_rng r;
        nerve_rng_stream(&r, t->seed, 2 * (uint64_t)i + 1);
        resample(index, a->rows, &r);
        gather_rows(ra, a, index);
        gather_rows(rb, b, index);
        rc = nerve_sim_measure(&values[kept], metric, ra, rb, o);
        if (rc == 0)
            kept++;
        else
            out->skipped++;   /* a resample on which the metric is undefined */
    }
    if (rc == NERVE_ENOMEM) {
        free(values);
        return rc;
    }
    if (kept == 0) {
        free(values);
        return nerve_error_set(NERVE_EINPUT, "%s: the metric was undefined on every bootstrap resample (%lld)",
                               nerve_sim_metric_name(metric), (long long)t->bootstrap);
    }
    qsort(values, (size_t)kept, sizeof *values, nerve_compare_doubles);
    out->low = percentile(values, kept, (1 - level) / 2);
    out->high = percentile(values, kept, (1 + level) / 2);
    out->bootstrap = kept;
    free(values);
    return 0;
}

int nerve_sim_significance(nerve_sim_test *out, nerve_sim_metric metric, const nerve_mat *a,
                           const nerve_mat *b, const nerve_sim_options *o, const nerve_sim_test_options *t)
{
    *out = (nerve_sim_test){ .observed = NAN, .p_value = NAN, .null_mean = NAN, .low = NAN, .high = NAN };
    double level;
    int rc = check_test_options(t, &level);
    if (rc == 0)
        rc = nerve_sim_measure(&out->observed, metric, a, b, o);
    if (rc < 0)
        return rc;
    nerve_mat ra = { 0 }, rb = { 0 };
    int64_t *index = nerve_alloc_array((size_t)a->rows, sizeof *index, "resampled inputs");
    rc = index ? nerve_mat_alloc(&ra, a->rows, a->cols) : NERVE_ENOMEM;
    if (rc == 0)
        rc = nerve_mat_alloc(&rb, b->rows, b->cols);
    if (rc == 0 && t->permutations > 0)
        rc = permutation_test(out, metric, a, b, o, t, index, &rb);
    if (rc == 0 && t->bootstrap > 0)
        rc = bootstrap_interval(out, metric, a, b, o, t, level, index, &ra, &rb);
    nerve_mat_free(&ra);
    nerve_mat_free(&rb);
    free(index);
    return rc;
}
