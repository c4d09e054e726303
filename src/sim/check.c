/*
 * check.c — what every similarity measure asks of a pair of layers: the
 * same inputs, enough of them, finite values. (The dense linear algebra
 * the measures share is core's: nerve/internal/linalg.h.)
 */
#include <math.h>

#include "nerve/sim.h"
#include "sim_internal.h"

/* The first non-finite value of m, as an element index, or -1. */
static int64_t first_non_finite(const nerve_mat *m)
{
    int64_t n = m->rows * m->cols, bad = 0;
    #pragma omp parallel for reduction(+:bad) schedule(static) if (n > SIM_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++)
        bad += !isfinite(m->data[i]);
    for (int64_t i = 0; bad && i < n; i++)   /* rare: find the first plainly */
        if (!isfinite(m->data[i]))
            return i;
    return -1;
}

int sim_layer_constant(const nerve_mat *m)
{
    int64_t n = m->rows, d = m->cols, differ = 0;
    #pragma omp parallel for reduction(+:differ) schedule(static) if (n * d > SIM_PARALLEL_MIN)
    for (int64_t i = 1; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            differ += m->data[i * d + j] != m->data[j];
    return differ == 0;
}

int sim_check_shapes(const nerve_mat *a, const nerve_mat *b, const char *metric)
{
    if (a->rows != b->rows)
        return nerve_error_set(NERVE_EINPUT, "%s: the two layers hold %lld and %lld inputs; they must "
                               "describe the same inputs", metric, (long long)a->rows, (long long)b->rows);
    if (a->rows < 3 || a->cols < 1 || b->cols < 1)
        return nerve_error_set(NERVE_EINPUT, "%s: needs at least 3 inputs and 1 dimension a side (got %lld "
                               "inputs)", metric, (long long)a->rows);
    const nerve_mat *m[2] = { a, b };
    for (int s = 0; s < 2; s++) {
        int64_t i = first_non_finite(m[s]);
        if (i >= 0)
            return nerve_error_set(NERVE_EINPUT, "%s: layer %c has a NaN or infinite value (input %lld, "
                                   "column %lld); nerve compares finite data only", metric, s ? 'B' : 'A',
                                   (long long)(i / m[s]->cols), (long long)(i % m[s]->cols));
    }
    return 0;
}

int sim_check_pair(const nerve_mat *a, const nerve_mat *b, const char *metric)
{
    int rc = sim_check_shapes(a, b, metric);
    const nerve_mat *m[2] = { a, b };
    for (int s = 0; s < 2 && rc == 0; s++)
        if (sim_layer_constant(m[s]))
            rc = nerve_error_set(NERVE_EINPUT, "%s: layer %c is constant over all inputs: it has no "
                                 "representation to compare", metric, s ? 'B' : 'A');
    return rc;
}
