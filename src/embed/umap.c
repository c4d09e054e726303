/*
 * umap.c — UMAP (McInnes, Healy and Melville, 2018) in two dimensions, as
 * umap-learn 0.5 runs it with its defaults: the k nearest neighbours (k =
 * n_neighbors, the point itself counted; exact below 4,096 points as
 * umap-learn, NN-descent above), the fuzzy simplicial set
 * (umap_graph.c), a spectral start (umap_spectral.c), then the descent
 * (umap_sgd.c) with the curve 1 / (1 + a d^2b) whose a, b are fitted
 * from min_dist and spread here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "embed_internal.h"

/* umap-learn's nearest_neighbors: exact pairwise distances below 4,096
 * points, NN-descent from there. */
enum { EXACT_BELOW = 4096, FIT_POINTS = 300 };

const char *nerve_umap_init_name(nerve_umap_init i)
{
    return i == NERVE_UMAP_RANDOM ? "random" : "spectral";
}

int nerve_umap_init_parse(const char *s, nerve_umap_init *i)
{
    for (int k = NERVE_UMAP_SPECTRAL; k <= NERVE_UMAP_RANDOM; k++)
        if (strcmp(s, nerve_umap_init_name((nerve_umap_init)k)) == 0) {
            *i = (nerve_umap_init)k;
            return 0;
        }
    return -1;
}

void nerve_umap_defaults(nerve_umap_options *o)
{
    *o = (nerve_umap_options){
        .neighbors = 15,
        .min_dist = 0.1,
        .spread = 1,
        .metric = NERVE_METRIC_EUCLIDEAN,
        .epochs = 0,
        .learning_rate = 1,
        .repulsion = 1,
        .negative_rate = 5,
        .a = 0,
        .b = 0,
        .init = NERVE_UMAP_SPECTRAL,
        .seed = 0,
    };
}

void nerve_umap_free(nerve_umap *u)
{
    nerve_mat_free(&u->y);
    memset(u, 0, sizeof *u);
}

/* ---- a and b ------------------------------------------------------------ */

/* The sum of squared residuals of 1 / (1 + a x^2b) against the target,
 * with the gradient's normal equations (J^T J, J^T r) when jtj is given. */
static double residuals(const double *x, const double *t, double a, double b, double *jtj, double *jtr)
{
    double cost = 0;
    if (jtj)
        memset(jtj, 0, 3 * sizeof *jtj), memset(jtr, 0, 2 * sizeof *jtr);
    for (int i = 0; i < FIT_POINTS; i++) {
        double p = x[i] > 0 ? pow(x[i], 2 * b) : 0, q = 1 + a * p, r = 1 / q - t[i];
        cost += r * r;
        if (jtj) {
            double da = -p / (q * q), db = x[i] > 0 ? -a * p * 2 * log(x[i]) / (q * q) : 0;
            jtj[0] += da * da;
            jtj[1] += da * db;
            jtj[2] += db * db;
            jtr[0] += da * r;
            jtr[1] += db * r;
        }
    }
    return cost;
}

