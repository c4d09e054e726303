/*
 * tsne.c — t-SNE (van der Maaten and Hinton, 2008) in two dimensions, as
 * scikit-learn runs it: affinities from the 3 x perplexity nearest
 * neighbours with a per-point binary search for the bandwidth, symmetrised
 * and normalised; PCA initialisation scaled to standard deviation 1e-4;
 * gradient descent with momentum and per-coordinate gains, an early
 * exaggeration phase, then the rest. The repulsive forces are exact for
 * small N, Barnes-Hut (a quadtree, angle theta) up to large N, and
 * FFT-accelerated interpolation (FIt-SNE), whose cost per iteration grows
 * only linearly with N, above. Crossovers measured on 2 cores: exact 0.29
 * s, Barnes-Hut 0.09 s at 500 points; at 280,000 points Barnes-Hut 294 s,
 * FFT 309 s.
 *
 * Every per-point sum runs in a fixed order and the totals are added up
 * sequentially, so the embedding does not depend on the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/simd.h"
#include "embed_internal.h"
#include "nerve/knn.h"

enum { EXACT_BELOW = 500, BARNES_HUT_BELOW = 300000, PCA_DIMS = 50 };
static const double EXACT_KNN_WORK = 3e12;

const char *nerve_tsne_method_name(nerve_tsne_method m)
{
    return m == NERVE_TSNE_EXACT ? "exact" : m == NERVE_TSNE_BARNES_HUT ? "barnes-hut" : m == NERVE_TSNE_FFT ? "fft" : "auto";
}

int nerve_tsne_method_parse(const char *s, nerve_tsne_method *m)
{
    for (int i = NERVE_TSNE_AUTO; i <= NERVE_TSNE_FFT; i++)
        if (strcmp(s, nerve_tsne_method_name((nerve_tsne_method)i)) == 0) {
            *m = (nerve_tsne_method)i;
            return 0;
        }
    return -1;
}

void nerve_tsne_defaults(nerve_tsne_options *o)
{
    *o = (nerve_tsne_options){
        .perplexity = 30,
        .early_exaggeration = 12,
        .early_iters = 250,
        .iters = 750,
        .learning_rate = 0,
        .theta = 0.5,
        .method = NERVE_TSNE_AUTO,
        .seed = 0,
    };
}

void nerve_tsne_free(nerve_tsne *t)
{
    nerve_mat_free(&t->y);
    memset(t, 0, sizeof *t);
}

/* ---- affinities --------------------------------------------------------- */

/* scikit-learn's _binary_search_perplexity for one point: the conditional
 * probabilities over its neighbours (squared distances sq[0..k)). */
static void conditional_row(double *p, const float *dist, int64_t k, double perplexity)
{
    const double desired = log(perplexity), tol = 1e-5;
    double beta = 1, beta_min = -INFINITY, beta_max = INFINITY;
    for (int step = 0; step < 100; step++) {
        double sum = 0, sum_dp = 0;
        for (int64_t j = 0; j < k; j++) {
            double d2 = (double)dist[j] * dist[j];
            p[j] = exp(-d2 * beta);
            sum += p[j];
        }
        if (sum == 0)
            sum = 1e-8;
        for (int64_t j = 0; j < k; j++) {
            p[j] /= sum;
            sum_dp += (double)dist[j] * dist[j] * p[j];
        }
        double entropy = log(sum) + beta * sum_dp, diff = entropy - desired;
        if (fabs(diff) <= tol)
            break;
        if (diff > 0) {
            beta_min = beta;
            beta = beta_max == INFINITY ? beta * 2 : (beta + beta_max) / 2;
        } else {
            beta_max = beta;
            beta = beta_min == -INFINITY ? beta / 2 : (beta + beta_min) / 2;
        }
    }
}

