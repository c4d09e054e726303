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

/* Neurons whose (scaled) variance var[i] / scale reaches epsilon:
 * cca_core's remove_small. */
static int64_t kept(int64_t *keep, const double *var, int64_t d, double scale, double epsilon)
{
    int64_t m = 0;
    for (int64_t i = 0; i < d; i++)
        if (var[i] / scale >= epsilon)
            keep[m++] = i;
    return m;
}

static double max_of(const double *x, int64_t n)
{
    double top = 0;
    for (int64_t i = 0; i < n; i++)
        top = fmax(top, x[i]);
    return top;
}

void sim_cca_side_free(sim_cca_side *s)
{
    free(s->keep);
    free(s->invsqrt);
    free(s->xtx);
    memset(s, 0, sizeof *s);
}

/*
 * A side in two steps. The variances (the covariance's diagonal) decide
 * everything that can refuse: cca_core divides by the largest |covariance|,
 * which is the largest variance (|cov_ij| <= sqrt(var_i var_j)), keeps the
 * neurons whose scaled variance reaches epsilon, and needs fewer of them
 * than inputs. Only then is the m x m covariance of the kept neurons built,
 * never the d x d one: a flattened conv layer has 10^5 neurons and few of
 * them can be kept below n inputs.
 */
static int side_select(sim_cca_side *s, const double *var, int64_t n, int64_t d, double epsilon)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->d = d;
    s->scale = max_of(var, d) / (double)(n - 1);
    if (s->scale == 0)
        return nerve_error_set(NERVE_EINPUT, "cca: a layer is constant over all inputs");
    if (!(s->keep = malloc((size_t)d * sizeof *s->keep)))
        return nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    if ((s->m = kept(s->keep, var, d, (double)(n - 1) * s->scale, epsilon)) == 0)
        return nerve_error_set(NERVE_EINPUT, "cca: every neuron of a layer has variance below epsilon %g", epsilon);
    /* cca_core asserts fewer neurons than inputs; below that the
     * covariance is singular and every coefficient reads 1. Dead neurons,
     * dropped above, do not count. */
    if (s->m >= n)
        return nerve_error_set(NERVE_EINPUT, "cca: %lld inputs but %lld neurons with variance: CCA needs more "
                               "inputs than neurons; use svcca (which reduces them first)", (long long)n,
                               (long long)s->m);
    return 0;
}

/* Rows [r0, r0 + rows) of a side's kept neurons, packed (rows x m). */
static void gather_kept(double *block, const sim_cca_side *s, int64_t r0, int64_t rows)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < s->m; j++)
            block[i * s->m + j] = s->x[(r0 + i) * s->d + s->keep[j]];
}

/* x_k^T y_k over the inputs (a->m x b->m) without a copy of either layer:
 * straight from the data when every neuron is kept, else a block of rows
 * of the kept neurons at a time. */
static int kept_cross(double *out, const sim_cca_side *a, const sim_cca_side *b)
{
    if (a->m == a->d && b->m == b->d) {
        nerve_linalg_gram(out, a->x, b->x, a->n, a->m, b->m);
        return 0;
    }
    enum { ROWS = 512 };
    double *pa = malloc((size_t)(ROWS * a->m) * sizeof *pa), *pb = malloc((size_t)(ROWS * b->m) * sizeof *pb);
    if (!pa || !pb) {
        free(pa);
        free(pb);
        return nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    }
    for (int64_t r0 = 0; r0 < a->n; r0 += ROWS) {
        int64_t rows = a->n - r0 < ROWS ? a->n - r0 : ROWS;
        gather_kept(pa, a, r0, rows);
        gather_kept(pb, b, r0, rows);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)a->m, (int)b->m, (int)rows, 1.0, pa, (int)a->m,
                    pb, (int)b->m, r0 > 0 ? 1.0 : 0.0, out, (int)b->m);
    }
    free(pa);
    free(pb);
    return 0;
}

/* The second step, from x^T x on the kept neurons (m x m, unscaled). */
static int side_finish(sim_cca_side *s, const double *gram_kept, double epsilon)
{
    int64_t m = s->m;
    if (!(s->invsqrt = malloc((size_t)(m * m) * sizeof *s->invsqrt)) ||
        !(s->xtx = malloc((size_t)(m * m) * sizeof *s->xtx)))
        return nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    double unscale = (double)(s->n - 1) * s->scale;
    for (int64_t i = 0; i < m * m; i++) {
        s->invsqrt[i] = gram_kept[i] / unscale + (i % (m + 1) == 0 ? epsilon : 0);
        s->xtx[i] = gram_kept[i];
    }
    return nerve_linalg_inverse_sqrt(s->invsqrt, m);
}