int nerve_umap_find_ab(double *a_out, double *b_out, double spread, double min_dist)
{
    if (!(spread > 0) || !(min_dist >= 0) || !isfinite(spread) || !isfinite(min_dist))
        return nerve_error_set(NERVE_EINPUT, "UMAP: spread must be > 0 and min_dist >= 0, not %g and %g", spread,
                               min_dist);
    double x[FIT_POINTS], t[FIT_POINTS];
    for (int i = 0; i < FIT_POINTS; i++) {   /* np.linspace(0, 3 spread, 300) */
        x[i] = 3 * spread * i / (FIT_POINTS - 1);
        t[i] = x[i] < min_dist ? 1 : exp(-(x[i] - min_dist) / spread);
    }
    /* Levenberg-Marquardt from (1, 1), scipy's curve_fit start, with the
     * analytic Jacobian; steps that leave a, b > 0 count as failures. */
    double a = 1, b = 1, lambda = 1e-3, jtj[3], jtr[2];
    double cost = residuals(x, t, a, b, jtj, jtr);
    for (int it = 0; it < 500; it++) {
        double m00 = jtj[0] * (1 + lambda), m11 = jtj[2] * (1 + lambda), m01 = jtj[1];
        double det = m00 * m11 - m01 * m01;
        if (!(det != 0))
            break;
        double sa = -(m11 * jtr[0] - m01 * jtr[1]) / det, sb = -(m00 * jtr[1] - m01 * jtr[0]) / det;
        double na = a + sa, nb = b + sb;
        double next = na > 0 && nb > 0 ? residuals(x, t, na, nb, NULL, NULL) : INFINITY;
        if (next < cost) {
            int small = fabs(sa) <= 1e-12 * fabs(a) && fabs(sb) <= 1e-12 * fabs(b);
            a = na;
            b = nb;
            cost = residuals(x, t, a, b, jtj, jtr);
            lambda = fmax(lambda / 10, 1e-12);
            if (small)
                break;
        } else if ((lambda *= 10) > 1e12) {
            break;
        }
    }
    *a_out = a;
    *b_out = b;
    return 0;
}

/* ---- checks ------------------------------------------------------------- */

static int check(const nerve_mat *x, const nerve_umap_options *o)
{
    if (o->neighbors < 2)
        return nerve_error_set(NERVE_EINPUT, "UMAP: neighbors must be at least 2 (the point and one other), not %lld",
                               (long long)o->neighbors);
    if (x->rows <= o->neighbors)
        return nerve_error_set(NERVE_EINPUT, "UMAP: %lld points; %lld neighbors need more than %lld",
                               (long long)x->rows, (long long)o->neighbors, (long long)o->neighbors);
    if (x->rows > INT32_MAX)
        return nerve_error_set(NERVE_EINPUT, "UMAP: %lld points; at most %d", (long long)x->rows, INT32_MAX);
    if (!(o->spread > 0) || !(o->min_dist >= 0) || !(o->min_dist <= o->spread))
        return nerve_error_set(NERVE_EINPUT, "UMAP: min_dist must be in [0, spread], spread > 0; not %g and %g",
                               o->min_dist, o->spread);
    if (o->epochs < 0 || !(o->learning_rate > 0) || !(o->repulsion >= 0) || o->negative_rate < 0)
        return nerve_error_set(NERVE_EINPUT,
                               "UMAP: epochs %lld, learning rate %g, repulsion %g, negative rate %lld: "
                               "want epochs >= 0, rate > 0, repulsion >= 0, negative rate >= 0",
                               (long long)o->epochs, o->learning_rate, o->repulsion, (long long)o->negative_rate);
    if (!(o->a >= 0) || !(o->b >= 0) || (o->a > 0) != (o->b > 0))
        return nerve_error_set(NERVE_EINPUT, "UMAP: a and b must both be > 0, or both 0 (fitted); not %g and %g",
                               o->a, o->b);
    if (o->init != NERVE_UMAP_SPECTRAL && o->init != NERVE_UMAP_RANDOM)
        return nerve_error_set(NERVE_EINPUT, "UMAP: unknown start %d", (int)o->init);
    for (int64_t i = 0; i < x->rows * x->cols; i++)
        if (!isfinite(x->data[i]))
            return nerve_error_set(NERVE_EINPUT, "UMAP: row %lld, column %lld is %g", (long long)(i / x->cols),
                                   (long long)(i % x->cols), x->data[i]);
    return 0;
}

/* ---- the start ---------------------------------------------------------- */

/* umap-learn's noisy_scale_coords for the spectral start (largest |y| 10,
 * noise of standard deviation 1e-4), then for any start each column
 * scaled into [0, 10]. */
