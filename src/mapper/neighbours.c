/*
 * neighbours.c — the nearest-neighbour graph behind DBSCAN's knn mode, for
 * clouds too large for every pair: points wider than REDUCED_DIMS are
 * first projected on their leading principal components, NN-descent runs
 * there, and every pair kept gets its distance recomputed on the full
 * vectors, so eps compares with true distances.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mapper_internal.h"

enum { REDUCED_DIMS = 32 };

/* Rows scaled to unit length (cosine distances rank like euclidean ones
 * between unit vectors). */
static int unit_copy(nerve_mat *out, const nerve_mat *x)
{
    int rc = nerve_mat_alloc(out, x->rows, x->cols);
    if (rc < 0)
        return rc;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < x->rows; i++) {
        double s = 0;
        for (int64_t j = 0; j < x->cols; j++)
            s += (double)x->data[i * x->cols + j] * x->data[i * x->cols + j];
        float f = s > 0 ? (float)(1 / sqrt(s)) : 0;
        for (int64_t j = 0; j < x->cols; j++)
            out->data[i * x->cols + j] = x->data[i * x->cols + j] * f;
    }
    return 0;
}

/* Full-dimensional distances for the lists, each list re-sorted. */
static void rescore(nerve_knn *nn, const nerve_mat *x, nerve_metric metric)
{
    int64_t k = nn->k;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < nn->n; i++) {
        int64_t *index = nn->index + i * k;
        float *dist = nn->dist + i * k;
        for (int64_t a = 0; a < k; a++)
            dist[a] = nerve_knn_distance_float(x->data + i * x->cols, x->data + index[a] * x->cols, x->cols, metric);
        for (int64_t a = 1; a < k; a++) {
            float dv = dist[a];
            int64_t iv = index[a], b = a - 1;
            while (b >= 0 && (dist[b] > dv || (dist[b] == dv && index[b] > iv))) {
                dist[b + 1] = dist[b];
                index[b + 1] = index[b];
                b--;
            }
            dist[b + 1] = dv;
            index[b + 1] = iv;
        }
    }
}

int mapper_neighbour_graph(nerve_knn *nn, const nerve_mat *x, int64_t k, nerve_metric metric, uint64_t seed)
{
    memset(nn, 0, sizeof *nn);
    if (x->cols <= REDUCED_DIMS)
        return nerve_knn_build(nn, x, k, metric, seed);
    nerve_mat unit = { 0 };
    nerve_pca p = { 0 };
    int rc = metric == NERVE_METRIC_COSINE ? unit_copy(&unit, x) : 0;
    if (rc == 0)
        rc = nerve_pca_fit(&p, metric == NERVE_METRIC_COSINE ? &unit : x, REDUCED_DIMS);
    nerve_mat_free(&unit);
    if (rc == 0)
        rc = nerve_knn_build(nn, &p.scores, k, NERVE_METRIC_EUCLIDEAN, seed);
    nerve_pca_free(&p);
    if (rc == 0)
        rescore(nn, x, metric);
    return rc;
}

int mapper_eps_from_graph(double *eps, const nerve_knn *nn, int64_t min_samples)
{
    /* The min_samples-th neighbour counting the point itself. */
    int64_t col = min_samples - 2;
    if (col < 0 || col >= nn->k)
        return nerve_error_set(NERVE_EINPUT, "automatic eps: min_samples = %lld needs 2 to %lld", (long long)min_samples,
                               (long long)nn->k + 1);
    double *kth = malloc((size_t)nn->n * sizeof *kth + 1);
    if (!kth)
        return nerve_error_set(NERVE_ENOMEM, "eps: out of memory");
    for (int64_t i = 0; i < nn->n; i++)
        kth[i] = nn->dist[i * nn->k + col];
    qsort(kth, (size_t)nn->n, sizeof *kth, nerve_compare_doubles);
    *eps = mapper_knee(kth, nn->n);
    free(kth);
    return *eps > 0 ? 0 : nerve_error_set(NERVE_EINPUT, "automatic eps: the neighbour distances are all 0; give --eps");
}
