/* mapper_internal.h — what the mapper room's files share. */
#ifndef NERVE_MAPPER_INTERNAL_H
#define NERVE_MAPPER_INTERNAL_H

#include "nerve/mapper.h"

enum { NERVE_LENS_MAX_DIMS = 8 };

/* DBSCAN (scikit-learn's labels) from the pairs of distinct points within
 * eps, each once, in runs: labels get cluster numbers or -1 for noise;
 * returns the cluster count or < 0. */
int64_t mapper_dbscan(int32_t *labels, int64_t n, const nerve_pair_runs *runs, int64_t min_samples);
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
