/*
 * dbscan.c — scikit-learn's DBSCAN labels from the pairs of points within
 * eps, in two passes over the pairs: the first counts each point's
 * neighbours (which points are core), the second joins core points and
 * collects what each border point is offered. Neither pass needs the pairs
 * kept, so a dense element can stream them from the radius search twice
 * instead of holding them all: a cloud of 70,000 near-duplicates has
 * billions of pairs.
 */
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "mapper_internal.h"

/* The points of one kind (core or not) in index order, and for every
 * index j the rank among them of the first such point at or after j. */
typedef struct kind_index {
    int32_t *at;       /* (count) */
    int32_t *from;     /* (n + 1) */
    int64_t  count;
} kind_index;

/* What the two passes build up. */
struct dbscan_passes {
    int64_t    n, min_samples;
    int32_t   *degree;   /* neighbours, itself included (after settling) */
    int32_t   *up;       /* the difference array of the degrees, then the union-find of core points */
    int32_t   *next;     /* (core count + 1) links between consecutive core points made */
    kind_index core, border;
    nerve_vec  offers;   /* (border point, core neighbour) pairs */
};

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

void mapper_dbscan_free(dbscan_passes *d)
{
    if (!d)
        return;
    free(d->degree);
    free(d->up);
    free(d->next);
    kind_index_free(&d->core);
    kind_index_free(&d->border);
    nerve_vec_free(&d->offers);
    free(d);
}

dbscan_passes *mapper_dbscan_new(int64_t n, int64_t min_samples)
{
    dbscan_passes *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->n = n;
    d->min_samples = min_samples;
    d->degree = calloc((size_t)n + 1, sizeof *d->degree);
    d->up = calloc((size_t)n + 1, sizeof *d->up);
    nerve_vec_init(&d->offers, 2 * sizeof(int32_t), "DBSCAN border offers");
    if (!d->degree || !d->up) {
        mapper_dbscan_free(d);
        return NULL;
    }
    return d;
}

/* First pass: a run's point gets its length, each point in it one,
 * through a difference array (up, for now). */
void mapper_dbscan_count(dbscan_passes *d, const int32_t *runs, int64_t n_runs)
{
    for (int64_t e = 0; e < n_runs; e++) {
        const int32_t *run = runs + 3 * e;
        d->degree[run[0]] += run[2] - run[1];
        d->up[run[1]]++;
        d->up[run[2]]--;
    }
}

int mapper_dbscan_settle(dbscan_passes *d)
{
    int64_t n = d->n;
    for (int64_t j = 0, in = 0; j < n; j++) {
        in += d->up[j];
        d->degree[j] += 1 + (int32_t)in;   /* each point counts itself */
    }
    if (kind_index_make(&d->core, d->degree, n, d->min_samples, 1) < 0 ||
        kind_index_make(&d->border, d->degree, n, d->min_samples, 0) < 0 ||
        !(d->next = malloc(((size_t)d->core.count + 1) * sizeof *d->next)))
        return nerve_error_set(NERVE_ENOMEM, "dbscan: out of memory");
    for (int64_t i = 0; i < n; i++)
        d->up[i] = (int32_t)i;
    for (int64_t k = 0; k <= d->core.count; k++)
        d->next[k] = (int32_t)k;
    return 0;
}

static void join(int32_t *up, int32_t a, int32_t b)
{
    a = mapper_find_root(up, a);
    b = mapper_find_root(up, b);
    up[a > b ? a : b] = a < b ? a : b;   /* the root is the component's first point */
}

/* Joins the core points of a run to its core point: to the run's first
 * core point, and each core point to the next. A link between consecutive
 * core points (by rank) is made once in all: next[r] skips to the first
 * rank at or after r whose link to r + 1 is not made yet. */
static void join_run(dbscan_passes *d, const int32_t *run)
{
    int32_t r0 = d->core.from[run[1]], r1 = d->core.from[run[2]];
    if (r0 == r1)
        return;
    join(d->up, run[0], d->core.at[r0]);
    for (int32_t r = mapper_find_root(d->next, r0); r + 1 < r1; r = mapper_find_root(d->next, r + 1)) {
        join(d->up, d->core.at[r], d->core.at[r + 1]);
        d->next[r] = r + 1;
    }
}

/* The run's (border point, core point) pairs: its border points offered
 * to a core i, or a border i offered its core points. */
static int collect_offers(dbscan_passes *d, const int32_t *run, int core)
{
    const kind_index *other = core ? &d->border : &d->core;
    for (int32_t k = other->from[run[1]]; k < other->from[run[2]]; k++) {
        int32_t *pair = nerve_vec_push(&d->offers);
        if (!pair)
            return nerve_error_set(NERVE_ENOMEM, "dbscan: out of memory");
        pair[0] = core ? other->at[k] : run[0];
        pair[1] = core ? run[0] : other->at[k];
    }
    return 0;
}

