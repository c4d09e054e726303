/*
 * pca.c — principal component analysis through the eigen-decomposition of
 * the d x d covariance (cheap for activations: N is large, d moderate),
 * in double precision, with scikit-learn's conventions: variances divided
 * by N - 1, and signs chosen so each score column's largest entry (in
 * magnitude) is positive (svd_flip).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "nerve/internal/linalg.h"

void nerve_pca_free(nerve_pca *p)
{
    nerve_mat_free(&p->scores);
    free(p->components);
    free(p->explained);
    free(p->explained_ratio);
    free(p->mean);
    memset(p, 0, sizeof *p);
}

/* Makes the entry of largest magnitude in each score column positive,
 * flipping the component with it (scikit-learn's svd_flip on U). */
static void flip_signs(nerve_pca *p, const double *scores)
{
    for (int64_t c = 0; c < p->k; c++) {
        double top = 0;
        for (int64_t i = 0; i < p->n; i++)
            if (fabs(scores[i * p->k + c]) > fabs(top))
                top = scores[i * p->k + c];
        double s = top < 0 ? -1 : 1;
        for (int64_t j = 0; j < p->d; j++)
            p->components[c * p->d + j] *= s;
        for (int64_t i = 0; i < p->n; i++)
            p->scores.data[i * p->k + c] = (float)(s * scores[i * p->k + c]);
    }
}

enum { PCA_BLOCK = 4096 };   /* rows converted to centred doubles at a time */

static void column_means(double *mean, const nerve_mat *m)
{
    int64_t d = m->cols;
    memset(mean, 0, (size_t)d * sizeof *mean);
    for (int64_t i = 0; i < m->rows; i++)
        for (int64_t j = 0; j < d; j++)
            mean[j] += m->data[i * d + j];
    for (int64_t j = 0; j < d; j++)
        mean[j] /= (double)m->rows;
}

/* Rows [r0, r0 + rb) of m, centred, as doubles. */
static void centred_block(double *out, const nerve_mat *m, const double *mean, int64_t r0, int64_t rb)
{
    int64_t d = m->cols;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rb; i++)
        for (int64_t j = 0; j < d; j++)
            out[i * d + j] = m->data[(r0 + i) * d + j] - mean[j];
}

/* The covariance (upper triangle), block by block: the centred data is
 * never held whole, so memory stays near the input's size. */
static void covariance(double *cov, double *block, const nerve_mat *m, const double *mean)
{
    int64_t n = m->rows, d = m->cols;
    for (int64_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        int64_t rb = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        centred_block(block, m, mean, r0, rb);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)rb, 1.0 / (double)(n - 1), block, (int)d,
                    r0 == 0 ? 0.0 : 1.0, cov, (int)d);
    }
}

static void project(double *scores, double *block, const nerve_mat *m, const double *mean,
                    const double *components, int64_t k)
{
    int64_t n = m->rows, d = m->cols;
    for (int64_t r0 = 0; r0 < n; r0 += PCA_BLOCK) {
        int64_t rb = n - r0 < PCA_BLOCK ? n - r0 : PCA_BLOCK;
        centred_block(block, m, mean, r0, rb);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rb, (int)k, (int)d, 1.0, block, (int)d,
                    components, (int)d, 0.0, scores + r0 * k, (int)k);
    }
}

/* Eigenvalues come in increasing order, eigenvectors in the columns of
 * vecs (m x m, row-major): the top k into p's explained and ratios. */
static void keep_top(nerve_pca *p, const double *w, int64_t m)
{
    double total = 0;
    for (int64_t j = 0; j < m; j++)
        total += fmax(w[j], 0);
    for (int64_t c = 0; c < p->k; c++) {
        p->explained[c] = fmax(w[m - 1 - c], 0);
        p->explained_ratio[c] = total > 0 ? p->explained[c] / total : 0;
    }
}

/* The axes from the d x d covariance: for n >= d. */
static int covariance_axes(nerve_pca *p, const nerve_mat *m)
{
    int64_t n = m->rows, d = m->cols, k = p->k;
    double *block = malloc((size_t)((n < PCA_BLOCK ? n : PCA_BLOCK) * d) * sizeof *block);
    double *cov = malloc((size_t)(d * d) * sizeof *cov), *w = malloc((size_t)d * sizeof *w);
    int rc = block && cov && w ? 0 : nerve_error_set(NERVE_ENOMEM, "pca: out of memory");
    if (rc == 0) {
        covariance(cov, block, m, p->mean);
        if (nerve_linalg_eigh(w, cov, d) < 0)
            rc = nerve_error_set(NERVE_EINPUT, "pca: the eigen-decomposition did not converge");
    }
    if (rc == 0) {
        keep_top(p, w, d);
        for (int64_t c = 0; c < k; c++)
            for (int64_t j = 0; j < d; j++)
                p->components[c * d + j] = cov[j * d + (d - 1 - c)];
    }
    free(block);
    free(cov);
    free(w);
    return rc;
}

