/*
 * nerve/knn.h — the knn room: nearest neighbours of point clouds, shared by
 * Mapper (density lenses, DBSCAN's automatic eps), t-SNE and persistence.
 *
 *     nerve_knn nn;
 *     if ((rc = nerve_knn_exact(&nn, &points, 15, NERVE_METRIC_EUCLIDEAN)) < 0) ...
 *     // neighbours of point i: nn.index[i * nn.k + j], nn.dist[i * nn.k + j],
 *     // j = 0 .. k-1 nearest first, the point itself excluded
 *     nerve_knn_free(&nn);
 *
 * Distances come from blocked GEMMs (|x|^2 + |y|^2 - 2 x.y); the k winners'
 * distances are then recomputed directly, so the values returned are exact
 * to float rounding. Ties are broken by the smaller index, so results do not
 * depend on the thread count.
 */
#ifndef NERVE_KNN_H
#define NERVE_KNN_H

#include "nerve/core.h"

typedef enum nerve_metric {
    NERVE_METRIC_EUCLIDEAN = 0,
    NERVE_METRIC_COSINE,          /* 1 - cos(x, y) */
} nerve_metric;

const char *nerve_metric_name(nerve_metric m);
int         nerve_metric_parse(const char *s, nerve_metric *m);   /* -1 if unknown */

typedef struct nerve_knn {
    int64_t  n, k;
    int64_t *index;     /* n x k, nearest first */
    float   *dist;      /* n x k */
} nerve_knn;

/* The k nearest other points of every point (k < number of points). */
int  nerve_knn_exact(nerve_knn *out, const nerve_mat *points, int64_t k, nerve_metric metric);
/* The k nearest points of each query among points (a query is not
 * excluded even if it is also a point). */
int  nerve_knn_query(nerve_knn *out, const nerve_mat *queries, const nerve_mat *points, int64_t k,
                     nerve_metric metric);
void nerve_knn_free(nerve_knn *knn);

/* The naive twin: every distance computed directly, for the tests. */
int  nerve_knn_naive(nerve_knn *out, const nerve_mat *points, int64_t k, nerve_metric metric);

#endif /* NERVE_KNN_H */
