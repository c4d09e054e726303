/*
 * cca.c — canonical correlation analysis as Google's cca_core.py computes
 * it, and the two measures built on it: SVCCA (Raghu et al. 2017) and
 * PWCCA (Morcos et al. 2018, pwcca.py).
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "sim_internal.h"

void nerve_cca_free(nerve_cca *c)
{
    free(c->rho);
    memset(c, 0, sizeof *c);
}

/* The rows and columns of the symmetric matrix s (n x n) listed in keep,
 * into out (m x m). */
static void crop(double *out, const double *s, int64_t n, const int64_t *rows, int64_t m,
                 const int64_t *cols, int64_t k)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < k; j++)
            out[i * k + j] = s[rows[i] * n + cols[j]];
    (void)n;
}

/* Neurons whose (scaled) variance reaches epsilon: cca_core's remove_small. */
static int64_t kept(int64_t *keep, const double *s, int64_t n, double epsilon)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (fabs(s[i * n + i]) >= epsilon)
            keep[m++] = i;
    return m;
}

static double max_abs(const double *x, int64_t n)
{
    double top = 0;
    for (int64_t i = 0; i < n; i++)
        top = fmax(top, fabs(x[i]));
    return top;
}

/* The work of get_cca_similarity on centred data x (n x dx), y (n x dy).
 * Fills out; with u (dx x dx, may be NULL) the left singular vectors and in
 * keep_x the kept neurons of x (for PWCCA). */
static int cca_centered(nerve_cca *out, const double *x, const double *y, int64_t n, int64_t dx, int64_t dy,
                        double epsilon, double **u, int64_t **keep_x)
{
    memset(out, 0, sizeof *out);
    double *sxx = malloc((size_t)(dx * dx) * sizeof *sxx), *syy = malloc((size_t)(dy * dy) * sizeof *syy);
    double *sxy = malloc((size_t)(dx * dy) * sizeof *sxy);
    int64_t *kx = malloc((size_t)dx * sizeof *kx), *ky = malloc((size_t)dy * sizeof *ky);
    double *cxx = NULL, *cyy = NULL, *cxy = NULL, *arr = NULL, *tmp = NULL;
    int rc = sxx && syy && sxy && kx && ky ? 0 : nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    if (rc == 0) {
        /* np.cov: divided by n - 1; then each block scaled as cca_core does. */
        sim_gram(sxx, x, x, n, dx, dx);
        sim_gram(syy, y, y, n, dy, dy);
        sim_gram(sxy, x, y, n, dx, dy);
        double xmax = max_abs(sxx, dx * dx) / (double)(n - 1), ymax = max_abs(syy, dy * dy) / (double)(n - 1);
        if (xmax == 0 || ymax == 0)
            rc = nerve_error_set(NERVE_EINPUT, "cca: a layer is constant over all inputs");
        for (int64_t i = 0; rc == 0 && i < dx * dx; i++)
            sxx[i] /= (double)(n - 1) * xmax;
        for (int64_t i = 0; rc == 0 && i < dy * dy; i++)
            syy[i] /= (double)(n - 1) * ymax;
        for (int64_t i = 0; rc == 0 && i < dx * dy; i++)
            sxy[i] /= (double)(n - 1) * sqrt(xmax * ymax);
    }
    int64_t mx = 0, my = 0;
    if (rc == 0) {
        mx = kept(kx, sxx, dx, epsilon);
        my = kept(ky, syy, dy, epsilon);
        if (mx == 0 || my == 0)
            rc = nerve_error_set(NERVE_EINPUT, "cca: every neuron of a layer has variance below epsilon");
    }
    if (rc == 0) {
        cxx = malloc((size_t)(mx * mx) * sizeof *cxx);
        cyy = malloc((size_t)(my * my) * sizeof *cyy);
        cxy = malloc((size_t)(mx * my) * sizeof *cxy);
        arr = malloc((size_t)(mx * my) * sizeof *arr);
        tmp = malloc((size_t)(mx * my) * sizeof *tmp);
        out->rho = malloc((size_t)(mx < my ? mx : my) * sizeof *out->rho);
        if (!cxx || !cyy || !cxy || !arr || !tmp || !out->rho)
            rc = nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    }
    if (rc == 0) {
        crop(cxx, sxx, dx, kx, mx, kx, mx);
        crop(cyy, syy, dy, ky, my, ky, my);
        for (int64_t i = 0; i < mx; i++)
            for (int64_t j = 0; j < my; j++)
                cxy[i * my + j] = sxy[kx[i] * dy + ky[j]];
        for (int64_t i = 0; i < mx; i++)
            cxx[i * mx + i] += epsilon;
        for (int64_t i = 0; i < my; i++)
            cyy[i * my + i] += epsilon;
        rc = sim_inverse_sqrt(cxx, mx);
        if (rc == 0)
            rc = sim_inverse_sqrt(cyy, my);
    }
    if (rc == 0) {
        /* arr = Sxx^-1/2 Sxy Syy^-1/2; its singular values are the correlations. */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mx, (int)my, (int)my, 1.0, cxy, (int)my,
                    cyy, (int)my, 0.0, tmp, (int)my);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mx, (int)my, (int)mx, 1.0, cxx, (int)mx,
                    tmp, (int)my, 0.0, arr, (int)my);
        out->k = mx < my ? mx : my;
        if (u && !(*u = malloc((size_t)(mx * out->k) * sizeof **u)))
            rc = nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
        if (rc == 0)
            rc = sim_svd(out->rho, u ? *u : NULL, arr, mx, my);
    }
    if (rc == 0) {
        double sum = 0;
        for (int64_t i = 0; i < out->k; i++)
            sum += out->rho[i] = fabs(out->rho[i]);
        out->mean = sum / (double)out->k;
        out->dims_a = mx;
        out->dims_b = my;
        if (keep_x) {
            *keep_x = kx;
            kx = NULL;
        }
    } else {
        nerve_cca_free(out);
        if (u) {
            free(*u);
            *u = NULL;
        }
    }
    free(sxx); free(syy); free(sxy); free(kx); free(ky);
    free(cxx); free(cyy); free(cxy); free(arr); free(tmp);
    return rc;
}

