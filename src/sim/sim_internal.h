/*
 * sim_internal.h — what the sim room's files share: the check of a pair
 * of layers and each measure's per-layer half, computed once per layer.
 */
#ifndef NERVE_SIM_INTERNAL_H
#define NERVE_SIM_INTERNAL_H

#include "nerve/sim.h"

/* Below this many elements a loop runs on one thread: starting a team
 * costs more than the work, which matters when a permutation test runs
 * thousands of small measures. */
#define SIM_PARALLEL_MIN 65536

/* Checks that a and b describe the same N >= 3 inputs with finite values. */
int sim_check_shapes(const nerve_mat *a, const nerve_mat *b, const char *metric);
/* The same, and that neither layer is constant over all inputs. */
int sim_check_pair(const nerve_mat *a, const nerve_mat *b, const char *metric);
/* 1 if every input has the same activations. */
int sim_layer_constant(const nerve_mat *m);

/* The unbiased HSIC of centred X and Y, up to a factor that cancels in
 * CKA, from |X^T Y|_F^2, the rows' squared norms and their totals. */
double sim_debiased_hsic(double xty, const double *rows_x, const double *rows_y, double norm_x, double norm_y,
                         int64_t n);

/* One layer's half of a CCA (cca_core's per-layer work), computed once and
 * reused against every other layer. */
typedef struct sim_cca_side {
    int64_t  n, d;
    double   scale;         /* the largest |covariance|, which cca_core divides by */
    int64_t  m;             /* neurons kept (scaled variance >= epsilon) */
    int64_t *keep;          /* their indices */
    const double *x;        /* the centred data, n x d, not owned (NULL from a Gram) */
    double  *invsqrt;       /* (scaled kept covariance + epsilon I)^-1/2, m x m */
    double  *xtx;           /* x^T x on the kept neurons, m x m (for PWCCA) */
} sim_cca_side;

/* A side over centred x (n x d), which it reads again at each pair: x must
 * outlive it. */
int  sim_cca_side_init(sim_cca_side *s, const double *x, int64_t n, int64_t d, double epsilon);
void sim_cca_side_free(sim_cca_side *s);
int  sim_cca_pair(nerve_cca *out, const sim_cca_side *a, const sim_cca_side *b, double **u);
/* The same two steps from X^T X (d x d, of centred data: consumed, freed)
 * and X^T Y, for callers that accumulate them (the DFT's frequencies);
 * the side's x is then NULL, so it cannot go through sim_cca_pair. */
int  sim_cca_side_from_gram(sim_cca_side *s, double *sxx, int64_t n, int64_t d, double epsilon);
int  sim_cca_pair_from_cross(nerve_cca *out, const sim_cca_side *a, const sim_cca_side *b, const double *sxy,
                             double **u);
/* PWCCA of two sides with their column means; the side with fewer neurons
 * goes first (a on a tie), as the reference's working branch needs. */
int  sim_pwcca_pair(double *value, nerve_cca *cca, const sim_cca_side *a, const double *means_a,
                    const sim_cca_side *b, const double *means_b);
/* SVCCA's reduction: the scores (n x k) on the top singular directions of
 * centred x holding `keep` of the variance. */
double *sim_svcca_reduce(const double *x, int64_t n, int64_t d, double keep, int64_t *k_out);

/* One layer's part of linear CKA: |X^T X|_F^2 (debiased if unbiased),
 * X X^T when the layer has more neurons than inputs, and for the debiased
 * form the rows' squared norms and their total. */
typedef struct sim_cka_side {
    const double *x;        /* centred n x d data (not owned) */
    int64_t  n, d;
    double   self;
    double  *rows_gram;     /* X X^T, n x n, when n < d (else NULL) */
    double  *row_sq;        /* NULL for the biased form */
    double   total_sq;
} sim_cka_side;

int  sim_cka_side_init(sim_cka_side *s, const double *x, int64_t n, int64_t d, int unbiased);
void sim_cka_side_free(sim_cka_side *s);
/* CKA of two sides of the same form; NaN when a side is constant. */
int  sim_cka_pair(double *value, const sim_cka_side *a, const sim_cka_side *b);

/* What scales n values to unit Frobenius norm (0 for zeros). */
double sim_unit_scale(const double *x, int64_t n);
/* Procrustes distance and angle of centred x (n x p) and y (n x q), each
 * times its scale to unit norm: the scales multiply the nuclear norm, so
 * no scaled copy of a layer is made. */
int  sim_procrustes_pair(double *distance, double *angular, const double *x, double x_scale, const double *y,
                         double y_scale, int64_t n, int64_t p, int64_t q);

/* Mutual kNN: one layer's neighbour lists, and the mean overlap of two. */
int    sim_knn_side_init(int64_t **index, const nerve_mat *m, int64_t k);
double sim_knn_overlap(const int64_t *a, const int64_t *b, int64_t n, int64_t k);

/* RSA: one layer's dissimilarities (upper triangle, row by row) as
 * average ranks, centred and scaled to unit norm, so the Spearman
 * correlation of two layers is the dot product of theirs (*side, to
 * free). A layer whose dissimilarities are all equal is refused. */
int     sim_rsa_side(double **side, const nerve_mat *m, const char *metric);
double  sim_rsa_pair(const double *a, const double *b, int64_t n);

#endif
