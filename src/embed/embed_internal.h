/* embed_internal.h — what the embed room's files share. */
#ifndef NERVE_EMBED_INTERNAL_H
#define NERVE_EMBED_INTERNAL_H

#include "nerve/embed.h"
#include "nerve/knn.h"
#include <math.h>
#include <stdint.h>

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

/* ---- UMAP ------------------------------------------------------------- */

/* UMAP's graph is a tsne_graph too: p holds the membership strengths. */

/* The fuzzy simplicial set of nn (each point's k nearest others, umap-learn's
 * n_neighbors = k + 1 with the point itself): smooth kNN distances, the
 * memberships exp(-(d - rho) / sigma), their fuzzy union a + b - ab, then
 * the weak edges dropped (below max / epochs, as umap-learn). Rows sorted
 * by column. 0, or NERVE_ENOMEM. */
int     umap_fuzzy_graph(tsne_graph *g, const nerve_knn *nn, int64_t epochs);

/* umap-learn's smooth_knn_dist for one point: rho (the nearest non-zero
 * distance) and sigma such that sum_j exp(-(d_j - rho) / sigma) over its k
 * neighbours = log2(k + 1). */
void    umap_smooth_knn(double *rho, double *sigma, const float *dist, int64_t k, double mean_all);

/* Connected components: label[i] in [0, count), numbered by their first
 * point; returns count. */
int64_t umap_components(int32_t *label, const tsne_graph *g);

/* The spectral start (umap-learn's spectral_layout and
 * multi_component_layout): per component, the two eigenvectors of the
 * normalised Laplacian after the trivial one, placed apart; components too
 * small for it are spread at random. y: n x 2. x gives the components'
 * centroids when there are more than four. */
int     umap_spectral(double *y, const tsne_graph *g, const int32_t *label, int64_t count, const nerve_mat *x,
                      uint64_t seed);

/* x^b for x > 0 as 2^(b log2 x), each by a short polynomial: within 2e-5
 * of powf (relative; results below 2^-126 come out near 2^-126, not 0),
 * without branches or calls so that a loop of them vectorises. The
 * descent spends most of its time here; the tests compare it with powf. */
static inline float umap_pow(float x, float b)
{
    union { float f; uint32_t i; } v = { x };
    float e = (float)((int32_t)(v.i >> 23) - 127);
    v.i = (v.i & 0x007fffffu) | 0x3f800000u;   /* the mantissa m in [1, 2) */
    /* log2 m = 2 atanh(t) / ln 2, t = (m - 1) / (m + 1) in [0, 1/3) */
    float t = (v.f - 1) / (v.f + 1), t2 = t * t;
    float y = b * (e + t * (2.8853900817779268f + t2 * (0.9617966939259756f + t2 * (0.5770780163555854f
                                                     + t2 * (0.4121985831111324f + t2 * 0.3205988979753252f)))));
    y = y < -126 ? -126 : y > 127 ? 127 : y;
    int32_t n = (int32_t)y;
    n -= (float)n > y;   /* floor */
    float f = (y - (float)n) * 0.6931471805599453f;   /* 2^y = 2^n e^f, f in [0, ln 2) */
    float p = 1 + f * (1 + f * (0.5f + f * (1.0f / 6 + f * (1.0f / 24 + f * (1.0f / 120 + f * (1.0f / 720))))));
    union { uint32_t i; float f; } s = { (uint32_t)(n + 127) << 23 };
    return p * s.f;
}

/* The descent's settings. */
typedef struct umap_sgd {
    double   a, b, gamma, alpha;
    int64_t  epochs, negative_rate;
    uint64_t seed;
} umap_sgd;

/* umap-learn's optimize_layout_euclidean on the graph's edges in row order,
 * one thread (umap_sgd.c); y (n x 2) in place. bar may be NULL. */
int     umap_optimize(float *y, const tsne_graph *g, const umap_sgd *s, nerve_progress *bar);

/* FFTW opened (lazy_fftw.c): 0, or NERVE_EUNSUPPORTED naming it. */
int nerve_fftw_require(void);

#endif /* NERVE_EMBED_INTERNAL_H */
