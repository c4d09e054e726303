/*
 * knn_align.c — mutual k-nearest-neighbour alignment (Huh et al. 2024, "The
 * Platonic Representation Hypothesis"): how many of an input's k nearest
 * neighbours in one layer are among its k nearest in the other, averaged
 * over inputs. Their features are L2-normalised and ranked by inner
 * product, which is the order of cosine distance; the neighbours come from
 * the knn room's exact search.
 */
#include <stdlib.h>

#include "nerve/knn.h"
#include "nerve/sim.h"
#include "sim_internal.h"

int sim_knn_side_init(int64_t **index, const nerve_mat *m, int64_t k)
{
    *index = NULL;
    if (k < 1 || k >= m->rows)
        return nerve_error_set(NERVE_EINPUT, "mutual-knn: k must be in [1, %lld) for %lld inputs, not %lld",
                               (long long)m->rows, (long long)m->rows, (long long)k);
    nerve_knn nn = { 0 };
    int rc = nerve_knn_exact(&nn, m, k, NERVE_METRIC_COSINE);
    if (rc < 0)
        return rc;
    *index = nn.index;   /* the lists are all this measure keeps */
    nn.index = NULL;
    nerve_knn_free(&nn);
    return 0;
}

double sim_knn_overlap(const int64_t *a, const int64_t *b, int64_t n, int64_t k)
{
    int64_t shared = 0;
    #pragma omp parallel for reduction(+:shared) schedule(static) if (n * k > SIM_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++)   /* k is small: k^2 comparisons beat sorting */
        for (int64_t x = 0; x < k; x++)
            for (int64_t y = 0; y < k; y++)
                shared += a[i * k + x] == b[i * k + y];
    return (double)shared / ((double)n * (double)k);
}

int nerve_sim_mutual_knn(double *value, const nerve_mat *a, const nerve_mat *b, int64_t k)
{
    int rc = sim_check_pair(a, b, "mutual-knn");
    int64_t *ia = NULL, *ib = NULL;
    if (rc == 0)
        rc = sim_knn_side_init(&ia, a, k);
    if (rc == 0)
        rc = sim_knn_side_init(&ib, b, k);
    if (rc == 0)
        *value = sim_knn_overlap(ia, ib, a->rows, k);
    free(ia);
    free(ib);
    return rc;
}