/* The joint P = (P + P^T) / sum as symmetric CSR lists. */
static int joint_probabilities(tsne_graph *g, const nerve_knn *nn, double perplexity)
{
    int64_t n = nn->n, k = nn->k;
    double *cond = malloc((size_t)(n * k) * sizeof *cond);
    int64_t *deg = calloc((size_t)n + 1, sizeof *deg);
    if (!cond || !deg) {
        free(cond);
        free(deg);
        return -1;
    }
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        conditional_row(cond + i * k, nn->dist + i * k, k, perplexity);
    /* Both directions of every pair; repeats are merged below. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t a = 0; a < k; a++) {
            deg[i + 1]++;
            deg[nn->index[i * k + a] + 1]++;
        }
    for (int64_t i = 0; i < n; i++)
        deg[i + 1] += deg[i];
    g->n = n;
    g->start = deg;
    g->col = malloc((size_t)deg[n] * sizeof *g->col);
    g->p = malloc((size_t)deg[n] * sizeof *g->p);
    int64_t *fill = malloc((size_t)n * sizeof *fill);
    if (!g->col || !g->p || !fill) {
        free(cond);
        free(fill);
        return -1;
    }
    memcpy(fill, deg, (size_t)n * sizeof *fill);
    for (int64_t i = 0; i < n; i++)
        for (int64_t a = 0; a < k; a++) {
            int64_t j = nn->index[i * k + a];
            g->col[fill[i]] = j;
            g->p[fill[i]++] = cond[i * k + a];
            g->col[fill[j]] = i;
            g->p[fill[j]++] = cond[i * k + a];
        }
    free(cond);
    free(fill);
    tsne_graph_merge(g);
    double total = 0;
    for (int64_t e = 0; e < g->start[n]; e++)
        total += g->p[e];
    for (int64_t e = 0; e < g->start[n]; e++)
        g->p[e] /= total > 2.2e-16 ? total : 2.2e-16;
    return 0;
}

/* ---- forces ------------------------------------------------------------- */

/* Row i's attraction sum_j p_ij q_ij (y_i - y_j), q unnormalised, into f. */
NERVE_SIMD_CLONES
static void attract_row(double *f, const int64_t *restrict col, const double *restrict p, int64_t count,
                        const double *restrict y, double yx, double yy)
{
    double fx = 0, fy = 0;
    #pragma omp simd reduction(+ : fx, fy)
    for (int64_t e = 0; e < count; e++) {
        int64_t j = col[e];
        double dx = yx - y[2 * j], dy = yy - y[2 * j + 1];
        double q = 1 / (1 + dx * dx + dy * dy);
        fx += p[e] * q * dx;
        fy += p[e] * q * dy;
    }
    f[0] = fx;
    f[1] = fy;
}

/* Attractive forces, exaggerated: the rows shared among the threads of the
 * enclosing parallel region. */
static void attractive(double *f, const tsne_graph *g, const double *y, double exaggeration)
{
    #pragma omp for schedule(dynamic, 256)
    for (int64_t i = 0; i < g->n; i++) {
        int64_t s = g->start[i];
        attract_row(f + 2 * i, g->col + s, g->p + s, g->start[i + 1] - s, y, y[2 * i], y[2 * i + 1]);
        f[2 * i] *= exaggeration;
        f[2 * i + 1] *= exaggeration;
    }
}

void tsne_repulsive_exact(double *rep, double *z, const double *y, int64_t n)
{
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double fx = 0, fy = 0, zi = 0;
        for (int64_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            double q = 1 / (1 + dx * dx + dy * dy);
            zi += q;
            fx += q * q * dx;
            fy += q * q * dy;
        }
        rep[2 * i] = fx;
        rep[2 * i + 1] = fy;
        z[i] = zi;
    }
}

/* The gradient 4 (attraction - repulsion / Z), and Z. For Barnes-Hut one
 * thread builds the quadtree while the others start on the attraction. */
static int gradient(double *grad, double *z, tsne_work *w, const tsne_graph *g, const double *y,
                    double exaggeration, nerve_tsne_method method, double theta)
{
    int64_t n = g->n;
    int built = 0;
    #pragma omp parallel
    {
        if (method == NERVE_TSNE_BARNES_HUT) {
            #pragma omp single nowait
            built = tsne_tree_build(&w->tree, y, n);
        }
        attractive(grad, g, y, exaggeration);
    }
    if (built < 0)
        return nerve_error_set(NERVE_ENOMEM, "t-SNE: out of memory");
    if (method == NERVE_TSNE_EXACT)
        tsne_repulsive_exact(w->rep, w->z, y, n);
    else if (method == NERVE_TSNE_BARNES_HUT ? tsne_repulsive_bh(w->rep, w->z, &w->tree, theta) < 0
                                              : tsne_repulsive_fft(w->rep, w->z, &w->fft, y, n) < 0)
        return -1;
    *z = 0;
    for (int64_t i = 0; i < n; i++)
        *z += w->z[i];
    for (int64_t i = 0; i < 2 * n; i++)
        grad[i] = 4 * (grad[i] - w->rep[i] / *z);
    return 0;
}

