/*
 * sim_internal.h — what the sim room's files share: double-precision
 * copies of the inputs and a few dense linear-algebra steps.
 */
#ifndef NERVE_SIM_INTERNAL_H
#define NERVE_SIM_INTERNAL_H

#include "nerve/sim.h"

/* Checks that a and b describe the same N >= 2 inputs with finite values. */
int sim_check_pair(const nerve_mat *a, const nerve_mat *b, const char *metric);

/* A malloc'd double copy of m (N x d) with each column's mean removed;
 * means (may be NULL) receives the d means. */
double *sim_centered(const nerve_mat *m, double *means);

/* C (p x q) = A^T B for A (n x p), B (n x q), all row-major double. */
void sim_gram(double *c, const double *a, const double *b, int64_t n, int64_t p, int64_t q);

/* Replaces the symmetric n x n matrix s by the square root of its
 * pseudo-inverse (numpy's pinv cutoff: 1e-15 of the largest eigenvalue). */
int sim_inverse_sqrt(double *s, int64_t n);

/* Singular values of the m x n row-major matrix a (destroyed) into s
 * (min(m, n), decreasing); u (m x min(m, n)) if not NULL. */
int sim_svd(double *s, double *u, double *a, int64_t m, int64_t n);

#endif
