/* embed_internal.h — what the embed room's files share. */
#ifndef NERVE_EMBED_INTERNAL_H
#define NERVE_EMBED_INTERNAL_H

#include "nerve/embed.h"

/* t-SNE's joint probabilities: symmetric CSR lists. */
typedef struct tsne_graph {
    int64_t  n;
    int64_t *start;   /* n + 1 */
    int64_t *col;
    double  *p;
} tsne_graph;

/* Sorts each row by column and adds up repeated entries. */
void tsne_graph_merge(tsne_graph *g);
void tsne_graph_free(tsne_graph *g);

/* A quadtree over the 2-D positions, rebuilt every iteration: the points
 * sorted along a Morton curve, each cell a range of them. */
typedef struct tsne_node {
    double  mx, my;            /* centre of mass */
    double  width;             /* the cell's side */
    int64_t first, count;      /* its points: order[first .. first + count) */
    int32_t child, n_child;    /* its non-empty children, consecutive; child -1 for a leaf */
} tsne_node;

typedef struct tsne_tree {
    tsne_node *nodes;
    int64_t    n_nodes, cap;
    int64_t   *order;          /* the points in Morton order of their positions */
    double    *pos;            /* (2n) their positions in that order */
    uint64_t  *code;           /* (n) their Morton codes, sorted */
    int64_t    n_order;
} tsne_tree;

void tsne_tree_free(tsne_tree *t);

/* Builds the quadtree of the n positions y into *tree (one thread);
 * -1 when out of memory. */
int  tsne_tree_build(tsne_tree *tree, const double *y, int64_t n);

/* Exact repulsion, O(n^2): rep_i = sum_j q_ij^2 (y_i - y_j) and
 * z_i = sum_j q_ij, with q_ij = 1 / (1 + |y_i - y_j|^2). The method for
 * small n and the naive twin the fast methods below are tested against. */
void tsne_repulsive_exact(double *rep, double *z, const double *y, int64_t n);

/* Barnes-Hut repulsion from the built tree, which holds the positions:
 * for every point, rep_i ~ sum_j q_ij^2 (y_i - y_j) and z_i ~ sum_j q_ij,
 * cells far enough (width / distance < theta) summarised by their centre
 * of mass. */
int  tsne_repulsive_bh(double *rep, double *z, const tsne_tree *tree, double theta);

/* FFT-accelerated interpolation (FIt-SNE): the same sums as
 * tsne_repulsive_bh, from potentials on a grid; *state keeps the grid and
 * FFT plans between iterations. */
typedef struct tsne_fft tsne_fft;
int  tsne_repulsive_fft(double *rep, double *z, tsne_fft **state, const double *y, int64_t n);
void tsne_fft_free(tsne_fft *f);

/* The working arrays of one t-SNE run. */
typedef struct tsne_work {
    double   *rep, *z;
    tsne_tree tree;
    tsne_fft *fft;
} tsne_work;

/* FFTW opened (lazy_fftw.c): 0, or NERVE_EUNSUPPORTED naming it. */
int nerve_fftw_require(void);

#endif /* NERVE_EMBED_INTERNAL_H */