/* KL(P || Q) with Z given. */
static double kl_divergence(const tsne_graph *g, const double *y, double z)
{
    double kl = 0;
    for (int64_t i = 0; i < g->n; i++)
        for (int64_t e = g->start[i]; e < g->start[i + 1]; e++) {
            int64_t j = g->col[e];
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            double q = 1 / (1 + dx * dx + dy * dy) / z;
            if (g->p[e] > 0)
                kl += g->p[e] * log(fmax(g->p[e], 1e-300) / fmax(q, 1e-300));
        }
    return kl;
}

/* ---- set-up ------------------------------------------------------------- */

/* The neighbours t-SNE's affinities use: 3 x perplexity of them, on the
 * leading 50 principal components when the points are wider; exact up to
 * EXACT_KNN_WORK (N^2 d; 70,000 x 50 is 2.5e11), as NN-descent's cost grows
 * with the square of k and t-SNE's k is large. */
static int neighbours(nerve_knn *nn, const nerve_mat *x, int64_t k, uint64_t seed)
{
    nerve_pca p = { 0 };
    const nerve_mat *use = x;
    int rc = 0;
    if (x->cols > PCA_DIMS && x->rows > PCA_DIMS) {
        rc = nerve_pca_fit(&p, x, PCA_DIMS);
        use = &p.scores;
    }
    if (rc == 0)
        rc = (double)use->rows * (double)use->rows * (double)use->cols <= EXACT_KNN_WORK
                 ? nerve_knn_exact(nn, use, k, NERVE_METRIC_EUCLIDEAN)
                 : nerve_knn_descent(nn, use, k, NERVE_METRIC_EUCLIDEAN, seed);
    nerve_pca_free(&p);
    return rc;
}

/* The first two principal components, scaled so the first has standard
 * deviation 1e-4 (scikit-learn's init="pca"). */
static int pca_start(double *y, const nerve_mat *x)
{
    nerve_pca p;
    int rc = nerve_pca_fit(&p, x, x->cols >= 2 ? 2 : 1);
    if (rc < 0)
        return rc;
    int64_t n = x->rows;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; i++)
        mean += p.scores.data[i * p.k] / (double)n;
    for (int64_t i = 0; i < n; i++)
        var += (p.scores.data[i * p.k] - mean) * (p.scores.data[i * p.k] - mean) / (double)n;
    double scale = var > 0 ? 1e-4 / sqrt(var) : 1;
    for (int64_t i = 0; i < n; i++) {
        y[2 * i] = p.scores.data[i * p.k] * scale;
        y[2 * i + 1] = p.k > 1 ? p.scores.data[i * p.k + 1] * scale : 0;
    }
    nerve_pca_free(&p);
    return 0;
}

static int check(const nerve_mat *x, const nerve_tsne_options *o)
{
    if (!(o->perplexity > 0))
        return nerve_error_set(NERVE_EINPUT, "t-SNE: the perplexity must be > 0, not %g", o->perplexity);
    if ((double)x->rows <= 3 * o->perplexity)
        return nerve_error_set(NERVE_EINPUT, "t-SNE: %lld points; perplexity %g needs more than %g (3 x perplexity)",
                               (long long)x->rows, o->perplexity, 3 * o->perplexity);
    if (o->iters < 1 || o->early_iters < 0 || o->early_iters > o->iters)
        return nerve_error_set(NERVE_EINPUT, "t-SNE: %lld iterations with %lld exaggerated", (long long)o->iters,
                               (long long)o->early_iters);
    if (!(o->theta >= 0 && o->theta < 1.5))
        return nerve_error_set(NERVE_EINPUT, "t-SNE: theta must be in [0, 1.5), not %g", o->theta);
    for (int64_t i = 0; i < x->rows * x->cols; i++)
        if (!isfinite(x->data[i]))
            return nerve_error_set(NERVE_EINPUT, "t-SNE: row %lld, column %lld is %g", (long long)(i / x->cols),
                                   (long long)(i % x->cols), x->data[i]);
    return 0;
}

/* ---- the descent -------------------------------------------------------- */

