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

/* A quadtree over the 2-D positions, rebuilt every iteration. */
typedef struct tsne_node {
    double  cx, cy, half;      /* the cell: centre and half width */
    double  mx, my;            /* centre of mass */
    int64_t count;             /* points inside */
    int64_t child;             /* index of the first of 4 children, -1 for a leaf */
    int64_t point;             /* a leaf's point (the first, if several coincide), -1 if empty */
} tsne_node;

typedef struct tsne_tree {
    tsne_node *nodes;
    int64_t    n_nodes, cap;
    int64_t   *order;          /* the points in Morton order of their positions */
    int64_t    n_order;
} tsne_tree;

void tsne_tree_free(tsne_tree *t);

/* Builds the quadtree of the n positions y into *tree (one thread);
 * -1 when out of memory. */
int  tsne_tree_build(tsne_tree *tree, const double *y, int64_t n);

/* Barnes-Hut repulsion from the built tree: for every point,
 * rep_i ~ sum_j q_ij^2 (y_i - y_j) and z_i ~ sum_j q_ij, cells far enough
 * (width / distance < theta) summarised by their centre of mass. */
int  tsne_repulsive_bh(double *rep, double *z, const tsne_tree *tree, const double *y, double theta);

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

#endif /* NERVE_EMBED_INTERNAL_H */
