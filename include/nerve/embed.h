/*
 * nerve/embed.h — the embed room: low-dimensional pictures of a layer's
 * point cloud: t-SNE (exact, Barnes-Hut, FFT interpolation) and UMAP. PCA,
 * which several rooms use, is core's (nerve/core.h).
 *
 *     nerve_mat acts = { 0 };
 *     nerve_tsne_options o;
 *     nerve_tsne t = { 0 };
 *     nerve_tsne_defaults(&o);            // perplexity 30, 750 iterations, PCA start
 *     o.iters = 300;
 *     int rc = nerve_mat_read_npy(&acts, "acts.npy");     // N x d float32
 *     if (rc == 0)
 *         rc = nerve_tsne_fit(&t, &acts, &o, NULL);       // NULL: no progress bar
 *     if (rc == 0)   // t.y: N x 2
 *         printf("t-SNE of %lld points, KL divergence %.3f\n", (long long)t.n, t.kl);
 *     else
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *     nerve_tsne_free(&t);
 *     nerve_mat_free(&acts);
 *     if (rc < 0)
 *         return nerve_exit_status(rc);
 *
 * UMAP runs the same way (nerve_umap_defaults, nerve_umap_fit, u.y N x 2,
 * nerve_umap_free); its defaults are umap-learn's: 15 neighbours, min_dist
 * 0.1, spread 1, spectral start, 500 epochs up to 10,000 points, else 200.
 */
#ifndef NERVE_EMBED_H
#define NERVE_EMBED_H

#include "nerve/core.h"
#include "nerve/knn.h"

/* ---- t-SNE -------------------------------------------------------------- */

typedef enum nerve_tsne_method {
    NERVE_TSNE_AUTO = 0,        /* exact below 500 points, Barnes-Hut below 300,000, else FFT */
    NERVE_TSNE_EXACT,           /* every pair, every iteration */
    NERVE_TSNE_BARNES_HUT,      /* a quadtree, cells summarised below angle theta */
    NERVE_TSNE_FFT,             /* interpolation on a grid, convolved by FFT (FIt-SNE) */
} nerve_tsne_method;

const char *nerve_tsne_method_name(nerve_tsne_method m);
int         nerve_tsne_method_parse(const char *s, nerve_tsne_method *m);

typedef struct nerve_tsne_options {
    double            perplexity;          /* 30 */
    double            early_exaggeration;  /* 12 */
    int64_t           early_iters;         /* 250 of them exaggerated */
    int64_t           iters;               /* 750 in all */
    double            learning_rate;       /* 0: max(N / 12, 200) */
    double            theta;               /* Barnes-Hut angle, 0.5 */
    nerve_tsne_method method;
    uint64_t          seed;                /* for approximate neighbours on large N */
} nerve_tsne_options;

typedef struct nerve_tsne {
    int64_t           n, iters;
    nerve_mat         y;                   /* N x 2 */
    double            kl;                  /* final KL(P || Q) */
    double            learning_rate;
    nerve_tsne_method method;              /* the one used */
} nerve_tsne;

void nerve_tsne_defaults(nerve_tsne_options *o);
/* Embeds points (N x d) in 2-D; bar (may be NULL) counts iterations. */
int  nerve_tsne_fit(nerve_tsne *t, const nerve_mat *points, const nerve_tsne_options *o, nerve_progress *bar);
void nerve_tsne_free(nerve_tsne *t);

/* ---- UMAP --------------------------------------------------------------- */

/* UMAP (McInnes, Healy and Melville, 2018) in 2-D as umap-learn 0.5 runs it:
 * the fuzzy simplicial set of the k nearest neighbours (exact below 4,096
 * points, NN-descent above), a spectral start, then stochastic gradient
 * descent with negative sampling. The descent runs on one thread in
 * umap-learn's edge order (its neighbour search and spectral start are
 * the parts on threads), so a seed gives the same embedding at any thread
 * count; umap-learn's parallel descent does not. */

typedef enum nerve_umap_init {
    NERVE_UMAP_SPECTRAL = 0,    /* Laplacian eigenvectors of the graph, per connected component */
    NERVE_UMAP_RANDOM,          /* uniform in [-10, 10]^2 */
} nerve_umap_init;

const char *nerve_umap_init_name(nerve_umap_init i);
int         nerve_umap_init_parse(const char *s, nerve_umap_init *i);   /* -1 if unknown */

typedef struct nerve_umap_options {
    int64_t         neighbors;        /* 15, the point itself counted (umap-learn's n_neighbors) */
    double          min_dist;         /* 0.1: how tightly close points may pack */
    double          spread;           /* 1: the scale of the embedded points */
    nerve_metric    metric;           /* Euclidean or cosine, in the input space */
    int64_t         epochs;           /* 0: 500 up to 10,000 points, else 200 */
    double          learning_rate;    /* 1, decaying linearly to 0 */
    double          repulsion;        /* 1: the weight of negative samples (gamma) */
    int64_t         negative_rate;    /* 5 negative samples per positive one */
    double          a, b;             /* the curve 1 / (1 + a d^2b); 0: fitted from min_dist, spread */
    nerve_umap_init init;
    uint64_t        seed;
} nerve_umap_options;

typedef struct nerve_umap {
    int64_t         n, neighbors, epochs;
    nerve_mat       y;                /* N x 2 */
    double          a, b;             /* the curve used */
    nerve_umap_init init;             /* the start used */
    int64_t         components;       /* connected components of the neighbour graph */
    int64_t         edges;            /* directed edges of the graph that the descent samples */
    int             exact_neighbors;  /* 1: exact kNN, 0: NN-descent */
} nerve_umap;

void nerve_umap_defaults(nerve_umap_options *o);
/* Embeds points (N x d, N > neighbors, finite) in 2-D; bar (may be NULL)
 * counts epochs. NERVE_EINPUT for bad options or points. */
int  nerve_umap_fit(nerve_umap *u, const nerve_mat *points, const nerve_umap_options *o, nerve_progress *bar);
void nerve_umap_free(nerve_umap *u);

/* umap-learn's find_ab_params: a and b of 1 / (1 + a x^2b) fitted by least
 * squares (Levenberg-Marquardt, as scipy's curve_fit) to 1 below min_dist
 * and exp(-(x - min_dist) / spread) above, on 300 points of [0, 3 spread].
 * (0.1, 1) gives a = 1.577, b = 0.895. NERVE_EINPUT for spread <= 0 or
 * min_dist < 0. */
int  nerve_umap_find_ab(double *a, double *b, double spread, double min_dist);

#endif /* NERVE_EMBED_H */
