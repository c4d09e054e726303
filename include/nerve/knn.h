/*
 * nerve/knn.h — the knn room: nearest neighbours of point clouds, shared by
 * Mapper (density lenses, DBSCAN's automatic eps), t-SNE and persistence.
 *
 *     nerve_mat points = { 0 };
 *     nerve_knn nn = { 0 };
 *     int rc = nerve_mat_read_npy(&points, "acts.npy");   // N x d float32
 *     if (rc == 0)
 *         rc = nerve_knn_exact(&nn, &points, 15, NERVE_METRIC_EUCLIDEAN);
 *     if (rc < 0) {
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *         return nerve_exit_status(rc);
 *     }
 *     // the neighbours of point i: nn.index[i * nn.k + j] at nn.dist[i * nn.k + j],
 *     // j = 0 .. k-1, nearest first, the point itself excluded
 *     printf("point 0's nearest: %lld at %g\n", (long long)nn.index[0], nn.dist[0]);
 *     nerve_knn_free(&nn);
 *     nerve_mat_free(&points);
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

/* The distance of x and y (d floats each), computed directly in double. */
double nerve_knn_distance(const float *x, const float *y, int64_t d, nerve_metric metric);
/* The same in float arithmetic with several partial sums: faster, for
 * approximate searches. */
float  nerve_knn_distance_float(const float *x, const float *y, int64_t d, nerve_metric metric);

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

/* The k nearest other points of every point, exact for small clouds and
 * by NN-descent (nerve_knn_descent) for large ones: the choice rests on the
 * pairwise work, N^2 d. */
int  nerve_knn_build(nerve_knn *out, const nerve_mat *points, int64_t k, nerve_metric metric, uint64_t seed);
/* Approximate k nearest neighbours by NN-descent (Dong, Charikar and Li,
 * 2011), seeded; the result does not depend on the thread count. */
int  nerve_knn_descent(nerve_knn *out, const nerve_mat *points, int64_t k, nerve_metric metric, uint64_t seed);

/* Every point's neighbours within a radius (distance <= radius, as
 * scikit-learn's radius_neighbors), the point itself included, ascending by
 * index. The GEMM's float distances decide only clear cases; pairs near the
 * radius are decided by the distance computed directly in double. */
typedef struct nerve_radius {
    int64_t  n;
    int64_t *start;     /* n + 1 offsets */
    int32_t *index;     /* neighbours of i: index[start[i] .. start[i + 1]) */
} nerve_radius;

int  nerve_knn_radius(nerve_radius *out, const nerve_mat *points, double radius, nerve_metric metric);
void nerve_radius_free(nerve_radius *r);

/* The same neighbourhoods as runs of pairs of distinct points: run e
 * pairs point i = run[3 e] with every j in [run[3 e + 1], run[3 e + 2]),
 * all j > i; each pair in one run only; in an order that does not depend
 * on the thread count. No lists are laid out, and a dense neighbourhood
 * takes a few runs per point, not a pair per neighbour: what DBSCAN needs
 * when eps is wide. */
typedef struct nerve_pair_runs {
    int64_t  n;
    int32_t *run;
} nerve_pair_runs;

int  nerve_knn_radius_runs(nerve_pair_runs *out, const nerve_mat *points, double radius, nerve_metric metric);
void nerve_pair_runs_free(nerve_pair_runs *r);

/* The same runs handed to visit a tile at a time (n_runs runs, 3 int32
 * each) and not kept: memory stays a tile's whatever the pair count. The
 * runs of one call share their row block; the blocks run on the threads at
 * once and in any order, so a visitor that keeps state across calls guards
 * it. A visitor's negative return (with nerve_error_set) stops the search
 * and is returned. */
typedef int (*nerve_pair_visit)(void *ctx, const int32_t *runs, int64_t n_runs);

int  nerve_knn_radius_visit(const nerve_mat *points, double radius, nerve_metric metric, nerve_pair_visit visit,
                            void *ctx);

/* The naive twin: every distance computed directly, for the tests. */
int  nerve_knn_naive(nerve_knn *out, const nerve_mat *points, int64_t k, nerve_metric metric);

#endif /* NERVE_KNN_H */
