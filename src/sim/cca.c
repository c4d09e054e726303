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
#include "nerve/internal/alloc.h"
#include "nerve/internal/linalg.h"
#include "sim_internal.h"

void nerve_cca_free(nerve_cca *c)
{
    free(c->rho);
    memset(c, 0, sizeof *c);
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

void sim_cca_side_free(sim_cca_side *s)
{
    free(s->keep);
    free(s->invsqrt);
    free(s->xtx);
    memset(s, 0, sizeof *s);
}

/* What get_cca_similarity computes from one layer alone: its covariance
 * (np.cov, divided by n - 1) scaled by the largest magnitude, the neurons
 * whose scaled variance reaches epsilon, and the inverse square root of
 * their block with epsilon on the diagonal. */
int sim_cca_side_init(sim_cca_side *s, const double *x, int64_t n, int64_t d, double epsilon)
{
    double *sxx = nerve_alloc_array((size_t)d, (size_t)d * sizeof *sxx, "CCA covariance");
    if (!sxx) {
        memset(s, 0, sizeof *s);
        return NERVE_ENOMEM;
    }
    nerve_linalg_gram(sxx, x, x, n, d, d);
    int rc = sim_cca_side_from_gram(s, sxx, n, d, epsilon);
    if (rc == 0)
        s->x = x;
    return rc;
}

int sim_cca_side_from_gram(sim_cca_side *s, double *sxx, int64_t n, int64_t d, double epsilon)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->d = d;
    s->keep = malloc((size_t)d * sizeof *s->keep);
    int rc = s->keep ? 0 : nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    if (rc == 0) {
        s->scale = max_abs(sxx, d * d) / (double)(n - 1);
        if (s->scale == 0)
            rc = nerve_error_set(NERVE_EINPUT, "cca: a layer is constant over all inputs");
    }
    for (int64_t i = 0; rc == 0 && i < d * d; i++)
        sxx[i] /= (double)(n - 1) * s->scale;
    if (rc == 0 && (s->m = kept(s->keep, sxx, d, epsilon)) == 0)
        rc = nerve_error_set(NERVE_EINPUT, "cca: every neuron of a layer has variance below epsilon %g", epsilon);
    /* cca_core asserts fewer neurons than inputs; below that the
     * covariance is singular and every coefficient reads 1. Dead neurons,
     * dropped above, do not count. */
    if (rc == 0 && s->m >= n)
        rc = nerve_error_set(NERVE_EINPUT, "cca: %lld inputs but %lld neurons with variance: CCA needs more "
                             "inputs than neurons; use svcca (which reduces them first)", (long long)n,
                             (long long)s->m);
    if (rc == 0 && (!(s->invsqrt = malloc((size_t)(s->m * s->m) * sizeof *s->invsqrt)) ||
                    !(s->xtx = malloc((size_t)(s->m * s->m) * sizeof *s->xtx))))
        rc = nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    if (rc == 0) {
        double unscale = (double)(n - 1) * s->scale;
        for (int64_t i = 0; i < s->m; i++)
            for (int64_t j = 0; j < s->m; j++) {
                s->invsqrt[i * s->m + j] = sxx[s->keep[i] * d + s->keep[j]] + (i == j ? epsilon : 0);
                s->xtx[i * s->m + j] = sxx[s->keep[i] * d + s->keep[j]] * unscale;
            }
        rc = nerve_linalg_inverse_sqrt(s->invsqrt, s->m);
    }
    free(sxx);
    if (rc < 0)
        sim_cca_side_free(s);
    return rc;
}

/* The canonical correlations of two prepared layers: the singular values of
 * Sxx^-1/2 Sxy Syy^-1/2 on the kept neurons. With u, the left singular
 * vectors too (a->m x k, for PWCCA). */
int sim_cca_pair(nerve_cca *out, const sim_cca_side *a, const sim_cca_side *b, double **u)
{
    double *sxy = nerve_alloc_array((size_t)a->d, (size_t)b->d * sizeof *sxy, "CCA cross-covariance");
    if (!sxy) {
        memset(out, 0, sizeof *out);
        return NERVE_ENOMEM;
    }
    nerve_linalg_gram(sxy, a->x, b->x, a->n, a->d, b->d);
    int rc = sim_cca_pair_from_cross(out, a, b, sxy, u);
    free(sxy);
    return rc;
}

