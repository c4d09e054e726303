/*
 * linalg.c — the dense double-precision steps several rooms share (the
 * similarity measures, PCA), through OpenBLAS and LAPACKE.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/linalg.h"

/* These products run outside any OpenMP region, so BLAS may use nerve's
 * threads itself here (elsewhere it runs single-threaded inside nerve's
 * own parallel loops; see core/threads.c). */
static void blas_threads(int on)
{
    openblas_set_num_threads(on ? nerve_threads() : 1);
}

double nerve_linalg_frobenius_sq(const double *a, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return s;
}

void nerve_linalg_gram(double *c, const double *a, const double *b, int64_t n, int64_t p, int64_t q)
{
    blas_threads(1);
    if (a == b && p == q) {
        /* A^T A: half the work with dsyrk, then mirror the upper triangle. */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)p, (int)n, 1.0, a, (int)p, 0.0, c, (int)p);
        for (int64_t i = 0; i < p; i++)
            for (int64_t j = 0; j < i; j++)
                c[i * p + j] = c[j * p + i];
    } else {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p, (int)q, (int)n, 1.0, a, (int)p, b, (int)q,
                    0.0, c, (int)q);
    }
    blas_threads(0);
}

void nerve_linalg_gram_rows(double *c, const double *a, int64_t n, int64_t d)
{
    blas_threads(1);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0, a, (int)d, 0.0, c, (int)n);
    blas_threads(0);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++)
            c[i * n + j] = c[j * n + i];
}

void nerve_linalg_gram_add(double *c, const double *a, const double *b, int64_t n, int64_t p, int64_t q)
{
    blas_threads(1);
    if (a == b && p == q) {
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)p, (int)n, 1.0, a, (int)p, 1.0, c, (int)p);
    } else {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p, (int)q, (int)n, 1.0, a, (int)p, b, (int)q,
                    1.0, c, (int)q);
    }
    blas_threads(0);
}

void nerve_linalg_matmul(double *c, const double *a, const double *b, int64_t m, int64_t k, int64_t n)
{
    blas_threads(1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0, a, (int)k, b, (int)n, 0.0,
                c, (int)n);
    blas_threads(0);
}

int nerve_linalg_eigh(double *w, double *v, int64_t n)
{
    if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, v, (lapack_int)n, w) != 0)
        return nerve_error_set(NERVE_EINPUT, "an eigen-decomposition did not converge");
    return 0;
}

/* s = V diag(f) V^T, f = 1/sqrt(w) above numpy pinv's cutoff, else 0. */
static void inverse_sqrt_from_eigen(double *s, double *w, const double *v, double *vf, int64_t n)
{
    double top = 0;
    for (int64_t i = 0; i < n; i++)
        top = fmax(top, fabs(w[i]));
    for (int64_t i = 0; i < n; i++)
        w[i] = fabs(w[i]) > 1e-15 * top && w[i] > 0 ? 1 / sqrt(w[i]) : 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            vf[i * n + j] = v[i * n + j] * w[j];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0, vf, (int)n, v, (int)n,
                0.0, s, (int)n);
}

int nerve_linalg_inverse_sqrt(double *s, int64_t n)
{
    double *w = nerve_alloc_array((size_t)n, sizeof *w, "eigenvalues");
    double *v = nerve_alloc_array((size_t)(n * n), sizeof *v, "eigenvectors");
    double *vf = nerve_alloc_array((size_t)(n * n), sizeof *vf, "scaled eigenvectors");
    int rc = w && v && vf ? 0 : NERVE_ENOMEM;
    if (rc == 0) {
        memcpy(v, s, (size_t)(n * n) * sizeof *v);
        rc = nerve_linalg_eigh(w, v, n);
    }
    if (rc == 0)
        inverse_sqrt_from_eigen(s, w, v, vf, n);
    free(w);
    free(v);
    free(vf);
    return rc;
}

int nerve_linalg_svd(double *s, double *u, double *a, int64_t m, int64_t n)
{
    int64_t k = m < n ? m : n;
    double *vt = u ? nerve_alloc_array((size_t)(k * n), sizeof *vt, "right singular vectors") : NULL;
    if (u && !vt)
        return NERVE_ENOMEM;
    blas_threads(1);
    lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, u ? 'S' : 'N', (lapack_int)m, (lapack_int)n, a,
                                     (lapack_int)n, s, u, (lapack_int)k, vt, (lapack_int)n);
    blas_threads(0);
    free(vt);
    if (info != 0)
        return nerve_error_set(NERVE_EINPUT, "a singular value decomposition did not converge");
    return 0;
}
