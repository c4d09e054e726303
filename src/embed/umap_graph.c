/*
 * umap_graph.c — UMAP's fuzzy simplicial set, as umap-learn 0.5 builds it
 * (umap_.py: smooth_knn_dist, compute_membership_strengths,
 * fuzzy_simplicial_set with set_op_mix_ratio 1 and local_connectivity 1),
 * from nerve's k nearest others of each point; and its connected
 * components, which the spectral start lays out one by one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "embed_internal.h"

/* umap-learn's SMOOTH_K_TOLERANCE and MIN_K_DIST_SCALE. */
static const double SMOOTH_K_TOLERANCE = 1e-5, MIN_K_DIST_SCALE = 1e-3;

void umap_smooth_knn(double *rho_out, double *sigma_out, const float *dist, int64_t k, double mean_all)
{
    /* umap-learn's row holds the point itself first at distance 0, so
     * n_neighbors is k + 1 and the row's mean counts that 0. */
    const double target = log2((double)(k + 1));
    double rho = 0, sum = 0;
    for (int64_t j = 0; j < k; j++) {
        sum += dist[j];
        if (rho == 0 && dist[j] > 0)
            rho = dist[j];   /* local_connectivity 1: the nearest non-zero distance */
    }
    double lo = 0, hi = INFINITY, mid = 1;
    for (int it = 0; it < 64; it++) {
        double psum = 0;
        for (int64_t j = 0; j < k; j++) {
            double d = dist[j] - rho;
            psum += d > 0 ? exp(-(d / mid)) : 1;
        }
        if (fabs(psum - target) < SMOOTH_K_TOLERANCE)
            break;
        if (psum > target) {
            hi = mid;
            mid = (lo + hi) / 2;
        } else {
            lo = mid;
            mid = hi == INFINITY ? mid * 2 : (lo + hi) / 2;
        }
    }
    /* A floor on sigma: a point whose neighbours all sit at rho would get
     * sigma -> 0. */
    double floor = MIN_K_DIST_SCALE * (rho > 0 ? sum / (double)(k + 1) : mean_all);
    *rho_out = rho;
    *sigma_out = mid < floor ? floor : mid;
}

/* The membership strength of i's a-th neighbour. */
static double membership(float d, double rho, double sigma)
{
    return d - rho <= 0 || sigma == 0 ? 1 : exp(-((d - rho) / sigma));
}

/* The strength of j -> i in the directed graph (rows sorted by column), or
 * 0 if i is not among j's neighbours. */
