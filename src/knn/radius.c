/*
 * radius.c — every point's neighbours within a radius, by blocked GEMM over
 * the upper triangle of the distance matrix. Row blocks are the OpenMP work
 * items; each emits its pairs (i < j) in row order, and the blocks are
 * joined in order; as lists, the pairs are then laid out symmetrically, so
 * every list comes out ascending whatever the thread count.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knn_internal.h"

enum { ROW_BLOCK = 256, COL_BLOCK = 1024 };

void nerve_radius_free(nerve_radius *r)
{
    free(r->start);
    free(r->index);
    memset(r, 0, sizeof *r);
}

void nerve_pairs_free(nerve_pairs *p)
{
    free(p->ij);
    memset(p, 0, sizeof *p);
}

/* A growable list of pairs (i, j), i < j. */
typedef struct pairs {
    int32_t *ij;
    int64_t  n, cap;
} pairs;

static int pairs_push(pairs *p, int64_t i, int64_t j)
{
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 4096;
        int32_t *ij = realloc(p->ij, (size_t)cap * 2 * sizeof *ij);
        if (!ij)
            return -1;
        p->ij = ij;
        p->cap = cap;
    }
    p->ij[2 * p->n] = (int32_t)i;
    p->ij[2 * p->n + 1] = (int32_t)j;
    p->n++;
    return 0;
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

/* Scans one GEMM tile: rows r0.., columns c0.., emitting pairs i < j. */
static int scan_tile(pairs *out, const float *g, int64_t rb, int64_t cb, int64_t r0, int64_t c0,
                     const float *norm, const threshold *t, const nerve_mat *orig, nerve_metric metric)
{
    for (int64_t a = 0; a < rb; a++) {
        int64_t i = r0 + a;
        const float *row = g + a * cb;
        int64_t b0 = i + 1 > c0 ? i + 1 - c0 : 0;
        for (int64_t b = b0; b < cb; b++) {
            int64_t j = c0 + b;
            float slack = t->slack * (norm[i] + norm[j]);
            float sq = norm[i] + norm[j] - 2 * row[b];
            if (sq > t->hi + slack)
                continue;
            if (sq >= t->lo - slack &&
                nerve_knn_distance(orig->data + i * orig->cols, orig->data + j * orig->cols, orig->cols, metric) >
                    t->radius)
                continue;
            if (pairs_push(out, i, j) < 0)
                return -1;
        }
    }
    return 0;
}

/* The pairs of one row block against every later column. */
static int block_pairs(pairs *out, float *g, const nerve_mat *p, const float *norm, int64_t r0,
                       const threshold *t, const nerve_mat *orig, nerve_metric metric)
{
    int64_t n = p->rows, d = p->cols;
    int64_t rb = n - r0 < ROW_BLOCK ? n - r0 : ROW_BLOCK;
    for (int64_t c0 = r0; c0 < n; c0 += COL_BLOCK) {
        int64_t cb = n - c0 < COL_BLOCK ? n - c0 : COL_BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rb, (int)cb, (int)d, 1.0f, p->data + r0 * d,
                    (int)d, p->data + c0 * d, (int)d, 0.0f, g, (int)cb);
        if (scan_tile(out, g, rb, cb, r0, c0, norm, t, orig, metric) < 0)
            return -1;
    }
    return 0;
}

/* Joins the blocks' pairs in block order, freeing each once copied. */
static int join_blocks(nerve_pairs *out, pairs *blocks, int64_t n_blocks)
{
    int64_t total = 0;
    for (int64_t b = 0; b < n_blocks; b++)
        total += blocks[b].n;
    out->ij = malloc((size_t)total * 2 * sizeof *out->ij + 1);
    if (!out->ij)
        return -1;
    for (int64_t b = 0; b < n_blocks; b++) {
        if (blocks[b].n > 0)
            memcpy(out->ij + 2 * out->n, blocks[b].ij, (size_t)blocks[b].n * 2 * sizeof *out->ij);
        out->n += blocks[b].n;
        free(blocks[b].ij);
        blocks[b].ij = NULL;
    }
    return 0;
}

int nerve_knn_radius_pairs(nerve_pairs *out, const nerve_mat *points, double radius, nerve_metric metric)
{
    memset(out, 0, sizeof *out);
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
    int64_t n_blocks = (n + ROW_BLOCK - 1) / ROW_BLOCK;
    pairs *blocks = calloc((size_t)n_blocks + 1, sizeof *blocks);
    float *norm = malloc((size_t)n * sizeof *norm + 1);
    if (rc == 0 && (!blocks || !norm))
        rc = nerve_error_set(NERVE_ENOMEM, "radius search: out of memory");
    threshold t = make_threshold(radius, metric);
    int failed = 0;
    if (rc == 0) {
        knn_squared_norms(norm, p);
        #pragma omp parallel reduction(|:failed)
        {
            float *g = malloc((size_t)ROW_BLOCK * COL_BLOCK * sizeof *g);
            failed = !g;
            #pragma omp for schedule(dynamic, 1)
            for (int64_t b = 0; b < n_blocks; b++)
                if (!failed && block_pairs(&blocks[b], g, p, norm, b * ROW_BLOCK, &t, points, metric) < 0)
                    failed = 1;
            free(g);
        }
        if (failed || join_blocks(out, blocks, n_blocks) < 0)
            rc = nerve_error_set(NERVE_ENOMEM, "radius search: out of memory");
    }
    for (int64_t b = 0; blocks && b < n_blocks; b++)
        free(blocks[b].ij);
    free(blocks);
    free(norm);
    nerve_mat_free(&unit);
    if (rc < 0)
        nerve_pairs_free(out);
    return rc;
}

/* Lays the pairs out as symmetric lists with each point itself included. */
static int lay_out(nerve_radius *out, int64_t n, const nerve_pairs *p)
{
    out->n = n;
    out->start = calloc((size_t)n + 1, sizeof *out->start);
    out->index = malloc((size_t)(n + 2 * p->n) * sizeof *out->index);
    int64_t *fill = malloc((size_t)n * sizeof *fill + 1);
    if (!out->start || !out->index || !fill) {
        free(fill);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        out->start[i + 1] = 1;
    for (int64_t e = 0; e < 2 * p->n; e++)
        out->start[p->ij[e] + 1]++;
    for (int64_t i = 0; i < n; i++)
        out->start[i + 1] += out->start[i];
    memcpy(fill, out->start, (size_t)n * sizeof *fill);
    /* Row i's pairs come after every pair (j, i), j < i: so each list is
     * its smaller neighbours, itself, then its larger ones, all ascending. */
    int64_t next_self = 0;
    for (int64_t e = 0; e < p->n; e++) {
        int32_t i = p->ij[2 * e], j = p->ij[2 * e + 1];
        for (; next_self <= i; next_self++)
            out->index[fill[next_self]++] = (int32_t)next_self;
        out->index[fill[i]++] = j;
        out->index[fill[j]++] = i;
    }
    for (; next_self < n; next_self++)
        out->index[fill[next_self]++] = (int32_t)next_self;
    free(fill);
    return 0;
}

int nerve_knn_radius(nerve_radius *out, const nerve_mat *points, double radius, nerve_metric metric)
{
    memset(out, 0, sizeof *out);
    nerve_pairs p;
    int rc = nerve_knn_radius_pairs(&p, points, radius, metric);
    if (rc == 0 && lay_out(out, points->rows, &p) < 0) {
        nerve_radius_free(out);
        rc = nerve_error_set(NERVE_ENOMEM, "radius search: out of memory");
    }
    nerve_pairs_free(&p);
    return rc;
}
