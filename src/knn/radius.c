/*
 * radius.c — every point's neighbours within a radius, by blocked GEMM over
 * the upper triangle of the distance matrix. Row blocks are the OpenMP work
 * items; each emits its pairs (i < j) as runs of consecutive j, row by row
 * within each tile, and the blocks are joined in order; as lists, the
 * pairs are then laid out symmetrically, so every list comes out ascending
 * whatever the thread count. A visitor can take the runs tile by tile
 * instead, so that no search holds every pair (DBSCAN over a dense cloud).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "knn_internal.h"

enum { ROW_BLOCK = 256, COL_BLOCK = 1024 };

void nerve_radius_free(nerve_radius *r)
{
    free(r->start);
    free(r->index);
    memset(r, 0, sizeof *r);
}

void nerve_pair_runs_free(nerve_pair_runs *r)
{
    free(r->run);
    memset(r, 0, sizeof *r);
}

/* A block's runs go to a growable array of (i, j0, j1) triples: i paired
 * with every j in [j0, j1). */
enum { RUN_BYTES = 3 * sizeof(int32_t) };

static int runs_push(nerve_vec *runs, int64_t i, int64_t j0, int64_t j1)
{
    const int32_t run[3] = { (int32_t)i, (int32_t)j0, (int32_t)j1 };
    return nerve_vec_append(runs, run, 1);
}

/* The squared-distance bounds on the GEMM's values: below lo a pair is in,
 * above hi it is out, between the two the direct distance decides. The
 * slack covers float rounding in |x|^2 + |y|^2 - 2 x.y. */
typedef struct threshold {
    double radius;
    float  lo, hi, slack;
} threshold;

static threshold make_threshold(double radius, nerve_metric metric)
{
    threshold t = { .radius = radius };
    double sq = metric == NERVE_METRIC_COSINE ? 2 * radius : radius * radius;
    t.lo = (float)(sq * (1 - 1e-4));
    t.hi = (float)(sq * (1 + 1e-4));
    t.slack = 1e-5f;
    return t;
}

/* Whether i and j (GEMM value g = x_i . y_j) are within the radius. */
static int within(float g, int64_t i, int64_t j, const float *norm, const threshold *t, const nerve_mat *orig,
                  nerve_metric metric)
{
    float slack = t->slack * (norm[i] + norm[j]);
    float sq = norm[i] + norm[j] - 2 * g;
    if (sq > t->hi + slack)
        return 0;
    return sq < t->lo - slack ||
           nerve_knn_distance(orig->data + i * orig->cols, orig->data + j * orig->cols, orig->cols, metric) <=
               t->radius;
}

/* Scans one GEMM tile: rows r0.., columns c0.., emitting each row's pairs
 * i < j as runs of consecutive j. */
static int scan_tile(nerve_vec *out, const float *g, int64_t rb, int64_t cb, int64_t r0, int64_t c0,
                     const float *norm, const threshold *t, const nerve_mat *orig, nerve_metric metric)
{
    for (int64_t a = 0; a < rb; a++) {
        int64_t i = r0 + a, start = -1;
        const float *row = g + a * cb;
        for (int64_t b = i + 1 > c0 ? i + 1 - c0 : 0; b <= cb; b++) {
            int in = b < cb && within(row[b], i, c0 + b, norm, t, orig, metric);
            if (in && start < 0)
                start = c0 + b;
            else if (!in && start >= 0) {
                if (runs_push(out, i, start, c0 + b) < 0)
                    return -1;
                start = -1;
            }
        }
    }
    return 0;
}

/* Where a search hands its runs: the visitor and its context, and the
 * runs of the tile in hand. */
typedef struct visiting {
    nerve_pair_visit visit;
    void            *ctx;
} visiting;

/* One row block against every later column, tile by tile: each tile's
 * runs go to the visitor, so a block never holds more than a tile's. */