int sim_cca_pair_from_cross(nerve_cca *out, const sim_cca_side *a, const sim_cca_side *b, const double *sxy,
                            double **u)
{
    memset(out, 0, sizeof *out);
    int64_t n = a->n, mx = a->m, my = b->m, k = mx < my ? mx : my;
    double *cxy = malloc((size_t)(mx * my) * sizeof *cxy);
    double *tmp = malloc((size_t)(mx * my) * sizeof *tmp), *arr = malloc((size_t)(mx * my) * sizeof *arr);
    out->rho = malloc((size_t)k * sizeof *out->rho);
    int rc = cxy && tmp && arr && out->rho ? 0 : nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    if (rc == 0 && u && !(*u = malloc((size_t)(mx * k) * sizeof **u)))
        rc = nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    if (rc == 0) {
        double norm = (double)(n - 1) * sqrt(a->scale * b->scale);
        for (int64_t i = 0; i < mx; i++)
            for (int64_t j = 0; j < my; j++)
                cxy[i * my + j] = sxy[a->keep[i] * b->d + b->keep[j]] / norm;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mx, (int)my, (int)my, 1.0, cxy, (int)my,
                    b->invsqrt, (int)my, 0.0, tmp, (int)my);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mx, (int)my, (int)mx, 1.0, a->invsqrt, (int)mx,
                    tmp, (int)my, 0.0, arr, (int)my);
        rc = nerve_linalg_svd(out->rho, u ? *u : NULL, arr, mx, my);
    }
    if (rc == 0) {
        double sum = 0;
        for (int64_t i = 0; i < k; i++)
            sum += out->rho[i] = fabs(out->rho[i]);
        out->k = k;
        out->mean = sum / (double)k;
        out->dims_a = mx;
        out->dims_b = my;
    } else {
        nerve_cca_free(out);
        if (u) {
            free(*u);
            *u = NULL;
        }
    }
    free(cxy); free(tmp); free(arr);
    return rc;
}

/* get_cca_similarity on centred x (n x dx) and y (n x dy). */
static int cca_centered(nerve_cca *out, const double *x, const double *y, int64_t n, int64_t dx, int64_t dy,
                        double epsilon)
{
    sim_cca_side a, b;
    memset(out, 0, sizeof *out);
    int rc = sim_cca_side_init(&a, x, n, dx, epsilon);
    if (rc == 0 && (rc = sim_cca_side_init(&b, y, n, dy, epsilon)) < 0)
        sim_cca_side_free(&a);
    if (rc < 0)
        return rc;
    rc = sim_cca_pair(out, &a, &b, NULL);
    sim_cca_side_free(&a);
    sim_cca_side_free(&b);
    return rc;
}

/* remove_small's cutoff applies to covariances scaled to a largest
 * magnitude of 1: beyond 1 it would drop every neuron. */
static int check_epsilon(double epsilon, const char *metric)
{
    if (!(epsilon >= 0 && epsilon < 1))
        return nerve_error_set(NERVE_EINPUT, "%s: epsilon must be in [0, 1), not %g", metric, epsilon);
    return 0;
}

int nerve_sim_cca(nerve_cca *out, const nerve_mat *a, const nerve_mat *b, double epsilon)
{
    memset(out, 0, sizeof *out);
    int rc = check_epsilon(epsilon, "cca");
    if (rc == 0)
        rc = sim_check_pair(a, b, "cca");
    if (rc < 0)
        return rc;
    double *x = nerve_mat_centered(a, NULL), *y = nerve_mat_centered(b, NULL);
    rc = x && y ? cca_centered(out, x, y, a->rows, a->cols, b->cols, epsilon)
                : nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    free(x);
    free(y);
    return rc;
}

/* How many of the r singular values s (decreasing) hold `keep` of the
 * variance (the sum of their squares): at least one. */
static int64_t kept_directions(const double *s, int64_t r, double keep)
{
    double total = 0, run = 0;
    for (int64_t i = 0; i < r; i++)
        total += s[i] * s[i];
    int64_t k = 0;
    while (k < r && (k == 0 || run < keep * total))
        run += s[k] * s[k], k++;
    return k;
}

/* With more inputs than neurons: x^T x = V S^2 V^T, a d x d
 * eigen-decomposition, and the scores x V_k (u s up to the signs of their
 * columns, which CCA does not see), without an SVD of the n x d matrix. */
