/*
 * descent.c — approximate k nearest neighbours by NN-descent (Dong,
 * Charikar and Li, 2011), in the form pynndescent uses: random initial
 * lists; each round samples every point's new and old neighbours (with
 * reverse neighbours) as candidates, compares candidates pairwise (the
 * local join), and keeps the closer ones; it stops when a round changes
 * fewer than DELTA * N * K entries. The first lists come from the leaves of
 * two random projection trees, which saves most of the early rounds.
 *
 * Determinism: the candidates' priorities are hashes of (seed, round,
 * entry) and each thread fills its own points' candidates scanning every
 * entry in one order; the trees' leaves are disjoint; the local join reads the lists but writes only
 * per-block update buffers; the updates are then applied in block order,
 * each thread applying those aimed at its own points. So the result depends
 * on the seed only, not on the thread count.
 *
 * Memory: the join runs a batch of blocks at a time, whose updates are
 * applied before the next batch joins, so only one batch's updates are
 * held (a whole round's took gigabytes at 60,000 x 784, k = 90). The lists
 * are the same as if the round's updates were all applied at the end: a
 * later batch's join, seeing lists the earlier batches improved, leaves out
 * only updates the lists would refuse anyway.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "knn_internal.h"

enum { JOIN_BLOCK = 256, JOIN_BATCH = 16, MAX_ROUNDS = 12 };
static const double DELTA = 0.001;
/* nerve_knn_build goes exact below this much pairwise work (N^2 d). */
static const double EXACT_BUILD_LIMIT = 2e11;

/* ---- the neighbour lists: a bounded max-heap per point ----------------- */

typedef struct lists {
    int64_t  n, k;
    float   *dist;    /* n x k squared distances, worst on top */
    int32_t *index;   /* n x k, -1 while empty */
    uint8_t *fresh;   /* n x k: not yet used as a candidate */
} lists;

/* Inserts (d, j) into point i's list if it beats the worst and is not
 * there yet; returns 1 if the list changed. */
static int list_try(lists *L, int64_t i, float d, int32_t j)
{
    float *dist = L->dist + i * L->k;
    int32_t *index = L->index + i * L->k;
    uint8_t *fresh = L->fresh + i * L->k;
    if (!(d < dist[0]))
        return 0;
    for (int64_t a = 0; a < L->k; a++)
        if (index[a] == j)
            return 0;
    int64_t a = 0;
    for (;;) {   /* replace the top and sift down */
        int64_t l = 2 * a + 1, r = l + 1, m = a;
        float dm = d;
        if (l < L->k && dist[l] > dm) {
            m = l;
            dm = dist[l];
        }
        if (r < L->k && dist[r] > dm)
            m = r;
        if (m == a)
            break;
        dist[a] = dist[m];
        index[a] = index[m];
        fresh[a] = fresh[m];
        a = m;
    }
    dist[a] = d;
    index[a] = j;
    fresh[a] = 1;
    return 1;
}

/* ---- candidates --------------------------------------------------------- */

/* Per point, up to c candidates kept by smallest random priority. */
typedef struct candidates {
    int64_t  c;
    int32_t *index;   /* n x c, -1 empty */
    float   *prio;    /* n x c, max-heap */
} candidates;

static void candidate_push(candidates *C, int64_t i, int32_t j, float pr)
{
    int32_t *index = C->index + i * C->c;
    float *prio = C->prio + i * C->c;
    if (!(pr < prio[0]))
        return;
    for (int64_t a = 0; a < C->c; a++)
        if (index[a] == j)
            return;
    int64_t a = 0;
    for (;;) {
        int64_t l = 2 * a + 1, r = l + 1, m = a;
        float pm = pr;
        if (l < C->c && prio[l] > pm) {
            m = l;
            pm = prio[l];
        }
        if (r < C->c && prio[r] > pm)
            m = r;
        if (m == a)
            break;
        prio[a] = prio[m];
        index[a] = index[m];
        a = m;
    }
    prio[a] = pr;
    index[a] = j;
}

/* A priority in [0, 1) for list entry (i, a) in a round: a hash, so
 * every thread computes the same one. */
