/*
 * descent.c — approximate k nearest neighbours by NN-descent (Dong,
 * Charikar and Li, 2011), in the form pynndescent uses: random initial
 * lists; each round samples every point's new and old neighbours (with
 * reverse neighbours) as candidates, compares candidates pairwise (the
 * local join), and keeps the closer ones; it stops when a round changes
 * fewer than DELTA * N * K entries.
 *
 * Determinism: the candidates are drawn in one sequential pass from a
 * seeded generator; the local join reads the lists but writes only
 * per-block update buffers; the updates are then applied in block order,
 * each thread applying those aimed at its own points. So the result depends
 * on the seed only, not on the thread count.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "knn_internal.h"

enum { JOIN_BLOCK = 1024, MAX_ROUNDS = 12 };
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

/* ---- squared distances in float, four lanes the compiler vectorises ---- */

static float squared_distance(const float *x, const float *y, int64_t d)
{
    float acc[8] = { 0 };
    int64_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int t = 0; t < 8; t++) {
            float v = x[j + t] - y[j + t];
            acc[t] += v * v;
        }
    float s = 0;
    for (; j < d; j++)
        s += (x[j] - y[j]) * (x[j] - y[j]);
    for (int t = 0; t < 8; t++)
        s += acc[t];
    return s;
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

static void candidates_clear(candidates *C, int64_t n)
{
    for (int64_t e = 0; e < n * C->c; e++) {
        C->index[e] = -1;
        C->prio[e] = INFINITY;
    }
}

/* New and old candidates with reverse neighbours; the new ones drawn are
 * then no longer fresh. */
static void draw_candidates(candidates *fresh, candidates *old, lists *L, nerve_rng *r)
{
    int64_t n = L->n, k = L->k;
    candidates_clear(fresh, n);
    candidates_clear(old, n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t a = 0; a < k; a++) {
            int32_t j = L->index[i * k + a];
            if (j < 0)
                continue;
            float pr = (float)nerve_rng_uniform(r);
            candidates *C = L->fresh[i * k + a] ? fresh : old;
            candidate_push(C, i, j, pr);
            candidate_push(C, j, (int32_t)i, pr);
        }
    for (int64_t i = 0; i < n; i++)
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

/* ---- the local join ----------------------------------------------------- */

typedef struct update {
    int32_t a, b;
    float   d;
} update;

typedef struct updates {
    update *u;
    int64_t n, cap;
} updates;

static int updates_push(updates *U, int32_t a, int32_t b, float d)
{
    if (U->n == U->cap) {
        int64_t cap = U->cap ? 2 * U->cap : 4096;
        update *nu = realloc(U->u, (size_t)cap * sizeof *nu);
        if (!nu)
            return -1;
        U->u = nu;
        U->cap = cap;
    }
    U->u[U->n++] = (update){ a, b, d };
    return 0;
}

static int try_pair(updates *U, const lists *L, const nerve_mat *x, int32_t a, int32_t b)
{
    float d = squared_distance(x->data + a * x->cols, x->data + b * x->cols, x->cols);
    if (d < L->dist[a * L->k] || d < L->dist[b * L->k])
        return updates_push(U, a, b, d);
    return 0;
}

/* The pairs among point i's candidates: new with new, new with old. */
static int join_point(updates *U, const lists *L, const candidates *fresh, const candidates *old,
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

/* One round: join, then apply in block order; returns the changes or < 0. */
static int64_t round_of_descent(lists *L, const candidates *fresh, const candidates *old, const nerve_mat *x,
                                updates *blocks, int64_t n_blocks)
{
    int64_t n = L->n;
    int failed = 0;
    #pragma omp parallel for schedule(dynamic, 1) reduction(|:failed)
    for (int64_t b = 0; b < n_blocks; b++) {
        blocks[b].n = 0;
        int64_t end = (b + 1) * JOIN_BLOCK < n ? (b + 1) * JOIN_BLOCK : n;
        for (int64_t i = b * JOIN_BLOCK; i < end && !failed; i++)
            failed = join_point(&blocks[b], L, fresh, old, x, i) < 0;
    }
    if (failed)
        return -1;
    int64_t changes = 0;
    #pragma omp parallel reduction(+:changes)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int64_t b = 0; b < n_blocks; b++)
            for (int64_t e = 0; e < blocks[b].n; e++) {
                const update *u = &blocks[b].u[e];
                if (u->a % nt == t)
                    changes += list_try(L, u->a, u->d, u->b);
                if (u->b % nt == t)
                    changes += list_try(L, u->b, u->d, u->a);
            }
    }
    return changes;
}

/* ---- set-up and result -------------------------------------------------- */

/* k random distinct other points per point, from the point's own stream. */
static void random_lists(lists *L, const nerve_mat *x, uint64_t seed)
{
    int64_t n = L->n, k = L->k;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        nerve_rng r;
        nerve_rng_stream(&r, seed, (uint64_t)i);
        for (int64_t a = 0; a < k; a++) {
            L->dist[i * k + a] = INFINITY;
            L->index[i * k + a] = -1;
            L->fresh[i * k + a] = 1;
        }
        for (int64_t got = 0; got < k;) {
            int32_t j = (int32_t)nerve_rng_below(&r, (uint64_t)n);
            if (j == i)
                continue;
            got += list_try(L, i, squared_distance(x->data + i * x->cols, x->data + j * x->cols, x->cols), j);
        }
    }
}

/* Each list sorted nearest first with the distances recomputed directly. */
static void finish(nerve_knn *out, const lists *L, const nerve_mat *orig, nerve_metric metric)
{
    int64_t n = L->n, k = L->k;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        struct { float d; int32_t j; } e[256];
        for (int64_t a = 0; a < k; a++) {
            e[a].j = L->index[i * k + a];
            e[a].d = nerve_knn_distance(orig->data + i * orig->cols, orig->data + (int64_t)e[a].j * orig->cols,
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
    int64_t n_blocks = (n + JOIN_BLOCK - 1) / JOIN_BLOCK;
    lists L = { n, k, malloc((size_t)(n * k) * sizeof(float)), malloc((size_t)(n * k) * sizeof(int32_t)),
                malloc((size_t)(n * k)) };
    candidates fresh = { k, malloc((size_t)(n * k) * sizeof(int32_t)), malloc((size_t)(n * k) * sizeof(float)) };
    candidates old = { k, malloc((size_t)(n * k) * sizeof(int32_t)), malloc((size_t)(n * k) * sizeof(float)) };
    updates *blocks = calloc((size_t)n_blocks, sizeof *blocks);
    out->index = malloc((size_t)(n * k) * sizeof *out->index);
    out->dist = malloc((size_t)(n * k) * sizeof *out->dist);
    if (rc == 0 && (!L.dist || !L.index || !L.fresh || !fresh.index || !fresh.prio || !old.index || !old.prio ||
                    !blocks || !out->index || !out->dist))
        rc = nerve_error_set(NERVE_ENOMEM, "knn descent: out of memory");
    if (rc == 0) {
        nerve_rng r;
        nerve_rng_seed(&r, seed ^ 0x6e6e64657363656eULL);
        random_lists(&L, x, seed);
        for (int round = 0; round < MAX_ROUNDS && rc == 0; round++) {
            draw_candidates(&fresh, &old, &L, &r);
            int64_t changes = round_of_descent(&L, &fresh, &old, x, blocks, n_blocks);
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
    for (int64_t b = 0; blocks && b < n_blocks; b++)
        free(blocks[b].u);
    free(blocks);
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