static int check_cca_shape(const nerve_mat *a, const nerve_mat *b, double epsilon, const char *metric)
{
    int rc = sim_check_pair(a, b, metric);
    if (rc == 0 && epsilon == 0 && (a->cols >= a->rows || b->cols >= b->rows))
        rc = nerve_error_set(NERVE_EINPUT, "%s: %lld inputs but %lld and %lld dimensions: CCA needs more "
                             "inputs than dimensions; use svcca (which reduces them first) or a ridge "
                             "epsilon > 0", metric, (long long)a->rows, (long long)a->cols, (long long)b->cols);
    return rc;
}

int nerve_sim_cca(nerve_cca *out, const nerve_mat *a, const nerve_mat *b, double epsilon)
{
    memset(out, 0, sizeof *out);
    int rc = check_cca_shape(a, b, epsilon, "cca");
    if (rc < 0)
        return rc;
    double *x = sim_centered(a, NULL), *y = sim_centered(b, NULL);
    rc = x && y ? cca_centered(out, x, y, a->rows, a->cols, b->cols, epsilon, NULL, NULL)
                : nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    free(x);
    free(y);
    return rc;
}

/* The top singular directions of centred x (n x d) explaining `keep` of
 * the variance, as scores n x k (u s): SVCCA's reduction. */
static double *reduce(const double *x, int64_t n, int64_t d, double keep, int64_t *k_out)
{
    int64_t r = n < d ? n : d;
    double *a = malloc((size_t)(n * d) * sizeof *a), *s = malloc((size_t)r * sizeof *s);
    double *u = malloc((size_t)(n * r) * sizeof *u);
    if (!a || !s || !u || (memcpy(a, x, (size_t)(n * d) * sizeof *a), sim_svd(s, u, a, n, d)) < 0) {
        free(a);
        free(s);
        free(u);
        return NULL;
    }
    double total = 0, run = 0;
    for (int64_t i = 0; i < r; i++)
        total += s[i] * s[i];
    int64_t k = 0;
    while (k < r && (k == 0 || run < keep * total))
        run += s[k] * s[k], k++;
    double *scores = malloc((size_t)(n * k) * sizeof *scores);
    for (int64_t i = 0; scores && i < n; i++)
        for (int64_t j = 0; j < k; j++)
            scores[i * k + j] = u[i * r + j] * s[j];
    free(a);
    free(s);
    free(u);
    *k_out = k;
    return scores;
}