static void scale_start(float *out, double *y, int64_t n, int noise, uint64_t seed)
{
    if (noise) {
        double top = 0;
        for (int64_t i = 0; i < 2 * n; i++)
            top = fmax(top, fabs(y[i]));
        double scale = top > 0 ? 10 / top : 1;
        nerve_rng r;
        nerve_rng_stream(&r, seed, UINT64_MAX - 1);
        for (int64_t i = 0; i < 2 * n; i++)
            y[i] = y[i] * scale + 1e-4 * nerve_rng_normal(&r);
    }
    for (int d = 0; d < 2; d++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            lo = fmin(lo, y[2 * i + d]);
            hi = fmax(hi, y[2 * i + d]);
        }
        double width = hi > lo ? hi - lo : 1;
        for (int64_t i = 0; i < n; i++)
            out[2 * i + d] = (float)(10 * (y[2 * i + d] - lo) / width);
    }
}

static int start(float *out, nerve_umap *u, const tsne_graph *g, const nerve_mat *x, const nerve_umap_options *o)
{
    int64_t n = g->n;
    double *y = nerve_alloc_array((size_t)(2 * n), sizeof *y, "UMAP start");
    int32_t *label = nerve_alloc_array((size_t)n, sizeof *label, "UMAP components");
    int rc = y && label ? 0 : NERVE_ENOMEM;
    if (rc == 0 && (u->components = umap_components(label, g)) < 0)
        rc = nerve_error_set(NERVE_ENOMEM, "UMAP: out of memory");
    if (rc == 0 && o->init == NERVE_UMAP_SPECTRAL)
        rc = umap_spectral(y, g, label, u->components, x, o->seed);
    if (rc == 0 && o->init == NERVE_UMAP_RANDOM) {
        nerve_rng r;
        nerve_rng_stream(&r, o->seed, UINT64_MAX - 1);
        for (int64_t i = 0; i < 2 * n; i++)
            y[i] = 20 * nerve_rng_uniform(&r) - 10;
    }
    if (rc == 0)
        scale_start(out, y, n, o->init == NERVE_UMAP_SPECTRAL, o->seed);
    free(y);
    free(label);
    return rc;
}

/* ---- the whole -------------------------------------------------------------- */

int nerve_umap_fit(nerve_umap *u, const nerve_mat *x, const nerve_umap_options *o, nerve_progress *bar)
{
    memset(u, 0, sizeof *u);
    int rc = check(x, o);
    if (rc < 0)
        return rc;
    int64_t n = x->rows;
    umap_sgd s = {
        .a = o->a,
        .b = o->b,
        .gamma = o->repulsion,
        .alpha = o->learning_rate,
        .epochs = o->epochs > 0 ? o->epochs : n <= 10000 ? 500 : 200,
        .negative_rate = o->negative_rate,
        .seed = o->seed,
    };
    if (s.a == 0 && (rc = nerve_umap_find_ab(&s.a, &s.b, o->spread, o->min_dist)) < 0)
        return rc;
    u->exact_neighbors = n < EXACT_BELOW;
    nerve_knn nn = { 0 };
    rc = u->exact_neighbors ? nerve_knn_exact(&nn, x, o->neighbors - 1, o->metric)
                            : nerve_knn_descent(&nn, x, o->neighbors - 1, o->metric, o->seed);
    tsne_graph g = { 0 };
    if (rc == 0)
        rc = umap_fuzzy_graph(&g, &nn, s.epochs > 10 ? s.epochs : n <= 10000 ? 500 : 200);
    nerve_knn_free(&nn);
    if (rc == 0)
        rc = nerve_mat_alloc(&u->y, n, 2);
    if (rc == 0)
        rc = start(u->y.data, u, &g, x, o);
    if (rc == 0)
        rc = umap_optimize(u->y.data, &g, &s, bar);
    if (rc == 0) {
        u->n = n;
        u->neighbors = o->neighbors;
        u->epochs = s.epochs;
        u->a = s.a;
        u->b = s.b;
        u->init = o->init;
        u->edges = g.start[n];
    }
    tsne_graph_free(&g);
    if (rc < 0)
        nerve_umap_free(u);
    return rc;
}
