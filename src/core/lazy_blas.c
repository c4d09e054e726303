/*
 * lazy_blas.c — OpenBLAS and LAPACKE, loaded by the first call into them
 * (nerve/internal/library.h): the functions nerve uses, forwarded.
 *
 * OpenBLAS starts single-threaded: nerve parallelises with OpenMP at the
 * outer level and calls BLAS inside, where OpenBLAS's own thread pool
 * would fight OpenMP's for the same cores and split work differently at
 * different thread counts. linalg.c turns it on around the big
 * decompositions that run alone.
 */
#include <cblas.h>
#include <lapacke.h>
#include <pthread.h>

#include "nerve/core.h"
#include "nerve/internal/library.h"

#define OPENBLAS "libopenblas.so.0"
#define LAPACKE  "liblapacke.so.3"

static struct {
    __typeof__(cblas_sgemm) *cblas_sgemm;
    __typeof__(cblas_dgemm) *cblas_dgemm;
    __typeof__(cblas_dsyrk) *cblas_dsyrk;
    __typeof__(cblas_dtrsm) *cblas_dtrsm;
    __typeof__(openblas_set_num_threads) *openblas_set_num_threads;
} blas;

static struct {
    __typeof__(LAPACKE_dgeqrf) *LAPACKE_dgeqrf;
    __typeof__(LAPACKE_dgesdd) *LAPACKE_dgesdd;
    __typeof__(LAPACKE_dorgqr) *LAPACKE_dorgqr;
    __typeof__(LAPACKE_dpotrf) *LAPACKE_dpotrf;
    __typeof__(LAPACKE_dsyevd) *LAPACKE_dsyevd;
} lapacke;

static nerve_library openblas_lib = { .soname = OPENBLAS }, lapacke_lib = { .soname = LAPACKE };
static pthread_once_t blas_once = PTHREAD_ONCE_INIT, lapacke_once = PTHREAD_ONCE_INIT;

static void load_blas(void)
{
    NERVE_LIBRARY_FIND(&openblas_lib, blas, cblas_sgemm);
    NERVE_LIBRARY_FIND(&openblas_lib, blas, cblas_dgemm);
    NERVE_LIBRARY_FIND(&openblas_lib, blas, cblas_dsyrk);
    NERVE_LIBRARY_FIND(&openblas_lib, blas, cblas_dtrsm);
    NERVE_LIBRARY_FIND(&openblas_lib, blas, openblas_set_num_threads);
    if (openblas_lib.rc == 0)
        blas.openblas_set_num_threads(1);
}

static void load_lapacke(void)
{
    NERVE_LIBRARY_FIND(&lapacke_lib, lapacke, LAPACKE_dgeqrf);
    NERVE_LIBRARY_FIND(&lapacke_lib, lapacke, LAPACKE_dgesdd);
    NERVE_LIBRARY_FIND(&lapacke_lib, lapacke, LAPACKE_dorgqr);
    NERVE_LIBRARY_FIND(&lapacke_lib, lapacke, LAPACKE_dpotrf);
    NERVE_LIBRARY_FIND(&lapacke_lib, lapacke, LAPACKE_dsyevd);
}

static int openblas_require(void)
{
    return nerve_library_load(&openblas_lib, &blas_once, load_blas);
}

/* LAPACK runs on OpenBLAS, which must be set single-threaded first. */
static int lapacke_require(void)
{
    int rc = openblas_require();
    return rc < 0 ? rc : nerve_library_load(&lapacke_lib, &lapacke_once, load_lapacke);
}

int nerve_blas_require(void)
{
    return lapacke_require();
}

#define BLAS   (NERVE_LIBRARY_USE(openblas_require, &openblas_lib), blas)
#define LAPACK (NERVE_LIBRARY_USE(lapacke_require, openblas_lib.rc < 0 ? &openblas_lib : &lapacke_lib), lapacke)

void cblas_sgemm(CBLAS_LAYOUT layout, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, const blasint m, const blasint n,
                 const blasint k, const float alpha, const float *a, const blasint lda, const float *b,
                 const blasint ldb, const float beta, float *c, const blasint ldc)
{
    BLAS.cblas_sgemm(layout, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cblas_dgemm(CBLAS_LAYOUT layout, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, const blasint m, const blasint n,
                 const blasint k, const double alpha, const double *a, const blasint lda, const double *b,
                 const blasint ldb, const double beta, double *c, const blasint ldc)
{
    BLAS.cblas_dgemm(layout, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cblas_dsyrk(CBLAS_LAYOUT layout, CBLAS_UPLO uplo, CBLAS_TRANSPOSE trans, const blasint n, const blasint k,
                 const double alpha, const double *a, const blasint lda, const double beta, double *c,
                 const blasint ldc)
{
    BLAS.cblas_dsyrk(layout, uplo, trans, n, k, alpha, a, lda, beta, c, ldc);
}

void cblas_dtrsm(CBLAS_LAYOUT layout, CBLAS_SIDE side, CBLAS_UPLO uplo, CBLAS_TRANSPOSE ta, CBLAS_DIAG diag,
                 const blasint m, const blasint n, const double alpha, const double *a, const blasint lda,
                 double *b, const blasint ldb)
{
    BLAS.cblas_dtrsm(layout, side, uplo, ta, diag, m, n, alpha, a, lda, b, ldb);
}

void openblas_set_num_threads(int n)
{
    BLAS.openblas_set_num_threads(n);
}

lapack_int LAPACKE_dgeqrf(int layout, lapack_int m, lapack_int n, double *a, lapack_int lda, double *tau)
{
    return LAPACK.LAPACKE_dgeqrf(layout, m, n, a, lda, tau);
}

lapack_int LAPACKE_dgesdd(int layout, char jobz, lapack_int m, lapack_int n, double *a, lapack_int lda, double *s,
                          double *u, lapack_int ldu, double *vt, lapack_int ldvt)
{
    return LAPACK.LAPACKE_dgesdd(layout, jobz, m, n, a, lda, s, u, ldu, vt, ldvt);
}

lapack_int LAPACKE_dorgqr(int layout, lapack_int m, lapack_int n, lapack_int k, double *a, lapack_int lda,
                          const double *tau)
{
    return LAPACK.LAPACKE_dorgqr(layout, m, n, k, a, lda, tau);
}

lapack_int LAPACKE_dpotrf(int layout, char uplo, lapack_int n, double *a, lapack_int lda)
{
    return LAPACK.LAPACKE_dpotrf(layout, uplo, n, a, lda);
}

lapack_int LAPACKE_dsyevd(int layout, char jobz, char uplo, lapack_int n, double *a, lapack_int lda, double *w)
{
    return LAPACK.LAPACKE_dsyevd(layout, jobz, uplo, n, a, lda, w);
}
