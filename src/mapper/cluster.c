/*
 * cluster.c — clustering inside one cover element: DBSCAN over
 * runs of pairs within eps, single linkage (cut at a fixed height or at the
 * first gap of the heights' histogram), and DBSCAN's automatic eps.
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

/* ---- DBSCAN ------------------------------------------------------------- */

/* Union-find (DBSCAN's core components, single linkage's cut): the root
 * of x, halving the path. */
static int32_t find_root(int32_t *up, int32_t x)
{
    while (up[x] != x) {
        up[x] = up[up[x]];
        x = up[x];
    }
    return x;
}

/* The points of one kind (core or not) in index order, and for every
 * index j the rank among them of the first such point at or after j. */
typedef struct kind_index {
    int32_t *at;       /* (count) */
    int32_t *from;     /* (n + 1) */
    int64_t  count;
} kind_index;

static int kind_index_make(kind_index *k, const int32_t *degree, int64_t n, int64_t min_samples, int core)
{
    k->at = malloc((size_t)n * sizeof *k->at + 1);
    k->from = malloc(((size_t)n + 1) * sizeof *k->from);
    if (!k->at || !k->from)
        return -1;
    k->count = 0;
    for (int64_t j = 0; j < n; j++) {
        k->from[j] = (int32_t)k->count;
        if ((degree[j] >= min_samples) == core)
            k->at[k->count++] = (int32_t)j;
    }
    k->from[n] = (int32_t)k->count;
    return 0;
}

static void kind_index_free(kind_index *k)
{
    free(k->at);
    free(k->from);
}

/* Degrees (each point counts itself): a run's point gets its length, each
 * point in it one, through a difference array. */
static void count_degrees(int32_t *degree, int64_t n, const nerve_pair_runs *r, int32_t *diff)
{
    memset(diff, 0, ((size_t)n + 1) * sizeof *diff);
    for (int64_t i = 0; i < n; i++)
        degree[i] = 1;
    for (int64_t e = 0; e < r->n; e++) {
        const int32_t *run = r->run + 3 * e;
        degree[run[0]] += run[2] - run[1];
        diff[run[1]]++;
        diff[run[2]]--;
    }
    for (int64_t j = 0, in = 0; j < n; j++) {
        in += diff[j];
        degree[j] += (int32_t)in;
    }
}

static void join(int32_t *up, int32_t a, int32_t b)
{
    a = find_root(up, a);
    b = find_root(up, b);
    up[a > b ? a : b] = a < b ? a : b;   /* the root is the component's first point */
}

/* Joins the core points of a run to its core point: to the run's first
 * core point, and each core point to the next. A link between consecutive
 * core points (by rank) is made once in all: next[r] skips to the first
 * rank at or after r whose link to r + 1 is not made yet. */
static void join_run(int32_t *up, int32_t *next, const kind_index *core, const int32_t *run)
{
    int32_t r0 = core->from[run[1]], r1 = core->from[run[2]];
    if (r0 == r1)
        return;
    join(up, run[0], core->at[r0]);
    for (int32_t r = find_root(next, r0); r + 1 < r1; r = find_root(next, r + 1)) {
        join(up, core->at[r], core->at[r + 1]);
        next[r] = r + 1;
    }
}

/* A border point's label: the first numbered of the clusters offered. */
static void lower(int32_t *label, int32_t offered)
{
    *label = offered < *label ? offered : *label;
}

/* scikit-learn's DBSCAN labels, from the pairs within eps rather than by its
 * depth-first search over neighbour lists, which gives the same: a point
 * is core when its neighbourhood (itself included) holds min_samples
 * points; clusters are the components of core points joined by pairs,
 * numbered in the order of their first core point (the search starts a
 * cluster there and finishes it before the next); a border point joins the
 * first numbered of the clusters its core neighbours are in; the rest is
 * noise (-1). Time O(n min_samples + runs): a border point has fewer than
 * min_samples neighbours, so walking the border points of a run, or a
 * border point's run, costs at most that per point. */
int64_t mapper_dbscan(int32_t *labels, int64_t n, const nerve_pair_runs *r, int64_t min_samples)
{
    int32_t *degree = malloc((size_t)n * sizeof *degree + 1), *up = malloc(((size_t)n + 1) * sizeof *up);
    kind_index core = { 0 }, border = { 0 };
    int rc = degree && up ? 0 : -1;
    if (rc == 0) {
        count_degrees(degree, n, r, up);   /* up (n + 1) as the difference array, for now */
        rc = kind_index_make(&core, degree, n, min_samples, 1) | kind_index_make(&border, degree, n, min_samples, 0);
    }
    int32_t *next = rc == 0 ? malloc(((size_t)core.count + 1) * sizeof *next) : NULL;
    if (rc < 0 || !next) {
        free(degree);
        free(up);
        free(next);
        kind_index_free(&core);
        kind_index_free(&border);
        return nerve_error_set(NERVE_ENOMEM, "dbscan: out of memory");
    }
    for (int64_t i = 0; i < n; i++)
        up[i] = (int32_t)i;
    for (int64_t k = 0; k <= core.count; k++)
        next[k] = (int32_t)k;
    for (int64_t e = 0; e < r->n; e++)
        if (degree[r->run[3 * e]] >= min_samples)
            join_run(up, next, &core, r->run + 3 * e);
    /* Roots come first in their components, so numbering core points in
     * index order numbers each cluster at its first core point. */
    int64_t clusters = 0;
    for (int64_t i = 0; i < n; i++) {
        labels[i] = INT32_MAX;
        if (degree[i] >= min_samples)
            labels[i] = up[i] == i ? (int32_t)clusters++ : labels[find_root(up, (int32_t)i)];
    }
    for (int64_t e = 0; e < r->n; e++) {
        const int32_t *run = r->run + 3 * e;
        int32_t i = run[0];
        if (degree[i] >= min_samples)   /* the run's border points may join i's cluster */
            for (int32_t k = border.from[run[1]]; k < border.from[run[2]]; k++)
                lower(&labels[border.at[k]], labels[i]);
        else                            /* i may join its core neighbours' */
            for (int32_t k = core.from[run[1]]; k < core.from[run[2]]; k++)
                lower(&labels[i], labels[core.at[k]]);
    }
    for (int64_t i = 0; i < n; i++)
        if (labels[i] == INT32_MAX)
            labels[i] = -1;
    free(degree);
    free(up);
    free(next);
    kind_index_free(&core);
    kind_index_free(&border);
    return clusters;
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
            int64_t a = find_root(up, i), b = find_root(up, parent[i]);
            up[a > b ? a : b] = (int32_t)(a < b ? a : b);
        }
    int64_t label = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = find_root(up, i);
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