/* What cca_core computes first for one layer: its covariance (np.cov,
 * divided by n - 1) scaled by the largest magnitude, the neurons whose
 * scaled variance reaches epsilon, and the inverse square root of their
 * block with epsilon on the diagonal. */
int sim_cca_side_init(sim_cca_side *s, const double *x, int64_t n, int64_t d, double epsilon)
{
    double *var = calloc((size_t)d, sizeof *var), *gram = NULL;
    int rc = var ? 0 : nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    for (int64_t i = 0; rc == 0 && i < n; i++)
        for (int64_t j = 0; j < d; j++)
            var[j] += x[i * d + j] * x[i * d + j];
    if (rc == 0)
        rc = side_select(s, var, n, d, epsilon);
    s->x = x;
    if (rc == 0 && !(gram = malloc((size_t)(s->m * s->m) * sizeof *gram)))
        rc = nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    if (rc == 0 && (rc = kept_cross(gram, s, s)) == 0)
        rc = side_finish(s, gram, epsilon);
    free(var);
    free(gram);
    if (rc < 0)
        sim_cca_side_free(s);
    return rc;
}

int sim_cca_side_from_gram(sim_cca_side *s, double *sxx, int64_t n, int64_t d, double epsilon)
{
    double *var = malloc((size_t)d * sizeof *var);
    int rc = var ? 0 : nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    for (int64_t i = 0; rc == 0 && i < d; i++)
        var[i] = sxx[i * d + i];
    if (rc == 0)
        rc = side_select(s, var, n, d, epsilon);
    if (rc == 0) {
        /* the kept block, gathered in place: row i of it never overtakes row i of sxx */
        int64_t m = s->m;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < m; j++)
                sxx[i * m + j] = sxx[s->keep[i] * d + s->keep[j]];
        rc = side_finish(s, sxx, epsilon);
    }
    free(var);
    free(sxx);
    if (rc < 0)
        sim_cca_side_free(s);
    return rc;
}

/* The canonical correlations from the kept neurons' cross products
 * x_k^T y_k (a->m x b->m, unscaled; consumed): the singular values of
 * Sxx^-1/2 Sxy Syy^-1/2. With u, the left singular vectors too (a->m x k,
 * for PWCCA). */
static int pair_from_kept_cross(nerve_cca *out, const sim_cca_side *a, const sim_cca_side *b, double *cxy,
                                double **u)
{
    memset(out, 0, sizeof *out);
    int64_t mx = a->m, my = b->m, k = mx < my ? mx : my;
    double *tmp = malloc((size_t)(mx * my) * sizeof *tmp), *arr = malloc((size_t)(mx * my) * sizeof *arr);
    out->rho = malloc((size_t)k * sizeof *out->rho);
    int rc = tmp && arr && out->rho ? 0 : nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    if (rc == 0 && u && !(*u = malloc((size_t)(mx * k) * sizeof **u)))
        rc = nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    if (rc == 0) {
        double norm = (double)(a->n - 1) * sqrt(a->scale * b->scale);
        for (int64_t i = 0; i < mx * my; i++)
            cxy[i] /= norm;
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
    free(tmp);
    free(arr);
    return rc;
}

int sim_cca_pair(nerve_cca *out, const sim_cca_side *a, const sim_cca_side *b, double **u)
{
    double *cxy = malloc((size_t)(a->m * b->m) * sizeof *cxy);
    if (!cxy) {
        memset(out, 0, sizeof *out);
        return nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    }
    int rc = kept_cross(cxy, a, b);
    if (rc == 0)
        rc = pair_from_kept_cross(out, a, b, cxy, u);
    else
        memset(out, 0, sizeof *out);
    free(cxy);
    return rc;
}

int sim_cca_pair_from_cross(nerve_cca *out, const sim_cca_side *a, const sim_cca_side *b, const double *sxy,
                            double **u)
{
    double *cxy = malloc((size_t)(a->m * b->m) * sizeof *cxy);
    if (!cxy) {
        memset(out, 0, sizeof *out);
        return nerve_error_set(NERVE_ENOMEM, "cca: out of memory");
    }
    for (int64_t i = 0; i < a->m; i++)
        for (int64_t j = 0; j < b->m; j++)
            cxy[i * b->m + j] = sxy[a->keep[i] * b->d + b->keep[j]];
    int rc = pair_from_kept_cross(out, a, b, cxy, u);
    free(cxy);
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
    int64_t n = side->n, m = side->m;
    double *dirns = malloc((size_t)(n * m) * sizeof *dirns), *tau = malloc((size_t)m * sizeof *tau);
    double *acts = malloc((size_t)(n * m) * sizeof *acts);
    int rc = dirns && tau && acts ? 0 : nerve_error_set(NERVE_ENOMEM, "pwcca: out of memory");
    if (rc == 0) {
        gather_kept(acts, side, 0, n);
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