static float priority(uint64_t seed, int round, int64_t i, int64_t a)
{
    uint64_t z = seed ^ ((uint64_t)round << 56) ^ ((uint64_t)i << 8) ^ (uint64_t)a;
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* New and old candidates with reverse neighbours; the new ones drawn are
 * then no longer fresh. Each thread fills the candidate lists of its own
 * points, scanning every entry in the same order, so the lists do not
 * depend on the thread count. */
static void draw_candidates(candidates *fresh, candidates *old, lists *L, uint64_t seed, int round)
{
    int64_t n = L->n, k = L->k;
    #pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int64_t i = t; i < n; i += nt)
            for (int64_t e = 0; e < fresh->c; e++) {
                fresh->index[i * fresh->c + e] = old->index[i * old->c + e] = -1;
                fresh->prio[i * fresh->c + e] = old->prio[i * old->c + e] = INFINITY;
            }
        #pragma omp barrier
        for (int64_t i = 0; i < n; i++)
            for (int64_t a = 0; a < k; a++) {
                int32_t j = L->index[i * k + a];
                if (j < 0 || (i % nt != t && j % nt != t))
                    continue;
                float pr = priority(seed, round, i, a);
                candidates *C = L->fresh[i * k + a] ? fresh : old;
                if (i % nt == t)
                    candidate_push(C, i, j, pr);
                if (j % nt == t)
                    candidate_push(C, j, (int32_t)i, pr);
            }
        #pragma omp barrier
        for (int64_t i = t; i < n; i += nt)
            for (int64_t a = 0; a < k; a++) {
                if (!L->fresh[i * k + a])
                    continue;
                for (int64_t b = 0; b < fresh->c; b++)
                    if (fresh->index[i * fresh->c + b] == L->index[i * k + a]) {
                        L->fresh[i * k + a] = 0;
                        break;
                    }
            }
    }
}

/* ---- the local join ----------------------------------------------------- */

typedef struct update {
    int32_t a, b;
    float   d;
} update;

/* A block's updates go to a growable array of them (nerve_vec of update). */
static int updates_push(nerve_vec *U, int32_t a, int32_t b, float d)
{
    const update u = { a, b, d };
    return nerve_vec_append(U, &u, 1);
}

static int try_pair(nerve_vec *U, const lists *L, const nerve_mat *x, int32_t a, int32_t b)
{
    float d = knn_squared_distance(x->data + a * x->cols, x->data + b * x->cols, x->cols);
    if (d < L->dist[a * L->k] || d < L->dist[b * L->k])
        return updates_push(U, a, b, d);
    return 0;
}

/* The pairs among point i's candidates: new with new, new with old. */
static int join_point(nerve_vec *U, const lists *L, const candidates *fresh, const candidates *old,
                      const nerve_mat *x, int64_t i)
{
    const int32_t *nw = fresh->index + i * fresh->c, *od = old->index + i * old->c;
    for (int64_t a = 0; a < fresh->c; a++) {
        if (nw[a] < 0)
            continue;
        for (int64_t b = a + 1; b < fresh->c; b++)
            if (nw[b] >= 0 && try_pair(U, L, x, nw[a], nw[b]) < 0)
                return -1;
        for (int64_t b = 0; b < old->c; b++)
            if (od[b] >= 0 && od[b] != nw[a] && try_pair(U, L, x, nw[a], od[b]) < 0)
                return -1;
    }
    return 0;
}

/* Applies a batch's updates in block order, each thread those aimed at its
 * own points; returns the changes. */
static int64_t apply_updates(lists *L, const nerve_vec *batch, int64_t count)
{
    int64_t changes = 0;
    #pragma omp parallel reduction(+:changes)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int64_t b = 0; b < count; b++)
            for (size_t e = 0; e < batch[b].len; e++) {
                const update *u = (const update *)batch[b].data + e;
                if (u->a % nt == t)
                    changes += list_try(L, u->a, u->d, u->b);
                if (u->b % nt == t)
                    changes += list_try(L, u->b, u->d, u->a);
            }
    }
    return changes;
}

/* One round: the blocks joined and applied a batch at a time (batch holds
 * JOIN_BATCH update buffers); returns the changes or < 0. */
static int64_t round_of_descent(lists *L, const candidates *fresh, const candidates *old, const nerve_mat *x,
                                nerve_vec *batch)
{
    int64_t n = L->n, n_blocks = (n + JOIN_BLOCK - 1) / JOIN_BLOCK, changes = 0;
    for (int64_t first = 0; first < n_blocks; first += JOIN_BATCH) {
        int64_t count = n_blocks - first < JOIN_BATCH ? n_blocks - first : JOIN_BATCH;
        int failed = 0;
        #pragma omp parallel for schedule(dynamic, 1) reduction(|:failed)
        for (int64_t b = 0; b < count; b++) {
            batch[b].len = 0;
            int64_t start = (first + b) * JOIN_BLOCK, end = start + JOIN_BLOCK < n ? start + JOIN_BLOCK : n;
            for (int64_t i = start; i < end && !failed; i++)
                failed = join_point(&batch[b], L, fresh, old, x, i) < 0;
        }
        if (failed)
            return -1;
        changes += apply_updates(L, batch, count);
    }
    return changes;
}

/* ---- set-up and result -------------------------------------------------- */

/* ---- initial lists: random projection trees ---------------------------- */