/* One step of scikit-learn's _gradient_descent: gains grow by 0.2 where
 * the gradient changed sign against the last update, shrink by 0.8 where
 * not (at least 0.01); then a momentum step. */
static void descend(double *y, double *update, double *gains, double *grad, int64_t n, double momentum, double lr)
{
    for (int64_t i = 0; i < 2 * n; i++) {
        gains[i] = update[i] * grad[i] < 0 ? gains[i] + 0.2 : gains[i] * 0.8;
        if (gains[i] < 0.01)
            gains[i] = 0.01;
        update[i] = momentum * update[i] - lr * gains[i] * grad[i];
        y[i] += update[i];
    }
}

static void work_free(tsne_work *w)
{
    free(w->rep);
    free(w->z);
    tsne_tree_free(&w->tree);
    tsne_fft_free(w->fft);
}

int nerve_tsne_fit(nerve_tsne *t, const nerve_mat *x, const nerve_tsne_options *o, nerve_progress *bar)
{
    memset(t, 0, sizeof *t);
    int rc = check(x, o);
    if (rc < 0)
        return rc;
    int64_t n = x->rows, k = (int64_t)(3 * o->perplexity + 1);
    if (k > n - 1)
        k = n - 1;
    nerve_tsne_method method = o->method != NERVE_TSNE_AUTO ? o->method
                             : n < EXACT_BELOW                ? NERVE_TSNE_EXACT
                             : n < BARNES_HUT_BELOW           ? NERVE_TSNE_BARNES_HUT
                                                              : NERVE_TSNE_FFT;
    double lr = o->learning_rate > 0 ? o->learning_rate : fmax((double)n / 12, 200);
    nerve_knn nn = { 0 };
    tsne_graph g = { 0 };
    tsne_work w = { 0 };
    double *y = malloc((size_t)(2 * n) * sizeof *y), *update = calloc((size_t)(2 * n), sizeof *update);
    double *gains = malloc((size_t)(2 * n) * sizeof *gains), *grad = malloc((size_t)(2 * n) * sizeof *grad);
    w.rep = malloc((size_t)(2 * n) * sizeof *w.rep);
    w.z = malloc((size_t)n * sizeof *w.z);
    if (!y || !update || !gains || !grad || !w.rep || !w.z)
        rc = nerve_error_set(NERVE_ENOMEM, "t-SNE: out of memory");
    if (rc == 0)
        rc = neighbours(&nn, x, k, o->seed);
    if (rc == 0 && joint_probabilities(&g, &nn, o->perplexity) < 0)
        rc = nerve_error_set(NERVE_ENOMEM, "t-SNE: out of memory");
    nerve_knn_free(&nn);
    if (rc == 0)
        rc = pca_start(y, x);
    for (int64_t i = 0; i < 2 * n && rc == 0; i++)
        gains[i] = 1;
    double z = 1;
    for (int64_t it = 0; it < o->iters && rc == 0; it++) {
        int early = it < o->early_iters;
        if (it == o->early_iters)   /* scikit-learn starts each phase afresh */
            for (int64_t i = 0; i < 2 * n; i++) {
                update[i] = 0;
                gains[i] = 1;
            }
        if ((rc = gradient(grad, &z, &w, &g, y, early ? o->early_exaggeration : 1, method, o->theta)) < 0)
            break;
        descend(y, update, gains, grad, n, early ? 0.5 : 0.8, lr);
        if (bar)
            nerve_progress_update(bar, it + 1);
        if (nerve_interrupted())
            rc = nerve_error_set(NERVE_EINTERRUPTED, "t-SNE: interrupted");
    }
    if (rc == 0) {
        /* The final KL with Z for the final positions (exact for exact
         * runs, Barnes-Hut's estimate otherwise, as scikit-learn reports). */
        rc = gradient(grad, &z, &w, &g, y, 1, method, o->theta);
        t->kl = kl_divergence(&g, y, z);
        t->n = n;
        t->iters = o->iters;
        t->method = method;
        t->learning_rate = lr;
        if (rc == 0)
            rc = nerve_mat_alloc(&t->y, n, 2);
    }
    for (int64_t i = 0; i < 2 * n && rc == 0; i++)
        t->y.data[i] = (float)y[i];
    free(y);
    free(update);
    free(gains);
    free(grad);
    work_free(&w);
    tsne_graph_free(&g);
    if (rc < 0)
        nerve_tsne_free(t);
    return rc;
}
