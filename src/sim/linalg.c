/*
 * linalg.c — the dense steps the similarity measures share, in double
 * precision through OpenBLAS and LAPACKE.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "sim_internal.h"

/* The first non-finite value of m, as an element index, or -1. */
static int64_t first_non_finite(const nerve_mat *m)
{
    int64_t n = m->rows * m->cols, bad = 0;
    #pragma omp parallel for reduction(+:bad) schedule(static)
    for (int64_t i = 0; i < n; i++)
        bad += !isfinite(m->data[i]);
    for (int64_t i = 0; bad && i < n; i++)   /* rare: find the first plainly */
        if (!isfinite(m->data[i]))
            return i;
    return -1;
}

int sim_check_pair(const nerve_mat *a, const nerve_mat *b, const char *metric)
{
    if (a->rows != b->rows)
        return nerve_error_set(NERVE_EINPUT, "%s: the two layers hold %lld and %lld inputs; they must "
                               "describe the same inputs", metric, (long long)a->rows, (long long)b->rows);
    if (a->rows < 3 || a->cols < 1 || b->cols < 1)
        return nerve_error_set(NERVE_EINPUT, "%s: needs at least 3 inputs and 1 dimension a side", metric);
    const nerve_mat *m[2] = { a, b };
    for (int s = 0; s < 2; s++) {
        int64_t i = first_non_finite(m[s]);
        if (i >= 0)
            return nerve_error_set(NERVE_EINPUT, "%s: layer %c has a NaN or infinite value (input %lld, "
                                   "column %lld); nerve compares finite data only", metric, s ? 'B' : 'A',
                                   (long long)(i / m[s]->cols), (long long)(i % m[s]->cols));
    }
    return 0;
}

/* The sim room's products run outside any OpenMP region, so BLAS may use
 * nerve's threads itself here (elsewhere it runs single-threaded inside
 * nerve's own parallel loops; see core/threads.c). */
static void blas_threads(int on)
{
    openblas_set_num_threads(on ? nerve_threads() : 1);
}

double sim_frobenius_sq(const double *a, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return s;
}

void sim_gram(double *c, const double *a, const double *b, int64_t n, int64_t p, int64_t q)
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

int sim_eigh(double *w, double *v, int64_t n)
{
    if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, v, (lapack_int)n, w) != 0)
        return nerve_error_set(NERVE_EINPUT, "an eigen-decomposition did not converge");
    return 0;
}

int sim_inverse_sqrt(double *s, int64_t n)
{
    double *w = malloc((size_t)n * sizeof *w), *v = malloc((size_t)(n * n) * sizeof *v);
    if (!w || !v) {
        free(w);
        free(v);
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    memcpy(v, s, (size_t)(n * n) * sizeof *v);
    if (sim_eigh(w, v, n) < 0) {
        free(w);
        free(v);
        return -1;
    }
    double top = 0;
    for (int64_t i = 0; i < n; i++)
        top = fmax(top, fabs(w[i]));
    /* s^(+1/2) = V diag(f) V^T with f = 1/sqrt(w) above numpy pinv's cutoff. */
    for (int64_t i = 0; i < n; i++)
        w[i] = fabs(w[i]) > 1e-15 * top && w[i] > 0 ? 1 / sqrt(w[i]) : 0;
    double *vf = malloc((size_t)(n * n) * sizeof *vf);
    if (!vf) {
        free(w);
        free(v);
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            vf[i * n + j] = v[i * n + j] * w[j];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0, vf, (int)n, v, (int)n,
                0.0, s, (int)n);
    free(vf);
    free(w);
    free(v);
    return 0;
}

int sim_svd(double *s, double *u, double *a, int64_t m, int64_t n)
{
    int64_t k = m < n ? m : n;
    double *vt = u ? malloc((size_t)(k * n) * sizeof *vt) : NULL;
    if (u && !vt)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    blas_threads(1);
    lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, u ? 'S' : 'N', (lapack_int)m, (lapack_int)n, a,
                                     (lapack_int)n, s, u, (lapack_int)k, vt, (lapack_int)n);
    blas_threads(0);
    free(vt);
    if (info != 0)
        return nerve_error_set(NERVE_EINPUT, "a singular value decomposition did not converge");
    return 0;
}