/* Splits idx[0..n) in two halves by the side of a random hyperplane (the
 * perpendicular bisector of two random members), recursively, until the
 * pieces hold at most leaf points; the leaves' point pairs seed the lists
 * (pynndescent's initialisation), which saves most of the early rounds. */
typedef struct rp_tree {
    const nerve_mat *x;
    int32_t         *idx;
    float           *proj;     /* scratch, one per point */
    int64_t          leaf;
    int64_t         *leaf_start;
    int64_t          n_leaves;
} rp_tree;

static void swap32(int32_t *a, int32_t *b, float *pa, float *pb)
{
    int32_t t = *a;
    *a = *b;
    *b = t;
    float u = *pa;
    *pa = *pb;
    *pb = u;
}

/* Reorders idx[lo..hi) so the smaller half (by proj) comes first. */
static void median_partition(int32_t *idx, float *proj, int64_t lo, int64_t hi, int64_t mid)
{
    while (hi - lo > 1) {
        float pivot = proj[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi - 1;
        while (i <= j) {
            while (proj[i] < pivot)
                i++;
            while (proj[j] > pivot)
                j--;
            if (i <= j)
                swap32(&idx[i], &idx[j], &proj[i], &proj[j]), i++, j--;
        }
        if (mid <= j)
            hi = j + 1;
        else if (mid >= i)
            lo = i;
        else
            return;
    }
}

static void rp_split(rp_tree *t, int64_t lo, int64_t hi, nerve_rng *r)
{
    int64_t n = hi - lo, d = t->x->cols;
    if (n <= t->leaf) {
        t->leaf_start[t->n_leaves++] = lo;
        return;
    }
    const float *a = t->x->data + (int64_t)t->idx[lo + (int64_t)nerve_rng_below(r, (uint64_t)n)] * d;
    const float *b = t->x->data + (int64_t)t->idx[lo + (int64_t)nerve_rng_below(r, (uint64_t)n)] * d;
    for (int64_t i = lo; i < hi; i++) {
        const float *p = t->x->data + (int64_t)t->idx[i] * d;
        float s = 0;
        for (int64_t j = 0; j < d; j++)
            s += (p[j] - 0.5f * (a[j] + b[j])) * (a[j] - b[j]);
        t->proj[i] = s;
    }
    int64_t mid = lo + n / 2;
    median_partition(t->idx, t->proj, lo, hi, mid);
    rp_split(t, lo, mid, r);
    rp_split(t, mid, hi, r);
}

/* Every pair inside each leaf of one tree; leaves are disjoint, so each
 * is a work item that writes only its own points' lists. */
static void seed_from_tree(lists *L, const nerve_mat *x, rp_tree *t, int64_t n)
{
    t->leaf_start[t->n_leaves] = n;
    #pragma omp parallel for schedule(dynamic, 16)
    for (int64_t f = 0; f < t->n_leaves; f++)
        for (int64_t a = t->leaf_start[f]; a < t->leaf_start[f + 1]; a++)
            for (int64_t b = a + 1; b < t->leaf_start[f + 1]; b++) {
                int32_t i = t->idx[a], j = t->idx[b];
                float dd = knn_squared_distance(x->data + (int64_t)i * x->cols, x->data + (int64_t)j * x->cols, x->cols);
                list_try(L, i, dd, j);
                list_try(L, j, dd, i);
            }
}

enum { RP_TREES = 2 };

static int initial_lists(lists *L, const nerve_mat *x, uint64_t seed)
{
    int64_t n = L->n, k = L->k;
    for (int64_t e = 0; e < n * k; e++) {
        L->dist[e] = INFINITY;
        L->index[e] = -1;
        L->fresh[e] = 1;
    }
    rp_tree t = { .x = x, .leaf = 2 * k + 2 > 32 ? 2 * k + 2 : 32 };
    t.idx = malloc((size_t)n * sizeof *t.idx);
    t.proj = malloc((size_t)n * sizeof *t.proj);
    t.leaf_start = malloc((size_t)(n / 2 + 2) * sizeof *t.leaf_start);
    if (!t.idx || !t.proj || !t.leaf_start) {
        free(t.idx);
        free(t.proj);
        free(t.leaf_start);
        return -1;
    }
    for (int tree = 0; tree < RP_TREES; tree++) {
        nerve_rng r;
        nerve_rng_stream(&r, seed, 0x7265650000ULL + (uint64_t)tree);
        for (int64_t i = 0; i < n; i++)
            t.idx[i] = (int32_t)i;
        t.n_leaves = 0;
        rp_split(&t, 0, n, &r);
        seed_from_tree(L, x, &t, n);
    }
    free(t.idx);
    free(t.proj);
    free(t.leaf_start);
    return 0;
}

/* Each list sorted nearest first with the distances recomputed directly
 * (in float, with several partial sums). */
static void finish(nerve_knn *out, const lists *L, const nerve_mat *orig, nerve_metric metric)
{
    int64_t n = L->n, k = L->k;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        struct { float d; int32_t j; } e[256];
        for (int64_t a = 0; a < k; a++) {
            e[a].j = L->index[i * k + a];
            e[a].d = nerve_knn_distance_float(orig->data + i * orig->cols, orig->data + (int64_t)e[a].j * orig->cols,
                                       orig->cols, metric);
        }
        for (int64_t a = 1; a < k; a++) {   /* insertion sort by (distance, index) */
            float dv = e[a].d;
            int32_t jv = e[a].j;
            int64_t b = a - 1;
            while (b >= 0 && (e[b].d > dv || (e[b].d == dv && e[b].j > jv))) {
                e[b + 1] = e[b];
                b--;
            }
            e[b + 1].d = dv;
            e[b + 1].j = jv;
        }
        for (int64_t a = 0; a < k; a++) {
            out->index[i * k + a] = e[a].j;
            out->dist[i * k + a] = e[a].d;
        }
    }
}