/* Second pass (after settling). A border point has fewer than min_samples
 * neighbours, so the offers stay under n min_samples pairs. */
int mapper_dbscan_join(dbscan_passes *d, const int32_t *runs, int64_t n_runs)
{
    for (int64_t e = 0; e < n_runs; e++) {
        const int32_t *run = runs + 3 * e;
        int core = d->degree[run[0]] >= d->min_samples;
        if (core)
            join_run(d, run);
        if (collect_offers(d, run, core) < 0)
            return -1;
    }
    return 0;
}

/* Roots come first in their components, so numbering core points in
 * index order numbers each cluster at its first core point; a border
 * point takes the first numbered of the clusters offered. */
int64_t mapper_dbscan_labels(dbscan_passes *d, int32_t *labels)
{
    int64_t clusters = 0;
    for (int64_t i = 0; i < d->n; i++) {
        labels[i] = INT32_MAX;
        if (d->degree[i] >= d->min_samples)
            labels[i] = d->up[i] == i ? (int32_t)clusters++ : labels[mapper_find_root(d->up, (int32_t)i)];
    }
    const int32_t *pair = d->offers.data;
    for (size_t k = 0; k < d->offers.len; k++, pair += 2)
        if (labels[pair[1]] < labels[pair[0]])
            labels[pair[0]] = labels[pair[1]];
    for (int64_t i = 0; i < d->n; i++)
        if (labels[i] == INT32_MAX)
            labels[i] = -1;
    return clusters;
}

int64_t mapper_dbscan(int32_t *labels, int64_t n, const nerve_pair_runs *r, int64_t min_samples)
{
    dbscan_passes *d = mapper_dbscan_new(n, min_samples);
    if (!d)
        return nerve_error_set(NERVE_ENOMEM, "dbscan: out of memory");
    mapper_dbscan_count(d, r->run, r->n);
    int64_t rc = mapper_dbscan_settle(d);
    if (rc == 0)
        rc = mapper_dbscan_join(d, r->run, r->n);
    if (rc == 0)
        rc = mapper_dbscan_labels(d, labels);
    mapper_dbscan_free(d);
    return rc;
}

/* ---- straight from the radius search ------------------------------------ */

typedef struct streaming {
    dbscan_passes *d;
    nerve_vec      kept;        /* the first pass's runs while they fit */
    size_t         kept_max;
    int            overflowed;
} streaming;

/* The radius search's blocks run at once: the passes take turns. */
static int count_visit(void *ctx, const int32_t *runs, int64_t n_runs)
{
    streaming *s = ctx;
    int rc = 0;
    #pragma omp critical(dbscan_pass)
    {
        mapper_dbscan_count(s->d, runs, n_runs);
        if (!s->overflowed && s->kept.len + (size_t)n_runs <= s->kept_max)
            rc = nerve_vec_append(&s->kept, runs, (size_t)n_runs);
        else if (!s->overflowed) {
            s->overflowed = 1;
            nerve_vec_free(&s->kept);
        }
    }
    return rc;
}

static int join_visit(void *ctx, const int32_t *runs, int64_t n_runs)
{
    streaming *s = ctx;
    int rc;
    #pragma omp critical(dbscan_pass)
    rc = mapper_dbscan_join(s->d, runs, n_runs);
    return rc;
}

int64_t mapper_dbscan_points(int32_t *labels, const nerve_mat *x, double eps, nerve_metric metric,
                             int64_t min_samples, int64_t kept_max)
{
    streaming s = { .d = mapper_dbscan_new(x->rows, min_samples), .kept_max = (size_t)kept_max };
    if (!s.d)
        return nerve_error_set(NERVE_ENOMEM, "dbscan: out of memory");
    nerve_vec_init(&s.kept, 3 * sizeof(int32_t), "DBSCAN pairs");
    int64_t rc = nerve_knn_radius_visit(x, eps, metric, count_visit, &s);
    if (rc == 0)
        rc = mapper_dbscan_settle(s.d);
    if (rc == 0)
        rc = s.overflowed ? nerve_knn_radius_visit(x, eps, metric, join_visit, &s)
                          : mapper_dbscan_join(s.d, s.kept.data, (int64_t)s.kept.len);
    if (rc == 0)
        rc = mapper_dbscan_labels(s.d, labels);
    nerve_vec_free(&s.kept);
    mapper_dbscan_free(s.d);
    return rc;
}