static double *reduce_by_gram(const double *x, int64_t n, int64_t d, double keep, int64_t *k_out)
{
    double *v = malloc((size_t)(d * d) * sizeof *v), *w = malloc((size_t)d * sizeof *w);
    double *s = malloc((size_t)d * sizeof *s), *vk = NULL, *scores = NULL;
    if (!v || !w || !s)
        goto done;
    nerve_linalg_gram(v, x, x, n, d, d);
    if (nerve_linalg_eigh(w, v, d) < 0)
        goto done;
    /* The singular values, decreasing (the eigenvalues increase; rounding
     * can leave the smallest slightly negative). */
    for (int64_t i = 0; i < d; i++)
        s[i] = w[d - 1 - i] > 0 ? sqrt(w[d - 1 - i]) : 0;
    int64_t k = kept_directions(s, d, keep);
    vk = malloc((size_t)(d * k) * sizeof *vk);
    scores = vk ? malloc((size_t)(n * k) * sizeof *scores) : NULL;
    if (!scores)
        goto done;
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < k; j++)
            vk[i * k + j] = v[i * d + d - 1 - j];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)d, 1.0, x, (int)d, vk, (int)k, 0.0,
                scores, (int)k);
    *k_out = k;
done:
    free(v);
    free(w);
    free(s);
    free(vk);
    return scores;
}

/* The top singular directions of centred x (n x d) explaining `keep` of
 * the variance, as scores n x k (u s): SVCCA's reduction. */
double *sim_svcca_reduce(const double *x, int64_t n, int64_t d, double keep, int64_t *k_out)
{
    if (d < n)
        return reduce_by_gram(x, n, d, keep, k_out);
    int64_t r = n;
    double *a = malloc((size_t)(n * d) * sizeof *a), *s = malloc((size_t)r * sizeof *s);
    double *u = malloc((size_t)(n * r) * sizeof *u);
    if (!a || !s || !u || (memcpy(a, x, (size_t)(n * d) * sizeof *a), nerve_linalg_svd(s, u, a, n, d)) < 0) {
        free(a);
        free(s);
        free(u);
        return NULL;
    }
    int64_t k = kept_directions(s, r, keep);
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
    double *x = nerve_mat_centered(a, NULL), *y = nerve_mat_centered(b, NULL), *rx = NULL, *ry = NULL;
    int64_t kx = 0, ky = 0;
    if (x && y) {
        rx = sim_svcca_reduce(x, a->rows, a->cols, keep, &kx);
        ry = sim_svcca_reduce(y, b->rows, b->cols, keep, &ky);
    }
    if (!rx || !ry)
        rc = nerve_error_set(NERVE_ENOMEM, "svcca: out of memory or an SVD that did not converge");
    else if (kx >= a->rows || ky >= b->rows)
        rc = nerve_error_set(NERVE_EINPUT, "svcca: %lld inputs are too few for %lld and %lld directions",
                             (long long)a->rows, (long long)kx, (long long)ky);
    else   /* the scores are centred already; epsilon as Google's SVCCA tutorial */
        rc = cca_centered(out, rx, ry, a->rows, kx, ky, NERVE_SIM_EPSILON);
    free(x); free(y); free(rx); free(ry);
    return rc;
}

/*
 * pwcca.compute_pwcca with x the side with fewer kept neurons: the weights
 * are how much each canonical direction accounts for x's (uncentred)
 * activations, once the directions are orthonormalised by QR:
 *
 *     dirns = A u + 1 mu^T,  acts = A + 1 mu^T  (A: x centred, n x m; mu: its means)
 *     dirns = Q R,  proj = Q^T acts,  weight_i = sum_j |proj_ij|
 *
 * As A's columns sum to zero, dirns^T dirns = u^T (A^T A) u + n mu mu^T and
 * dirns^T acts = u^T (A^T A) + n mu mu^T: m x m products of the side's
 * A^T A, so proj = R^-T dirns^T acts with R from a Cholesky factorisation,
 * without the n x m matrices (R is the QR factor up to the signs of its
 * rows, which |proj| ignores). Should the Gram matrix not be positive
 * definite in floating point, the n x m QR of the reference is the way.
 */
static int proj_by_gram(double *proj, const double *u, const sim_cca_side *side, const double *mu)
{
    int64_t n = side->n, m = side->m;
    double *t = malloc((size_t)(m * m) * sizeof *t), *g = malloc((size_t)(m * m) * sizeof *g);
    int rc = t && g ? 0 : nerve_error_set(NERVE_ENOMEM, "pwcca: out of memory");
    if (rc == 0) {
        /* proj <- u^T A^T A + n mu mu^T (dirns^T acts); g <- proj u - n mu mu^T u + n mu mu^T */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)m, (int)m, 1.0, u, (int)m, side->xtx,
                    (int)m, 0.0, t, (int)m);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)m, (int)m, 1.0, t, (int)m, u, (int)m,
                    0.0, g, (int)m);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < m; j++) {
                proj[i * m + j] = t[i * m + j] + (double)n * mu[i] * mu[j];
                g[i * m + j] += (double)n * mu[i] * mu[j];
            }
        if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)m, g, (lapack_int)m) != 0)
            rc = 1;   /* not positive definite: the caller takes the QR way */
        else
            cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, (int)m, (int)m, 1.0, g,
                        (int)m, proj, (int)m);
    }
    free(t);
    free(g);
    return rc;
}

