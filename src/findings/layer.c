/*
 * layer.c — per-layer figures: dead and constant units, the PCA effective
 * dimension, the TwoNN intrinsic dimension (Facco et al. 2017, with the
 * 10% discard of Ansuini et al. 2019's code) and the k-NN accuracy.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/findings.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/linalg.h"

void nerve_findings_units(int64_t *dead, int64_t *constant, const nerve_mat *x)
{
    int64_t n = x->rows, d = x->cols;
    double scale = 0;
    for (int64_t i = 0; i < n * d; i++)
        scale = fmax(scale, fabs(x->data[i]));
    double tiny = 1e-7 * scale;
    *dead = *constant = 0;
    for (int64_t j = 0; j < d && n > 0; j++) {
        float first = x->data[j];
        int zero = 1, same = 1;
        for (int64_t i = 0; i < n && (zero || same); i++) {
            float v = x->data[i * d + j];
            zero &= fabs(v) <= tiny;
            same &= v == first;
        }
        *dead += zero;
        *constant += same && !zero;
    }
}

/* Rows used for the covariance's spectrum when both sides are wide: the
 * d x d (or N x N) eigen-decomposition would cost minutes. */
enum { SPECTRUM_MAX_SIDE = 2048 };

/* Replaces *a (n x d) by its transpose. */
static int transpose(double **a, int64_t n, int64_t d)
{
    double *t = nerve_alloc_array((size_t)(n * d), sizeof *t, "a transposed layer");
    if (!t)
        return NERVE_ENOMEM;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            t[j * n + i] = (*a)[i * d + j];
    free(*a);
    *a = t;
    return 0;
}

int nerve_findings_pca_dims(int64_t *pca90, double *participation, const nerve_mat *x)
{
    *pca90 = 0;
    *participation = NAN;
    nerve_mat head = *x;
    if (x->cols > SPECTRUM_MAX_SIDE && x->rows > SPECTRUM_MAX_SIDE)
        head.rows = SPECTRUM_MAX_SIDE;   /* the first rows: a sample of the spectrum */
    int64_t n = head.rows, d = head.cols, side = n < d ? n : d;
    if (n < 2 || d < 1)
        return 0;
    double *c = nerve_mat_centered(&head, NULL);
    double *g = nerve_alloc_array((size_t)(side * side), sizeof *g, "covariance");
    double *w = nerve_alloc_array((size_t)side, sizeof *w, "covariance eigenvalues");
    int rc = c && g && w ? 0 : nerve_error_set(NERVE_ENOMEM, "out of memory for a layer's spectrum");
    if (rc == 0) {
        if (d > n)   /* X X^T has the same nonzero eigenvalues: transpose, then X^T X */
            rc = transpose(&c, n, d);
        if (rc == 0) {
            nerve_linalg_gram(g, c, c, d > n ? d : n, side, side);
            rc = nerve_linalg_eigh(w, g, side);
        }
    }
    if (rc == 0) {
        double sum = 0, sq = 0, acc = 0;
        for (int64_t j = 0; j < side; j++) {
            double l = fmax(w[j], 0);
            sum += l;
            sq += l * l;
        }
        for (int64_t j = side - 1; j >= 0 && sum > 0; j--) {   /* eigenvalues increase */
            acc += fmax(w[j], 0);
            ++*pca90;
            if (acc >= 0.9 * sum)
                break;
        }
        *participation = sq > 0 ? sum * sum / sq : NAN;
    }
    free(c);
    free(g);
    free(w);
    return rc;
}

/* The TwoNN slope from the ratios mu (n of them, sorted here). */
static double twonn_fit(double *mu, int64_t n, double discard)
{
    qsort(mu, (size_t)n, sizeof *mu, nerve_compare_doubles);
    int64_t keep = (int64_t)floor((double)n * (1 - discard));
    if (keep < 3)
        return NAN;
    double xy = 0, xx = 0;
    for (int64_t i = 0; i < keep; i++) {
        double x = log(mu[i]);
        double y = -log(1 - (double)(i + 1) / (double)n);
        xy += x * y;
        xx += x * x;
    }
    return xx > 0 ? xy / xx : NAN;
}