static int block_runs(nerve_vec *tile, float *g, const nerve_mat *p, const float *norm, int64_t r0,
                      const threshold *t, const nerve_mat *orig, nerve_metric metric, const visiting *v)
{
    int64_t n = p->rows, d = p->cols;
    int64_t rb = n - r0 < ROW_BLOCK ? n - r0 : ROW_BLOCK;
    for (int64_t c0 = r0; c0 < n; c0 += COL_BLOCK) {
        int64_t cb = n - c0 < COL_BLOCK ? n - c0 : COL_BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rb, (int)cb, (int)d, 1.0f, p->data + r0 * d,
                    (int)d, p->data + c0 * d, (int)d, 0.0f, g, (int)cb);
        tile->len = 0;
        if (scan_tile(tile, g, rb, cb, r0, c0, norm, t, orig, metric) < 0)
            return nerve_error_set(NERVE_ENOMEM, "radius search: out of memory");
        int rc = tile->len > 0 ? v->visit(v->ctx, tile->data, (int64_t)tile->len) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Every row block on the threads; the first error's message is kept. */
static int visit_blocks(const nerve_mat *p, const float *norm, const threshold *t, const nerve_mat *orig,
                        nerve_metric metric, const visiting *v)
{
    int64_t n_blocks = (p->rows + ROW_BLOCK - 1) / ROW_BLOCK;
    int rc = 0;
    char message[512] = "";
    #pragma omp parallel
    {
        float *g = malloc((size_t)ROW_BLOCK * COL_BLOCK * sizeof *g);
        nerve_vec tile;
        nerve_vec_init(&tile, RUN_BYTES, "radius search runs");
        int mine = g ? 0 : nerve_error_set(NERVE_ENOMEM, "radius search: out of memory");
        #pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_blocks; b++)
            if (mine == 0)
                mine = block_runs(&tile, g, p, norm, b * ROW_BLOCK, t, orig, metric, v);
        #pragma omp critical(radius_error)
        if (mine < 0 && rc == 0) {
            rc = mine;
            snprintf(message, sizeof message, "%s", nerve_error());
        }
        nerve_vec_free(&tile);
        free(g);
    }
    return rc < 0 ? nerve_error_set(rc, "%s", message) : 0;
}

int nerve_knn_radius_visit(const nerve_mat *points, double radius, nerve_metric metric, nerve_pair_visit visit,
                           void *ctx)
{
    int64_t n = points->rows;
    if (n >= INT32_MAX)
        return nerve_error_set(NERVE_EINPUT, "radius search: %lld points, at most %d", (long long)n, INT32_MAX - 1);
    if (!(radius >= 0))
        return nerve_error_set(NERVE_EINPUT, "radius search: the radius must be >= 0, not %g", radius);
    nerve_mat unit = { 0 };
    const nerve_mat *p = points;
    int rc = 0;
    if (metric == NERVE_METRIC_COSINE) {
        rc = knn_unit_rows(&unit, points);
        p = &unit;
    }
    float *norm = malloc((size_t)n * sizeof *norm + 1);
    if (rc == 0 && !norm)
        rc = nerve_error_set(NERVE_ENOMEM, "radius search: out of memory");
    if (rc == 0) {
        threshold t = make_threshold(radius, metric);
        const visiting v = { visit, ctx };
        knn_squared_norms(norm, p);
        rc = visit_blocks(p, norm, &t, points, metric, &v);
    }
    free(norm);
    nerve_mat_free(&unit);
    return rc;
}

/* nerve_knn_radius_runs's visitor: a tile's runs all belong to one row
 * block, appended to that block's list (one thread a block). */
static int keep_in_block(void *ctx, const int32_t *runs, int64_t n_runs)
{
    nerve_vec *blocks = ctx;
    return nerve_vec_append(&blocks[runs[0] / ROW_BLOCK], runs, (size_t)n_runs);
}

/* Joins the blocks' runs in block order, freeing each once copied. */
static int join_blocks(nerve_pair_runs *out, nerve_vec *blocks, int64_t n_blocks)
{
    size_t total = 0;
    for (int64_t b = 0; b < n_blocks; b++)
        total += blocks[b].len;
    out->run = nerve_alloc_array(total, RUN_BYTES, "radius search runs");
    if (!out->run)
        return -1;
    for (int64_t b = 0; b < n_blocks; b++) {
        if (blocks[b].len > 0)
            memcpy(out->run + 3 * out->n, blocks[b].data, blocks[b].len * RUN_BYTES);
        out->n += (int64_t)blocks[b].len;
        nerve_vec_free(&blocks[b]);
    }
    return 0;
}

int nerve_knn_radius_runs(nerve_pair_runs *out, const nerve_mat *points, double radius, nerve_metric metric)
{
    memset(out, 0, sizeof *out);
    int64_t n_blocks = (points->rows + ROW_BLOCK - 1) / ROW_BLOCK;
    nerve_vec *blocks = nerve_alloc_array((size_t)n_blocks, sizeof *blocks, "radius search blocks");
    if (!blocks)
        return nerve_error_set(NERVE_ENOMEM, "radius search: out of memory");
    for (int64_t b = 0; b < n_blocks; b++)
        nerve_vec_init(&blocks[b], RUN_BYTES, "radius search runs");
    int rc = nerve_knn_radius_visit(points, radius, metric, keep_in_block, blocks);
    if (rc == 0 && join_blocks(out, blocks, n_blocks) < 0)
        rc = nerve_error_set(NERVE_ENOMEM, "radius search: out of memory");
    for (int64_t b = 0; b < n_blocks; b++)
        nerve_vec_free(&blocks[b]);
    free(blocks);
    if (rc < 0)
        nerve_pair_runs_free(out);
    return rc;
}

/* Lays the runs out as symmetric lists with each point itself included. */
static int lay_out(nerve_radius *out, int64_t n, const nerve_pair_runs *r)
{
    int64_t pairs = 0;
    for (int64_t e = 0; e < r->n; e++)
        pairs += r->run[3 * e + 2] - r->run[3 * e + 1];
    out->n = n;
    out->start = calloc((size_t)n + 1, sizeof *out->start);
    out->index = malloc((size_t)(n + 2 * pairs) * sizeof *out->index);
    int64_t *fill = malloc((size_t)n * sizeof *fill + 1);
    if (!out->start || !out->index || !fill) {
        free(fill);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        out->start[i + 1] = 1;
    for (int64_t e = 0; e < r->n; e++) {
        const int32_t *run = r->run + 3 * e;
        out->start[run[0] + 1] += run[2] - run[1];
        for (int32_t j = run[1]; j < run[2]; j++)
            out->start[j + 1]++;
    }
    for (int64_t i = 0; i < n; i++)
        out->start[i + 1] += out->start[i];
    memcpy(fill, out->start, (size_t)n * sizeof *fill);
    /* Row i's runs come after every pair (j, i), j < i: so each list is
     * its smaller neighbours, itself, then its larger ones, all ascending. */
    int64_t next_self = 0;
    for (int64_t e = 0; e < r->n; e++) {
        const int32_t *run = r->run + 3 * e;
        int32_t i = run[0];
        for (; next_self <= i; next_self++)
            out->index[fill[next_self]++] = (int32_t)next_self;
        for (int32_t j = run[1]; j < run[2]; j++) {
            out->index[fill[i]++] = j;
            out->index[fill[j]++] = i;
        }
    }
    for (; next_self < n; next_self++)
        out->index[fill[next_self]++] = (int32_t)next_self;
    free(fill);
    return 0;
}

int nerve_knn_radius(nerve_radius *out, const nerve_mat *points, double radius, nerve_metric metric)
{
    memset(out, 0, sizeof *out);
    nerve_pair_runs r;
    int rc = nerve_knn_radius_runs(&r, points, radius, metric);
    if (rc == 0 && lay_out(out, points->rows, &r) < 0) {
        nerve_radius_free(out);
        rc = nerve_error_set(NERVE_ENOMEM, "radius search: out of memory");
    }
    nerve_pair_runs_free(&r);
    return rc;
}
