/*
 * nerve/sim.h — the sim room: how similar two layers' representations of
 * the same N inputs are. Each takes two float32 matrices N x d1 and N x d2
 * (rows are inputs) and computes in double precision.
 *
 *     nerve_mat a = { 0 }, b = { 0 };     // the same N inputs in two layers
 *     double cka = NAN;
 *     int rc = nerve_mat_read_npy(&a, "a.npy");
 *     if (rc == 0)
 *         rc = nerve_mat_read_npy(&b, "b.npy");
 *     if (rc == 0)
 *         rc = nerve_sim_cka_linear(&cka, &a, &b, 0);   // 1: debiased
 *     if (rc < 0)
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *     else
 *         printf("linear CKA %.4f\n", cka);
 *     nerve_mat_free(&a);
 *     nerve_mat_free(&b);
 *     if (rc < 0)
 *         return nerve_exit_status(rc);
 *
 * References: SVCCA (Raghu et al. 2017) and PWCCA (Morcos et al. 2018)
 * follow Google's cca_core.py and pwcca.py; CKA (Kornblith et al. 2019)
 * its authors' formulas, the debiased one with the unbiased HSIC of Song et
 * al. (2012) as Nguyen et al. (2021) use it; Procrustes as in Ding et al.
 * (2021) and Williams et al. (2021).
 */
#ifndef NERVE_SIM_H
#define NERVE_SIM_H

#include "nerve/core.h"

/* Canonical correlations, decreasing. rho is malloc'd: free it. */
typedef struct nerve_cca {
    int64_t k;          /* number of coefficients: min of the kept dimensions */
    double *rho;
    double  mean;       /* mean of rho: the (SV)CCA similarity */
    int64_t dims_a, dims_b;   /* dimensions CCA ran on (after SVCCA's reduction) */
} nerve_cca;

void nerve_cca_free(nerve_cca *c);

/* CCA as cca_core.get_cca_similarity with the given epsilon: covariance
 * blocks scaled by their largest magnitude, neurons of variance below
 * epsilon dropped, epsilon added to the diagonals. Needs N > d unless
 * epsilon > 0. */
int nerve_sim_cca(nerve_cca *out, const nerve_mat *a, const nerve_mat *b, double epsilon);

/* SVCCA: each side reduced to its top singular directions explaining
 * `keep` of the variance (0.99), then CCA with epsilon 1e-10. */
int nerve_sim_svcca(nerve_cca *out, const nerve_mat *a, const nerve_mat *b, double keep);

/* PWCCA: CCA coefficients weighted by how much of the smaller layer each
 * canonical direction accounts for (pwcca.compute_pwcca). */
int nerve_sim_pwcca(double *value, nerve_cca *cca, const nerve_mat *a, const nerve_mat *b, double epsilon);

/* CKA with a linear kernel; debiased = 1 uses the unbiased HSIC. */
int nerve_sim_cka_linear(double *value, const nerve_mat *a, const nerve_mat *b, int debiased);

/* CKA with RBF kernels exp(-|x - y|^2 / (2 s^2)), s^2 = fraction^2 times the
 * median squared distance (Kornblith et al.'s gram_rbf; fraction 1 there).
 * Builds N x N Gram matrices: memory grows as N^2. */
int nerve_sim_cka_rbf(double *value, const nerve_mat *a, const nerve_mat *b, double fraction);

/* Orthogonal Procrustes between the centred, unit-norm representations:
 * distance sqrt(2 - 2 |A^T B|_*) and angular distance arccos(|A^T B|_*). */
int nerve_sim_procrustes(double *distance, double *angular, const nerve_mat *a, const nerve_mat *b);

/* ------------------------------------------------------------------------ */
/* Layer x layer matrices                                                   */
/* ------------------------------------------------------------------------ */

/* The measures a matrix is made of. Append-only. RBF CKA is left out: its
 * N x N Grams per layer do not scale to whole studies. */
typedef enum nerve_sim_metric {
    NERVE_SIM_CKA = 0, NERVE_SIM_CKA_DEBIASED, NERVE_SIM_CCA, NERVE_SIM_SVCCA, NERVE_SIM_PWCCA,
    NERVE_SIM_PROCRUSTES,
} nerve_sim_metric;
enum { NERVE_SIM_METRIC_COUNT = NERVE_SIM_PROCRUSTES + 1 };

const char *nerve_sim_metric_name(nerve_sim_metric m);
int         nerve_sim_metric_parse(const char *s, nerve_sim_metric *m);   /* -1 if unknown */

typedef struct nerve_sim_options {
    double keep;        /* SVCCA's share of variance (0.99) */
    double epsilon;     /* CCA/PWCCA ridge (0) */
} nerve_sim_options;

/* out[k] (count x count) = metrics[k] between every pair of layers over
 * the same inputs, symmetric but for PWCCA, whose entry [i][j] weights by
 * layer i when both have as many neurons. Each layer is centred once, and
 * each metric's per-layer part computed once, not once per pair. bar (may
 * be NULL) advances by one per pair computed. */
int nerve_sim_matrices(double *const *out, const nerve_mat *layers, int count, const nerve_sim_metric *metrics,
                       int n_metrics, const nerve_sim_options *o, nerve_progress *bar);
/* The block of the same: layers [0, rows) against layers [rows, count),
 * out[k] rows x (count - rows); only those pairs are computed. */
int nerve_sim_cross_matrices(double *const *out, const nerve_mat *layers, int rows, int count,
                             const nerve_sim_metric *metrics, int n_metrics, const nerve_sim_options *o,
                             nerve_progress *bar);

#endif /* NERVE_SIM_H */
