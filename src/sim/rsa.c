/*
 * rsa.c — representational similarity analysis (Kriegeskorte et al. 2008):
 * each layer's representational dissimilarity matrix (RDM) over the
 * inputs, 1 - Pearson correlation of two inputs' activation patterns (the
 * usual RSA distance), and the Spearman correlation of the two RDMs' upper
 * triangles. Ranks are computed once per layer; a pair is then a dot
 * product.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "nerve/sim.h"
#include "nerve/internal/alloc.h"
#include "sim_internal.h"

/* Each row of m (n x d) centred and scaled to unit norm, so that z z^T is
 * the matrix of Pearson correlations; a constant row stays zero
 * (correlation 0 with every other input). */
static double *standardised_rows(const nerve_mat *m)
{
    int64_t n = m->rows, d = m->cols;
    double *z = nerve_alloc_array((size_t)n, (size_t)d * sizeof *z, "RSA standardised rows");
    if (!z)
        return NULL;
    #pragma omp parallel for schedule(static) if (n * d > SIM_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        const float *x = m->data + i * d;
        double *r = z + i * d, mean = 0, norm = 0;
        for (int64_t j = 0; j < d; j++)
            mean += x[j];
        mean /= (double)d;
        for (int64_t j = 0; j < d; j++) {
            r[j] = x[j] - mean;
            norm += r[j] * r[j];
        }
        norm = norm > 0 ? 1 / sqrt(norm) : 0;
        for (int64_t j = 0; j < d; j++)
            r[j] *= norm;
    }
    return z;
}

typedef struct ranked {
    double  value;
    int64_t at;
} ranked;

static int by_value(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    return a->value < b->value ? -1 : a->value > b->value ? 1 : (a->at > b->at) - (a->at < b->at);
}

/* v[0 .. m) replaced by its ranks 1 .. m, equal values sharing the mean of
 * their ranks (scipy.stats.rankdata's 'average'). */
static int average_ranks(double *v, int64_t m)
{
    ranked *r = nerve_alloc_array((size_t)m, sizeof *r, "RSA ranks");
    if (!r)
        return NERVE_ENOMEM;
    for (int64_t i = 0; i < m; i++)
        r[i] = (ranked){ v[i], i };
    qsort(r, (size_t)m, sizeof *r, by_value);
    for (int64_t i = 0, j; i < m; i = j) {
        for (j = i + 1; j < m && r[j].value == r[i].value; j++)
            ;
        double rank = 0.5 * (double)(i + 1 + j);   /* mean of i + 1 .. j */
        for (int64_t t = i; t < j; t++)
            v[r[t].at] = rank;
    }
    free(r);
    return 0;
}

int sim_rsa_side(double **side, const nerve_mat *m, const char *metric)
{
    *side = NULL;
    int64_t n = m->rows, pairs = n * (n - 1) / 2;
    double *z = standardised_rows(m), *corr = NULL, *out = NULL;
    if (z)
        corr = nerve_alloc_array((size_t)n, (size_t)n * sizeof *corr, "RSA correlation matrix");
    if (corr)
        out = nerve_alloc_array((size_t)pairs, sizeof *out, "RSA dissimilarities");
    if (out) {
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)m->cols, 1.0, z, (int)m->cols, 0.0, corr,
                    (int)n);
        int64_t t = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++)
                out[t++] = 1 - corr[i * n + j];
    }
    free(z);
    free(corr);
    if (!out || average_ranks(out, pairs) < 0) {
        free(out);
        return NERVE_ENOMEM;
    }
    double mean = 0, norm = 0;
    for (int64_t t = 0; t < pairs; t++)
        mean += out[t];
    mean /= (double)pairs;
    for (int64_t t = 0; t < pairs; t++) {
        out[t] -= mean;
        norm += out[t] * out[t];
    }
    if (!(norm > 0)) {
        free(out);
        return nerve_error_set(NERVE_EINPUT, "%s: every pair of inputs is equally dissimilar in a layer; "
                               "their ranks carry no order to correlate", metric);
    }
    norm = 1 / sqrt(norm);
    for (int64_t t = 0; t < pairs; t++)
        out[t] *= norm;
    *side = out;
    return 0;
}

double sim_rsa_pair(const double *a, const double *b, int64_t n)
{
    int64_t pairs = n * (n - 1) / 2;
    double dot = 0;
    #pragma omp parallel for reduction(+:dot) schedule(static) if (pairs > SIM_PARALLEL_MIN)
    for (int64_t t = 0; t < pairs; t++)
        dot += a[t] * b[t];
    return dot;
}

int nerve_sim_rsa(double *value, const nerve_mat *a, const nerve_mat *b)
{
    int rc = sim_check_pair(a, b, "rsa");
    if (rc < 0)
        return rc;
    double *ra = NULL, *rb = NULL;
    rc = sim_rsa_side(&ra, a, "rsa");
    if (rc == 0)
        rc = sim_rsa_side(&rb, b, "rsa");
    if (rc == 0)
        *value = sim_rsa_pair(ra, rb, a->rows);
    free(ra);
    free(rb);
    return rc;
}
