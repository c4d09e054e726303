/*
 * cluster.c — clustering inside one cover element besides DBSCAN
 * (dbscan.c): single linkage (cut at a fixed height or at the first gap of
 * the heights' histogram), and DBSCAN's automatic eps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mapper_internal.h"

const char *nerve_cluster_name(nerve_cluster_kind k)
{
    return k == NERVE_CLUSTER_LINKAGE_GAP ? "linkage-gap" : k == NERVE_CLUSTER_LINKAGE ? "linkage" : "dbscan";
}

int nerve_cluster_parse(const char *s, nerve_cluster_kind *k)
{
    for (int i = NERVE_CLUSTER_DBSCAN; i <= NERVE_CLUSTER_LINKAGE; i++)
        if (strcmp(s, nerve_cluster_name((nerve_cluster_kind)i)) == 0) {
            *k = (nerve_cluster_kind)i;
            return 0;
        }
    return -1;
}

/* Prim's minimum spanning tree over the complete graph: parent[i] and the
 * edge height[i] join point i (i > 0 in tree order) to the tree. */
static int spanning_tree(int32_t *parent, double *height, const nerve_mat *x, nerve_metric metric)
{
    int64_t n = x->rows, d = x->cols;
    double *best = malloc((size_t)n * sizeof *best);
    char *in = calloc((size_t)n, 1);
    if (!best || !in) {
        free(best);
        free(in);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        best[i] = INFINITY;
        parent[i] = -1;
        height[i] = 0;
    }
    int64_t cur = 0;
    in[0] = 1;
    for (int64_t step = 1; step < n; step++) {
        int64_t next = -1;
        for (int64_t j = 0; j < n; j++) {
            if (in[j])
                continue;
            double dj = nerve_knn_distance(x->data + cur * d, x->data + j * d, d, metric);
            if (dj < best[j]) {
                best[j] = dj;
                parent[j] = (int32_t)cur;
            }
            if (next < 0 || best[j] < best[next])
                next = j;
        }
        in[next] = 1;
        height[next] = best[next];
        cur = next;
    }
    free(best);
    free(in);
    return 0;
}

/* The gap heuristic of Singh, Mémoli and Carlsson (2007): histogram the
 * tree's edge heights in `bins` bins; cut at the start of the first empty
 * bin, or keep one cluster when there is none. */
static double gap_cut(const double *height, int64_t n, int64_t bins)
{
    double hmin = INFINITY, hmax = -INFINITY;
    for (int64_t i = 1; i < n; i++) {
        hmin = height[i] < hmin ? height[i] : hmin;
        hmax = height[i] > hmax ? height[i] : hmax;
    }
    if (n < 3 || !(hmax > hmin))
        return INFINITY;
    int64_t *count = calloc((size_t)bins, sizeof *count);
    if (!count)
        return INFINITY;
    double w = (hmax - hmin) / (double)bins;
    for (int64_t i = 1; i < n; i++) {
        int64_t b = (int64_t)((height[i] - hmin) / w);
        count[b < bins ? b : bins - 1]++;
    }
    double cut = INFINITY;
    for (int64_t b = 0; b < bins; b++)
        if (count[b] == 0) {
            cut = hmin + (double)b * w;
            break;
        }
    free(count);
    return cut;
}

/* Single linkage: points joined by tree edges of height <= cut (or below
 * the gap when cut < 0) share a cluster; clusters are numbered in the
 * order of their smallest point, and every point is in one. */
