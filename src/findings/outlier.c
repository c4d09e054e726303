/*
 * outlier.c — per-input scores: the distance to the k-th neighbour, the
 * class-conditional Mahalanobis distance of Lee et al. (2018), robust
 * standard scores to put layers on one scale, and the label-noise score.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/findings.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/linalg.h"

void nerve_findings_knn_score(double *score, const nerve_knn *nn, int64_t k)
{
    int64_t j = (k < nn->k ? k : nn->k) - 1;
    for (int64_t i = 0; i < nn->n; i++)
        score[i] = nn->dist[i * nn->k + j];
}

/* x (or its first max_dims principal components when wider) as centred
 * doubles, n x *dims; NULL after setting the error. */
static double *reduced(const nerve_mat *x, int64_t max_dims, int64_t *dims)
{
    if (x->cols <= max_dims) {
        *dims = x->cols;
        double *c = nerve_mat_centered(x, NULL);
        if (!c)
            nerve_error_set(NERVE_ENOMEM, "out of memory for a layer's centred copy");
        return c;
    }
    /* n centred points span at most n - 1 directions (a study of a few
     * photos through a wide conv layer) */
    int64_t k = max_dims < x->rows - 1 ? max_dims : x->rows - 1;
    k = k > 1 ? k : 1;
    nerve_pca p = { 0 };
    if (nerve_pca_fit(&p, x, k) < 0)
        return NULL;
    double *c = nerve_alloc_array((size_t)(x->rows * k), sizeof *c, "PCA scores");
    for (int64_t i = 0; c && i < x->rows * k; i++)
        c[i] = p.scores.data[i];
    *dims = k;
    nerve_pca_free(&p);
    return c;
}

/* Class means (n_classes x d) and the residual of every row from its
 * class mean, in place; the count of each class into count. */
static void class_means(double *mu, int64_t *count, double *z, const int64_t *labels, int64_t n, int64_t d,
                        int n_classes)
{
    memset(mu, 0, (size_t)(n_classes * d) * sizeof *mu);
    memset(count, 0, (size_t)n_classes * sizeof *count);
    for (int64_t i = 0; i < n; i++) {
        count[labels[i]]++;
        for (int64_t j = 0; j < d; j++)
            mu[labels[i] * d + j] += z[i * d + j];
    }
    for (int c = 0; c < n_classes; c++)
        for (int64_t j = 0; j < d && count[c] > 0; j++)
            mu[c * d + j] /= (double)count[c];
}

/* The whitening of the shared covariance (residuals r, n x d): w gets the
 * d x d matrix V diag(1 / sqrt(lambda + ridge mean(lambda))). */
static int whitening(double *w, const double *r, int64_t n, int64_t d, double ridge)
{
    double *lambda = nerve_alloc_array((size_t)d, sizeof *lambda, "covariance eigenvalues");
    if (!lambda)
        return NERVE_ENOMEM;
    nerve_linalg_gram(w, r, r, n, d, d);
    for (int64_t j = 0; j < d * d; j++)
        w[j] /= (double)n;
    int rc = nerve_linalg_eigh(lambda, w, d);
    if (rc == 0) {
        double mean = 0;
        for (int64_t j = 0; j < d; j++)
            mean += fmax(lambda[j], 0) / (double)d;
        double floor = ridge * mean > 0 ? ridge * mean : 1e-12;
        for (int64_t c = 0; c < d; c++) {
            double s = 1 / sqrt(fmax(lambda[c], 0) + floor);
            for (int64_t j = 0; j < d; j++)
                w[j * d + c] *= s;
        }
    }
    free(lambda);
    return rc;
}

int nerve_findings_mahalanobis(double *score, const nerve_mat *x, const int64_t *labels, int n_classes,
                               int64_t max_dims, double ridge)
{
    int64_t n = x->rows, d = 0;
    if (n < 2 || n_classes < 1)
        return nerve_error_set(NERVE_EINPUT, "Mahalanobis score: %lld rows, %d classes", (long long)n, n_classes);
    double *z = reduced(x, max_dims, &d);
    if (!z)
        return NERVE_ENOMEM;
    double *mu = nerve_alloc_array((size_t)(n_classes * d), sizeof *mu, "class means");
    int64_t *count = nerve_alloc_array((size_t)n_classes, sizeof *count, "class counts");
    double *r = nerve_alloc_array((size_t)(n * d), sizeof *r, "residuals");
    double *w = nerve_alloc_array((size_t)(d * d), sizeof *w, "whitening");
    double *zw = nerve_alloc_array((size_t)(n * d), sizeof *zw, "whitened rows");
    double *mw = nerve_alloc_array((size_t)(n_classes * d), sizeof *mw, "whitened means");
    int rc = mu && count && r && w && zw && mw ? 0 : NERVE_ENOMEM;
    if (rc == 0) {
        class_means(mu, count, z, labels, n, d, n_classes);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < d; j++)
                r[i * d + j] = z[i * d + j] - mu[labels[i] * d + j];
        rc = whitening(w, r, n, d, ridge);
    }
    if (rc == 0) {
        nerve_linalg_matmul(zw, z, w, n, d, d);
        nerve_linalg_matmul(mw, mu, w, n_classes, d, d);
        #pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            double best = INFINITY;
            for (int c = 0; c < n_classes; c++) {
                if (count[c] == 0)
                    continue;
                double s = 0;
                for (int64_t j = 0; j < d; j++) {
                    double t = zw[i * d + j] - mw[c * d + j];
                    s += t * t;
                }
                best = fmin(best, s);
            }
            score[i] = best;
        }
    }
    free(z);
    free(mu);
    free(count);
    free(r);
    free(w);
    free(zw);
    free(mw);
    return rc;
}

