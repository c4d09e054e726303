/* mapper_internal.h — what the mapper room's files share. */
#ifndef NERVE_MAPPER_INTERNAL_H
#define NERVE_MAPPER_INTERNAL_H

#include "nerve/mapper.h"

enum { NERVE_LENS_MAX_DIMS = 8 };

/* Union-find (DBSCAN's core components, single linkage's cut): the root
 * of x, halving the path. */
static inline int32_t mapper_find_root(int32_t *up, int32_t x)
{
    while (up[x] != x) {
        up[x] = up[up[x]];
        x = up[x];
    }
    return x;
}

/* DBSCAN (scikit-learn's labels) from the pairs of distinct points within
 * eps, each once, in runs: labels get cluster numbers or -1 for noise;
 * returns the cluster count or < 0. */
int64_t mapper_dbscan(int32_t *labels, int64_t n, const nerve_pair_runs *runs, int64_t min_samples);
/* The same over x's rows, the pairs streamed from the radius search: the
 * first pass keeps up to kept_max runs for the second, which beyond that
 * searches again; memory stays O(n min_samples + kept_max). */
int64_t mapper_dbscan_points(int32_t *labels, const nerve_mat *x, double eps, nerve_metric metric,
                             int64_t min_samples, int64_t kept_max);
/* The runs Mapper lets an element keep: 8 Mi runs, 96 MB. */
enum { MAPPER_DBSCAN_KEPT_RUNS = 8 << 20 };

/* The two passes, for a caller with its own pairs: count every run, settle,
 * join every run, then read the labels. */
typedef struct dbscan_passes dbscan_passes;

dbscan_passes *mapper_dbscan_new(int64_t n, int64_t min_samples);
void           mapper_dbscan_count(dbscan_passes *d, const int32_t *runs, int64_t n_runs);
int            mapper_dbscan_settle(dbscan_passes *d);
int            mapper_dbscan_join(dbscan_passes *d, const int32_t *runs, int64_t n_runs);
int64_t        mapper_dbscan_labels(dbscan_passes *d, int32_t *labels);
void           mapper_dbscan_free(dbscan_passes *d);
/* Single linkage of x's rows cut at height cut (cut < 0: at the first gap
 * of a bins-bin histogram of the heights); returns the cluster count. */
int64_t mapper_linkage(int32_t *labels, const nerve_mat *x, nerve_metric metric, double cut, int64_t bins);

/* The knee of an ascending curve: on axes scaled to [0, 1], the point
 * farthest below the chord from the first point to the last. */
double mapper_knee(const double *y, int64_t n);

/* The kNN graph of knn mode: NN-descent on the leading principal
 * components (for wide points), distances recomputed on the full vectors. */
int  mapper_neighbour_graph(nerve_knn *nn, const nerve_mat *x, int64_t k, nerve_metric metric, uint64_t seed);
/* Automatic eps from such a graph: the knee of every point's
 * min_samples-th neighbour distance (itself counted). */
int  mapper_eps_from_graph(double *eps, const nerve_knn *nn, int64_t min_samples);

/* The graph's edges from its nodes' member lists, through an inverted
 * index (point -> nodes holding it). */
int  mapper_edges(nerve_mapper_graph *g, int64_t min_intersection);
/* Node figures (mean lens, labels, purity, ...) and graph figures
 * (components, loops and a cycle basis, branch points, leaves). */
int  mapper_node_figures(nerve_mapper_graph *g, const nerve_mat *x, const nerve_lens *lens,
                         const nerve_mapper_meta *meta);
int  mapper_graph_figures(nerve_mapper_graph *g);

#endif /* NERVE_MAPPER_INTERNAL_H */