int nerve_sim_svcca(nerve_cca *out, const nerve_mat *a, const nerve_mat *b, double keep)
{
    memset(out, 0, sizeof *out);
    if (!(keep > 0 && keep <= 1))
        return nerve_error_set(NERVE_EINPUT, "svcca: the variance kept must be in (0, 1], not %g", keep);
    int rc = sim_check_pair(a, b, "svcca");
    if (rc < 0)
        return rc;
    double *x = sim_centered(a, NULL), *y = sim_centered(b, NULL), *rx = NULL, *ry = NULL;
    int64_t kx = 0, ky = 0;
    if (x && y) {
        rx = reduce(x, a->rows, a->cols, keep, &kx);
        ry = reduce(y, b->rows, b->cols, keep, &ky);
    }
    if (!rx || !ry)
        rc = nerve_error_set(NERVE_ENOMEM, "svcca: out of memory or an SVD that did not converge");
    else if (kx >= a->rows || ky >= b->rows)
        rc = nerve_error_set(NERVE_EINPUT, "svcca: %lld inputs are too few for %lld and %lld directions",
                             (long long)a->rows, (long long)kx, (long long)ky);
    else   /* the scores are centred already; epsilon as Google's SVCCA tutorial */
        rc = cca_centered(out, rx, ry, a->rows, kx, ky, 1e-10, NULL, NULL);
    free(x); free(y); free(rx); free(ry);
    return rc;
}

/* pwcca.compute_pwcca with x the side with fewer kept neurons: the weights
 * are how much each canonical direction accounts for x's (uncentred)
 * activations, once the directions are orthonormalised by QR. */
static int pwcca_weights(double *value, const nerve_cca *c, const double *u, const int64_t *keep,
                         const nerve_mat *a, const double *xc, const double *means)
{
    int64_t n = a->rows, d = a->cols, m = c->dims_a, k = c->k;
    double *dirns = malloc((size_t)(n * m) * sizeof *dirns), *tau = malloc((size_t)m * sizeof *tau);
    double *proj = malloc((size_t)(m * m) * sizeof *proj), *acts = malloc((size_t)(n * m) * sizeof *acts);
    if (!dirns || !tau || !proj || !acts) {
        free(dirns); free(tau); free(proj); free(acts);
        return nerve_error_set(NERVE_ENOMEM, "pwcca: out of memory");
    }
    /* dirns^T (n x m) = (x - mean) u + mean[kept], as pwcca.py writes it. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++)
            acts[i * m + j] = xc[i * d + keep[j]];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)m, 1.0, acts, (int)m, u, (int)k,
                0.0, dirns, (int)m);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) {
            dirns[i * m + j] += means[keep[j]];
            acts[i * m + j] += means[keep[j]];
        }
    int rc = 0;
    if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)m, dirns, (lapack_int)m, tau) != 0 ||
        LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)m, (lapack_int)m, dirns, (lapack_int)m, tau) != 0)
        rc = nerve_error_set(NERVE_EINPUT, "pwcca: a QR decomposition failed");
    if (rc == 0) {
        sim_gram(proj, dirns, acts, n, m, m);   /* P^T acts */
        double total = 0, weighted = 0;
        for (int64_t i = 0; i < k; i++) {
            double w = 0;
            for (int64_t j = 0; j < m; j++)
                w += fabs(proj[i * m + j]);
            total += w;
            weighted += w * c->rho[i];
        }
        *value = weighted / total;
    }
    free(dirns); free(tau); free(proj); free(acts);
    return rc;
}

int nerve_sim_pwcca(double *value, nerve_cca *cca, const nerve_mat *a, const nerve_mat *b, double epsilon)
{
    memset(cca, 0, sizeof *cca);
    int rc = check_cca_shape(a, b, epsilon, "pwcca");
    if (rc < 0)
        return rc;
    if (b->cols < a->cols) {   /* the smaller layer first, as the reference's working branch needs */
        const nerve_mat *t = a;
        a = b;
        b = t;
    }
    double *means = malloc((size_t)a->cols * sizeof *means);
    double *x = sim_centered(a, means), *y = sim_centered(b, NULL), *u = NULL;
    int64_t *keep = NULL;
    rc = x && y && means ? cca_centered(cca, x, y, a->rows, a->cols, b->cols, epsilon, &u, &keep)
                         : nerve_error_set(NERVE_ENOMEM, "pwcca: out of memory");
    if (rc == 0 && cca->dims_a > cca->dims_b)
        rc = nerve_error_set(NERVE_EINPUT, "pwcca: the smaller layer lost more neurons to epsilon than the other");
    if (rc == 0)
        rc = pwcca_weights(value, cca, u, keep, a, x, means);
    if (rc < 0)
        nerve_cca_free(cca);
    free(x); free(y); free(u); free(keep); free(means);
    return rc;
}