static double directed(const int64_t *col, const double *w, int64_t k, int64_t j, int64_t i)
{
    int64_t lo = j * k, hi = lo + k;
    while (lo < hi) {
        int64_t m = (lo + hi) / 2;
        if (col[m] < i)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < j * k + k && col[lo] == i ? w[lo] : 0;
}

/* Sorts a row of (col, w) pairs by column: rows are k long. */
static void sort_row(int64_t *col, double *w, int64_t k)
{
    for (int64_t a = 1; a < k; a++) {
        int64_t c = col[a];
        double v = w[a];
        int64_t b = a - 1;
        while (b >= 0 && col[b] > c) {
            col[b + 1] = col[b];
            w[b + 1] = w[b];
            b--;
        }
        col[b + 1] = c;
        w[b + 1] = v;
    }
}

/* Drops the edges umap-learn's simplicial_set_embedding zeroes: those below
 * the largest weight / epochs (they would be sampled less than once) and
 * those of weight 0. */
static void prune(tsne_graph *g, int64_t epochs)
{
    double top = 0;
    for (int64_t e = 0; e < g->start[g->n]; e++)
        top = fmax(top, g->p[e]);
    double cut = top / (double)epochs;
    int64_t at = 0;
    for (int64_t i = 0; i < g->n; i++) {
        int64_t s = g->start[i], e = g->start[i + 1];
        g->start[i] = at;
        for (int64_t a = s; a < e; a++)
            if (g->p[a] > 0 && !(g->p[a] < cut)) {
                g->col[at] = g->col[a];
                g->p[at++] = g->p[a];
            }
    }
    g->start[g->n] = at;
}

int umap_fuzzy_graph(tsne_graph *g, const nerve_knn *nn, int64_t epochs)
{
    int64_t n = nn->n, k = nn->k;
    memset(g, 0, sizeof *g);
    double mean_all = 0;
    for (int64_t e = 0; e < n * k; e++)
        mean_all += nn->dist[e];
    mean_all /= (double)(n * (k + 1));
    int64_t *col = nerve_alloc_array((size_t)(n * k), sizeof *col, "UMAP neighbour lists");
    double *w = nerve_alloc_array((size_t)(n * k), sizeof *w, "UMAP memberships");
    int64_t *deg = nerve_zalloc_array((size_t)n + 1, sizeof *deg, "UMAP graph rows");
    if (!col || !w || !deg) {
        free(col);
        free(w);
        free(deg);
        return NERVE_ENOMEM;
    }
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double rho, sigma;
        umap_smooth_knn(&rho, &sigma, nn->dist + i * k, k, mean_all);
        for (int64_t a = 0; a < k; a++) {
            col[i * k + a] = nn->index[i * k + a];
            w[i * k + a] = membership(nn->dist[i * k + a], rho, sigma);
        }
        sort_row(col + i * k, w + i * k, k);
    }
    /* The fuzzy union: a + b - ab for the pair's two directions. Each
     * directed entry i -> j writes (i, j); when j -> i is absent it also
     * writes (j, i), which j's own row cannot. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t a = i * k; a < i * k + k; a++) {
            deg[i + 1]++;
            if (directed(col, w, k, col[a], i) == 0)
                deg[col[a] + 1]++;
        }
    for (int64_t i = 0; i < n; i++)
        deg[i + 1] += deg[i];
    g->n = n;
    g->start = deg;
    g->col = nerve_alloc_array((size_t)deg[n], sizeof *g->col, "UMAP graph edges");
    g->p = nerve_alloc_array((size_t)deg[n], sizeof *g->p, "UMAP graph weights");
    int64_t *fill = nerve_alloc_array((size_t)n, sizeof *fill, "UMAP graph rows");
    if (!g->col || !g->p || !fill) {
        free(col);
        free(w);
        free(fill);
        tsne_graph_free(g);
        return NERVE_ENOMEM;
    }
    memcpy(fill, deg, (size_t)n * sizeof *fill);
    for (int64_t i = 0; i < n; i++)
        for (int64_t a = i * k; a < i * k + k; a++) {
            int64_t j = col[a];
            double back = directed(col, w, k, j, i), u = w[a] + back - w[a] * back;
            g->col[fill[i]] = j;
            g->p[fill[i]++] = u;
            if (back == 0) {
                g->col[fill[j]] = i;
                g->p[fill[j]++] = u;
            }
        }
    free(col);
    free(w);
    free(fill);
    tsne_graph_merge(g);   /* sorts the rows; no pair is there twice */
    prune(g, epochs);
    return 0;
}

int64_t umap_components(int32_t *label, const tsne_graph *g)
{
    int64_t n = g->n, count = 0;
    for (int64_t i = 0; i < n; i++)
        label[i] = -1;
    /* A depth-first search from each unlabelled point; stack[] holds the
     * points found and not yet expanded (each point enters once). */
    int64_t *stack = malloc((size_t)(n ? n : 1) * sizeof *stack);
    if (!stack)
        return -1;
    for (int64_t s = 0; s < n; s++) {
        if (label[s] >= 0)
            continue;
        int64_t top = 0;
        stack[top++] = s;
        label[s] = (int32_t)count;
        while (top > 0) {
            int64_t i = stack[--top];
            for (int64_t e = g->start[i]; e < g->start[i + 1]; e++)
                if (label[g->col[e]] < 0) {
                    label[g->col[e]] = (int32_t)count;
                    stack[top++] = g->col[e];
                }
        }
        count++;
    }
    free(stack);
    return count;
}