int64_t mapper_linkage(int32_t *labels, const nerve_mat *x, nerve_metric metric, double cut, int64_t bins)
{
    int64_t n = x->rows;
    int32_t *parent = malloc((size_t)n * sizeof *parent), *up = malloc((size_t)n * sizeof *up);
    double *height = malloc((size_t)n * sizeof *height);
    if (!parent || !up || !height || spanning_tree(parent, height, x, metric) < 0) {
        free(parent);
        free(up);
        free(height);
        return nerve_error_set(NERVE_ENOMEM, "linkage: out of memory");
    }
    if (cut < 0)
        cut = gap_cut(height, n, bins);
    for (int64_t i = 0; i < n; i++)
        up[i] = (int32_t)i;
    for (int64_t i = 0; i < n; i++)
        if (parent[i] >= 0 && height[i] <= cut) {
            int64_t a = mapper_find_root(up, i), b = mapper_find_root(up, parent[i]);
            up[a > b ? a : b] = (int32_t)(a < b ? a : b);
        }
    int64_t label = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = mapper_find_root(up, i);
        labels[i] = r == i ? (int32_t)label++ : labels[r];
    }
    free(parent);
    free(up);
    free(height);
    return label;
}

/* ---- automatic eps ------------------------------------------------------ */

enum { EPS_SAMPLE = 5000 };

/* The knee of an ascending curve: on axes scaled to [0, 1], the point
 * farthest below the chord from the first point to the last. */
double mapper_knee(const double *y, int64_t n)
{
    if (n < 3 || !(y[n - 1] > y[0]))
        return y[n - 1];
    double best = -1, at = y[n - 1];
    for (int64_t i = 0; i < n; i++) {
        double fx = (double)i / (double)(n - 1), fy = (y[i] - y[0]) / (y[n - 1] - y[0]);
        if (fx - fy > best) {
            best = fx - fy;
            at = y[i];
        }
    }
    return at;
}

/* A seeded sample of m distinct rows (all of them when m >= n). */
static int sample_rows(nerve_mat *out, const nerve_mat *x, int64_t m, uint64_t seed)
{
    int64_t n = x->rows;
    m = m < n ? m : n;
    int64_t *pick = malloc((size_t)n * sizeof *pick);
    int rc = pick ? nerve_mat_alloc(out, m, x->cols) : nerve_error_set(NERVE_ENOMEM, "eps: out of memory");
    if (rc < 0) {
        free(pick);
        return rc;
    }
    nerve_rng r;
    nerve_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++)
        pick[i] = i;
    for (int64_t i = 0; i < m; i++) {
        int64_t j = i + (int64_t)nerve_rng_below(&r, (uint64_t)(n - i)), t = pick[i];
        pick[i] = pick[j];
        pick[j] = t;
        memcpy(out->data + i * x->cols, x->data + pick[i] * x->cols, (size_t)x->cols * sizeof *x->data);
    }
    free(pick);
    return 0;
}

int nerve_mapper_auto_eps(double *eps, const nerve_mat *points, int64_t min_samples, nerve_metric metric,
                          uint64_t seed)
{
    if (min_samples < 2 || min_samples > points->rows)
        return nerve_error_set(NERVE_EINPUT, "automatic eps: min_samples = %lld needs 2 to %lld points",
                               (long long)min_samples, (long long)points->rows);
    nerve_mat q = { 0 };
    nerve_knn nn = { 0 };
    int rc = sample_rows(&q, points, EPS_SAMPLE, seed);
    /* The query is among the points, so its own distance 0 comes first and
     * the min_samples-th entry is scikit-learn's min_samples-th neighbour. */
    if (rc == 0)
        rc = nerve_knn_query(&nn, &q, points, min_samples, metric);
    double *kth = rc == 0 ? malloc((size_t)q.rows * sizeof *kth) : NULL;
    if (rc == 0 && !kth)
        rc = nerve_error_set(NERVE_ENOMEM, "eps: out of memory");
    if (rc == 0) {
        for (int64_t i = 0; i < q.rows; i++)
            kth[i] = nn.dist[i * min_samples + min_samples - 1];
        qsort(kth, (size_t)q.rows, sizeof *kth, nerve_compare_doubles);
        *eps = mapper_knee(kth, q.rows);
        if (!(*eps > 0))
            rc = nerve_error_set(NERVE_EINPUT, "automatic eps: the %lld-th neighbour distances are all 0 "
                                 "(duplicated points); give --eps", (long long)min_samples);
    }
    free(kth);
    nerve_knn_free(&nn);
    nerve_mat_free(&q);
    return rc;
}