int nerve_knn_descent(nerve_knn *out, const nerve_mat *points, int64_t k, nerve_metric metric, uint64_t seed)
{
    memset(out, 0, sizeof *out);
    int64_t n = points->rows;
    if (k < 1 || k >= n || k > 256)
        return nerve_error_set(NERVE_EINPUT, "knn descent: k = %lld, but there are %lld points (and k <= 256)",
                               (long long)k, (long long)n);
    if (n >= INT32_MAX)
        return nerve_error_set(NERVE_EINPUT, "knn descent: %lld points, at most %d", (long long)n, INT32_MAX - 1);
    nerve_mat unit = { 0 };
    const nerve_mat *x = points;
    int rc = 0;
    if (metric == NERVE_METRIC_COSINE) {
        rc = knn_unit_rows(&unit, points);
        x = &unit;
    }
    lists L = { n, k, malloc((size_t)(n * k) * sizeof(float)), malloc((size_t)(n * k) * sizeof(int32_t)),
                malloc((size_t)(n * k)) };
    candidates fresh = { k, malloc((size_t)(n * k) * sizeof(int32_t)), malloc((size_t)(n * k) * sizeof(float)) };
    candidates old = { k, malloc((size_t)(n * k) * sizeof(int32_t)), malloc((size_t)(n * k) * sizeof(float)) };
    nerve_vec *batch = nerve_alloc_array(JOIN_BATCH, sizeof *batch, "knn descent update buffers");
    for (int64_t b = 0; batch && b < JOIN_BATCH; b++)
        nerve_vec_init(&batch[b], sizeof(update), "knn descent updates");
    out->index = malloc((size_t)(n * k) * sizeof *out->index);
    out->dist = malloc((size_t)(n * k) * sizeof *out->dist);
    if (rc == 0 && (!L.dist || !L.index || !L.fresh || !fresh.index || !fresh.prio || !old.index || !old.prio ||
                    !batch || !out->index || !out->dist))
        rc = nerve_error_set(NERVE_ENOMEM, "knn descent: out of memory");
    if (rc == 0) {
        if (initial_lists(&L, x, seed) < 0)
            rc = nerve_error_set(NERVE_ENOMEM, "knn descent: out of memory");
        for (int round = 0; round < MAX_ROUNDS && rc == 0; round++) {
            draw_candidates(&fresh, &old, &L, seed, round);
            int64_t changes = round_of_descent(&L, &fresh, &old, x, batch);
            if (changes < 0)
                rc = nerve_error_set(NERVE_ENOMEM, "knn descent: out of memory");
            else if ((double)changes <= DELTA * (double)n * (double)k)
                break;
        }
    }
    if (rc == 0) {
        out->n = n;
        out->k = k;
        finish(out, &L, points, metric);
    }
    for (int64_t b = 0; batch && b < JOIN_BATCH; b++)
        nerve_vec_free(&batch[b]);
    free(batch);
    free(L.dist);
    free(L.index);
    free(L.fresh);
    free(fresh.index);
    free(fresh.prio);
    free(old.index);
    free(old.prio);
    nerve_mat_free(&unit);
    if (rc < 0)
        nerve_knn_free(out);
    return rc;
}

int nerve_knn_build(nerve_knn *out, const nerve_mat *points, int64_t k, nerve_metric metric, uint64_t seed)
{
    double work = (double)points->rows * (double)points->rows * (double)points->cols;
    if (work <= EXACT_BUILD_LIMIT || k > 256)
        return nerve_knn_exact(out, points, k, metric);
    return nerve_knn_descent(out, points, k, metric, seed);
}