/* axis (d) = X^T u normalised, u the column `col` of vecs (n x n). */
static void gram_axis(double *axis, const double *xc, const double *vecs, int64_t n, int64_t d, int64_t col)
{
    memset(axis, 0, (size_t)d * sizeof *axis);
    for (int64_t i = 0; i < n; i++) {
        double u = vecs[i * n + col];
        for (int64_t j = 0; j < d; j++)
            axis[j] += xc[i * d + j] * u;
    }
    double norm = 0;
    for (int64_t j = 0; j < d; j++)
        norm += axis[j] * axis[j];
    norm = sqrt(norm);
    for (int64_t j = 0; norm > 0 && j < d; j++)
        axis[j] /= norm;
}

/* The axes from the n x n Gram matrix of the centred points: for n < d
 * (a wide layer, a flattened conv map), an n x n eigenproblem instead of
 * d x d. Its eigenvalues are the covariance's; each axis is the centred
 * points' combination X^T u, normalised. */
static int gram_axes(nerve_pca *p, const nerve_mat *m)
{
    int64_t n = m->rows, d = m->cols, k = p->k;
    double *xc = malloc((size_t)(n * d) * sizeof *xc);
    double *gram = malloc((size_t)(n * n) * sizeof *gram), *w = malloc((size_t)n * sizeof *w);
    int rc = xc && gram && w ? 0 : nerve_error_set(NERVE_ENOMEM, "pca: out of memory");
    if (rc == 0) {
        centred_block(xc, m, p->mean, 0, n);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0 / (double)(n - 1), xc, (int)d, 0.0,
                    gram, (int)n);
        if (nerve_linalg_eigh(w, gram, n) < 0)
            rc = nerve_error_set(NERVE_EINPUT, "pca: the eigen-decomposition did not converge");
    }
    if (rc == 0) {
        keep_top(p, w, n);
        for (int64_t c = 0; c < k; c++)
            gram_axis(p->components + c * d, xc, gram, n, d, n - 1 - c);
    }
    free(xc);
    free(gram);
    free(w);
    return rc;
}

int nerve_pca_fit(nerve_pca *p, const nerve_mat *points, int64_t k)
{
    memset(p, 0, sizeof *p);
    int64_t n = points->rows, d = points->cols;
    if (n < 2 || k < 1 || k > d || k > n)
        return nerve_error_set(NERVE_EINPUT, "pca: %lld components asked of %lld points in %lld dimensions",
                               (long long)k, (long long)n, (long long)d);
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(points->data[i]))
            return nerve_error_set(NERVE_EINPUT, "pca: a NaN or infinite value (point %lld, column %lld)",
                                   (long long)(i / d), (long long)(i % d));
    p->n = n;
    p->d = d;
    p->k = k;
    p->mean = malloc((size_t)d * sizeof *p->mean);
    p->components = malloc((size_t)(k * d) * sizeof *p->components);
    p->explained = malloc((size_t)k * sizeof *p->explained);
    p->explained_ratio = malloc((size_t)k * sizeof *p->explained_ratio);
    double *block = malloc((size_t)((n < PCA_BLOCK ? n : PCA_BLOCK) * d) * sizeof *block);
    double *scores = malloc((size_t)(n * k) * sizeof *scores);
    int rc = p->mean && block && scores && p->components && p->explained && p->explained_ratio
             ? nerve_mat_alloc(&p->scores, n, k) : nerve_error_set(NERVE_ENOMEM, "pca: out of memory");
    if (rc == 0) {
        column_means(p->mean, points);
        rc = n < d ? gram_axes(p, points) : covariance_axes(p, points);
    }
    if (rc == 0) {
        project(scores, block, points, p->mean, p->components, k);
        flip_signs(p, scores);
    }
    free(block);
    free(scores);
    if (rc < 0)
        nerve_pca_free(p);
    return rc;
}