/* mu = r2 / r1 of the rows with 0 < r1 < r2 (duplicates and ties left
 * out, as Ansuini et al.'s code does), into mu; their count. */
static int64_t ratios(double *mu, const double *r1, const double *r2, int64_t n)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (r1[i] > 0 && r2[i] > r1[i])
            mu[m++] = r2[i] / r1[i];
    return m;
}

static double twonn_from(double *r, int64_t n, double discard)
{
    double *mu = malloc((size_t)(n > 0 ? n : 1) * sizeof *mu);
    if (!mu)
        return NAN;
    double d = twonn_fit(mu, ratios(mu, r, r + n, n), discard);
    free(mu);
    return d;
}

double nerve_findings_twonn(const nerve_knn *nn, double discard)
{
    if (nn->k < 2)
        return NAN;
    double *r = malloc((size_t)(2 * nn->n + 1) * sizeof *r);
    if (!r)
        return NAN;
    for (int64_t i = 0; i < nn->n; i++) {
        r[i] = nn->dist[i * nn->k];
        r[nn->n + i] = nn->dist[i * nn->k + 1];
    }
    double d = twonn_from(r, nn->n, discard);
    free(r);
    return d;
}

double nerve_findings_twonn_naive(const nerve_mat *x, double discard)
{
    int64_t n = x->rows;
    double *r = malloc((size_t)(2 * n + 1) * sizeof *r);
    if (!r)
        return NAN;
    for (int64_t i = 0; i < n; i++) {
        double a = INFINITY, b = INFINITY;
        for (int64_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            double t = nerve_knn_distance(x->data + i * x->cols, x->data + j * x->cols, x->cols,
                                          NERVE_METRIC_EUCLIDEAN);
            if (t < a) {
                b = a;
                a = t;
            } else if (t < b) {
                b = t;
            }
        }
        r[i] = a;
        r[n + i] = b;
    }
    double d = twonn_from(r, n, discard);
    free(r);
    return d;
}

double nerve_findings_knn_accuracy(const nerve_knn *nn, int64_t k, const int64_t *labels, int n_classes)
{
    if (nn->n == 0 || n_classes < 1)
        return NAN;
    int64_t kk = k < nn->k ? k : nn->k, right = 0;
    int64_t *votes = calloc((size_t)n_classes, sizeof *votes);
    if (!votes)
        return NAN;
    for (int64_t i = 0; i < nn->n; i++) {
        memset(votes, 0, (size_t)n_classes * sizeof *votes);
        for (int64_t j = 0; j < kk; j++)
            votes[labels[nn->index[i * nn->k + j]]]++;
        int best = 0;
        for (int c = 1; c < n_classes; c++)
            if (votes[c] > votes[best])
                best = c;
        right += best == labels[i];
    }
    free(votes);
    return (double)right / (double)nn->n;
}

int nerve_findings_layer(nerve_findings_layer_figures *f, const nerve_mat *x, const nerve_knn *nn,
                         const int64_t *labels, int n_classes, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->n = x->rows;
    f->d = x->cols;
    f->knn_accuracy = f->probe_accuracy = NAN;
    nerve_findings_units(&f->dead, &f->constant, x);
    int rc = nerve_findings_pca_dims(&f->pca90, &f->participation, x);
    f->twonn = nerve_findings_twonn(nn, 0.1);
    if (rc < 0 || !labels || n_classes < 2)
        return rc;
    f->knn_accuracy = nerve_findings_knn_accuracy(nn, nn->k, labels, n_classes);
    nerve_probe_options o;
    nerve_probe_defaults(&o);
    o.seed = seed;
    return nerve_findings_probe(&f->probe_accuracy, x, labels, n_classes, &o);
}
