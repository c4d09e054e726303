/*
 * nerve/internal/linalg.h — the dense double-precision steps several rooms
 * share (Gram matrices, symmetric eigen-decomposition, SVD, inverse square
 * roots), through OpenBLAS and LAPACKE; core implements them (linalg.c).
 *
 * Not part of the public API. All matrices are row-major double.
 */
#ifndef NERVE_INTERNAL_LINALG_H
#define NERVE_INTERNAL_LINALG_H

#include <stdint.h>

/* The sum of squares of n values (a squared Frobenius norm). */
double nerve_linalg_frobenius_sq(const double *a, int64_t n);

/* C (p x q) = A^T B for A (n x p), B (n x q); A^T A by half the work when
 * b is a and q is p. */
void nerve_linalg_gram(double *c, const double *a, const double *b, int64_t n, int64_t p, int64_t q);

/* C (n x n) = A A^T for A (n x d): the Gram of the rows, which is the
 * smaller one when there are fewer rows than columns. */
void nerve_linalg_gram_rows(double *c, const double *a, int64_t n, int64_t d);

/* C (p x q) += A^T B: Grams accumulated over blocks of rows. When b is a
 * and q is p, only C's upper triangle is accumulated (mirror it once at
 * the end). */
void nerve_linalg_gram_add(double *c, const double *a, const double *b, int64_t n, int64_t p, int64_t q);

/* C (m x n) = A B for A (m x k), B (k x n), on nerve's threads. */
void nerve_linalg_matmul(double *c, const double *a, const double *b, int64_t m, int64_t k, int64_t n);

/* The eigenvalues of the symmetric n x n matrix v (its upper triangle is
 * read) into w, increasing; v is replaced by the eigenvectors, as its
 * columns. NERVE_EINPUT if LAPACK does not converge. */
int nerve_linalg_eigh(double *w, double *v, int64_t n);

/* Replaces the symmetric n x n matrix s by the square root of its
 * pseudo-inverse (numpy's pinv cutoff: 1e-15 of the largest eigenvalue). */
int nerve_linalg_inverse_sqrt(double *s, int64_t n);

/* Singular values of the m x n matrix a (destroyed) into s (min(m, n),
 * decreasing); the left singular vectors into u (m x min(m, n)) unless u
 * is NULL. */
int nerve_linalg_svd(double *s, double *u, double *a, int64_t m, int64_t n);

#endif