/* The same as the reference computes it: the QR of the n x m directions. */
static int proj_by_qr(double *proj, const double *u, const sim_cca_side *side, const double *mu)
{
    const int64_t *keep = side->keep;
    const double *xc = side->x;
    int64_t n = side->n, d = side->d, m = side->m;
    double *dirns = malloc((size_t)(n * m) * sizeof *dirns), *tau = malloc((size_t)m * sizeof *tau);
    double *acts = malloc((size_t)(n * m) * sizeof *acts);
    int rc = dirns && tau && acts ? 0 : nerve_error_set(NERVE_ENOMEM, "pwcca: out of memory");
    if (rc == 0) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < m; j++)
                acts[i * m + j] = xc[i * d + keep[j]];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)m, 1.0, acts, (int)m, u, (int)m,
                    0.0, dirns, (int)m);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < m; j++) {
                dirns[i * m + j] += mu[j];
                acts[i * m + j] += mu[j];
            }
        if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)m, dirns, (lapack_int)m, tau) != 0 ||
            LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)m, (lapack_int)m, dirns, (lapack_int)m, tau) != 0)
            rc = nerve_error_set(NERVE_EINPUT, "pwcca: a QR decomposition failed");
        else
            nerve_linalg_gram(proj, dirns, acts, n, m, m);   /* Q^T acts */
    }
    free(dirns); free(tau); free(acts);
    return rc;
}

static int pwcca_weights(double *value, const nerve_cca *c, const double *u, const sim_cca_side *side,
                         const double *means)
{
    int64_t m = side->m, k = c->k;
    double *proj = malloc((size_t)(m * m) * sizeof *proj), *mu = malloc((size_t)m * sizeof *mu);
    int rc = proj && mu ? 0 : nerve_error_set(NERVE_ENOMEM, "pwcca: out of memory");
    for (int64_t j = 0; rc == 0 && j < m; j++)
        mu[j] = means[side->keep[j]];
    if (rc == 0 && (rc = proj_by_gram(proj, u, side, mu)) > 0)
        rc = proj_by_qr(proj, u, side, mu);
    if (rc == 0) {
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
    free(proj);
    free(mu);
    return rc;
}

int sim_pwcca_pair(double *value, nerve_cca *cca, const sim_cca_side *a, const double *means_a,
                   const sim_cca_side *b, const double *means_b)
{
    /* compute_pwcca weights by x when x keeps no more neurons than y (its
     * other branch mixes acts1 with y's indices): the side with fewer
     * neurons left after remove_small goes first. */
    if (b->m < a->m)
        return sim_pwcca_pair(value, cca, b, means_b, a, means_a);
    double *u = NULL;
    int rc = sim_cca_pair(cca, a, b, &u);
    if (rc == 0)
        rc = pwcca_weights(value, cca, u, a, means_a);
    if (rc < 0)
        nerve_cca_free(cca);
    free(u);
    return rc;
}

int nerve_sim_pwcca(double *value, nerve_cca *cca, const nerve_mat *a, const nerve_mat *b, double epsilon)
{
    memset(cca, 0, sizeof *cca);
    int rc = check_epsilon(epsilon, "pwcca");
    if (rc == 0)
        rc = sim_check_pair(a, b, "pwcca");
    if (rc < 0)
        return rc;
    double *ma = malloc((size_t)a->cols * sizeof *ma), *mb = malloc((size_t)b->cols * sizeof *mb);
    double *x = ma ? nerve_mat_centered(a, ma) : NULL, *y = mb ? nerve_mat_centered(b, mb) : NULL;
    sim_cca_side sa = { 0 }, sb = { 0 };
    rc = x && y ? sim_cca_side_init(&sa, x, a->rows, a->cols, epsilon) : nerve_error_set(NERVE_ENOMEM, "pwcca: out of memory");
    if (rc == 0)
        rc = sim_cca_side_init(&sb, y, b->rows, b->cols, epsilon);
    if (rc == 0)
        rc = sim_pwcca_pair(value, cca, &sa, ma, &sb, mb);
    sim_cca_side_free(&sa);
    sim_cca_side_free(&sb);
    free(x); free(y); free(ma); free(mb);
    return rc;
}