/* The q-quantile of sorted values (linear interpolation, numpy's default). */
static double quantile(const double *sorted, int64_t n, double q)
{
    double at = q * (double)(n - 1);
    int64_t lo = (int64_t)floor(at);
    int64_t hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (at - (double)lo) * (sorted[hi] - sorted[lo]);
}

int nerve_findings_robust_z(double *s, int64_t n)
{
    if (n == 0)
        return 0;
    double *sorted = nerve_alloc_array((size_t)n, sizeof *sorted, "sorted scores");
    if (!sorted)
        return NERVE_ENOMEM;
    memcpy(sorted, s, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, nerve_compare_doubles);
    double med = quantile(sorted, n, 0.5);
    double iqr = quantile(sorted, n, 0.75) - quantile(sorted, n, 0.25);
    double scale = fmax(fabs(sorted[0]), fabs(sorted[n - 1]));
    iqr = fmax(iqr, 1e-12 * (scale > 0 ? scale : 1));
    for (int64_t i = 0; i < n; i++)
        s[i] = (s[i] - med) / iqr;
    free(sorted);
    return 0;
}

int nerve_findings_combine(double *overall, const double *const *scores, int n_scores, int64_t n)
{
    double *z = nerve_alloc_array((size_t)n + 1, sizeof *z, "standard scores");
    if (!z)
        return NERVE_ENOMEM;
    memset(overall, 0, (size_t)n * sizeof *overall);
    int rc = 0;
    for (int s = 0; s < n_scores && rc == 0; s++) {
        memcpy(z, scores[s], (size_t)n * sizeof *z);
        rc = nerve_findings_robust_z(z, n);
        for (int64_t i = 0; i < n && rc == 0; i++)
            overall[i] += z[i] / n_scores;
    }
    free(z);
    return rc;
}

/* Whether row i of the layer's output already is a probability vector. */
static int is_probability(const float *row, int k)
{
    double sum = 0;
    for (int c = 0; c < k; c++) {
        if (row[c] < 0)
            return 0;
        sum += row[c];
    }
    return fabs(sum - 1) < 1e-3;
}

int nerve_findings_output_probabilities(double *p, int *found, const nerve_mat *out, const int64_t *predictions,
                                        int n_classes)
{
    *found = 0;
    int64_t n = out->rows, agree = 0, probs = 0;
    if (out->cols != n_classes || n == 0 || !predictions)
        return 0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = out->data + i * n_classes;
        int best = 0;
        for (int c = 1; c < n_classes; c++)
            if (row[c] > row[best])
                best = c;
        agree += best == predictions[i];
        probs += is_probability(row, n_classes);
    }
    if ((double)agree < 0.99 * (double)n)
        return 0;
    int already = probs == n;
    for (int64_t i = 0; i < n; i++) {
        const float *row = out->data + i * n_classes;
        double top = row[0], sum = 0;
        for (int c = 1; c < n_classes; c++)
            top = fmax(top, row[c]);
        for (int c = 0; c < n_classes; c++)
            sum += p[i * n_classes + c] = already ? row[c] : exp(row[c] - top);
        for (int c = 0; c < n_classes; c++)
            p[i * n_classes + c] /= sum;
    }
    *found = 1;
    return 0;
}

int nerve_findings_label_noise(double *score, int64_t n, int n_classes, const int64_t *labels,
                               const double *probs, const int64_t *predictions, const float *confidence,
                               const nerve_knn *const *nns, int n_nns)
{
    if (n_classes < 2)
        return nerve_error_set(NERVE_EINPUT, "label noise: %d classes (2 or more needed)", n_classes);
    if (!probs && (!predictions || !confidence))
        return nerve_error_set(NERVE_EINPUT, "label noise: neither the model's probabilities nor its predictions");
    for (int64_t i = 0; i < n; i++) {
        int64_t y = labels[i];
        double pm;
        if (probs)
            pm = probs[i * n_classes + y];
        else if (predictions[i] == y)
            pm = confidence[i];
        else
            pm = (1 - confidence[i]) / (n_classes - 1);
        double s = -log(fmax(pm, 1e-12));
        for (int l = 0; l < n_nns; l++) {
            const nerve_knn *nn = nns[l];
            int64_t same = 0;
            for (int64_t j = 0; j < nn->k; j++)
                same += labels[nn->index[i * nn->k + j]] == y;
            s -= log((double)(same + 1) / (double)(nn->k + n_classes)) / n_nns;
        }
        score[i] = s;
    }
    return 0;
}
