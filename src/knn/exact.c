/*
 * exact.c — exact k-nearest neighbours by blocked GEMM. Queries are taken
 * in fixed blocks (the OpenMP work items); each block meets the points
 * block by block through one sgemm, and a bounded max-heap per query keeps
 * the k best. The winners' distances are recomputed directly at the end, so
 * the cancellation in |x|^2 + |y|^2 - 2 x.y costs no accuracy in the
 * values, and heap order is (distance, index), so ties never depend on the
 * thread count.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "knn_internal.h"

enum { QUERY_BLOCK = 512, POINT_BLOCK = 1024 };   /* measured best on 100,000 x 128 */

const char *nerve_metric_name(nerve_metric m)
{
    return m == NERVE_METRIC_COSINE ? "cosine" : "euclidean";
}

int nerve_metric_parse(const char *s, nerve_metric *m)
{
    if (strcmp(s, "euclidean") == 0)
        *m = NERVE_METRIC_EUCLIDEAN;
    else if (strcmp(s, "cosine") == 0)
        *m = NERVE_METRIC_COSINE;
    else
        return -1;
    return 0;
}

void nerve_knn_free(nerve_knn *knn)
{
    free(knn->index);
    free(knn->dist);
    memset(knn, 0, sizeof *knn);
}

/* Whether (da, ia) comes after (db, ib) in nearest-first order. */
static int after(float da, int64_t ia, float db, int64_t ib)
{
    return da > db || (da == db && ia > ib);
}

/* One query against a block of points: the squared distances in one pass
 * the compiler vectorises, then only those that beat the k-th best so far
 * go to the heap (after the first block, very few). */
static void scan_row(float *row, float qn, const float *pn, int64_t pb, int64_t p0, int64_t self, nerve_topk *best)
{
    for (int64_t j = 0; j < pb; j++)
        row[j] = qn + pn[j] - 2 * row[j];
    if (self >= p0 && self < p0 + pb)
        row[self - p0] = INFINITY;
    float bound = nerve_topk_bound(best);
    for (int64_t j = 0; j < pb; j++)
        if (row[j] <= bound) {
            if (self == p0 + j)
                continue;
            if (nerve_topk_push(best, row[j], p0 + j))
                bound = nerve_topk_bound(best);
        }
}

/* Sorts a query's k heap entries nearest first, with exact distances. */
static void finish_query(float *dist, int64_t *index, const int64_t *idx, int64_t k, const float *q,
                         const nerve_mat *points, nerve_metric metric)
{
    for (int64_t j = 0; j < k; j++) {
        index[j] = idx[j];
        dist[j] = knn_distance(q, points->data + idx[j] * points->cols, points->cols, metric);
    }
    /* Insertion sort by (distance, index): k is small. */
    for (int64_t a = 1; a < k; a++) {
        float dv = dist[a];
        int64_t iv = index[a];
        int64_t b = a - 1;
        while (b >= 0 && after(dist[b], index[b], dv, iv)) {
            dist[b + 1] = dist[b];
            index[b + 1] = index[b];
            b--;
        }
        dist[b + 1] = dv;
        index[b + 1] = iv;
    }
}

static int knn_blocked(nerve_knn *out, const nerve_mat *queries, const nerve_mat *points, int64_t k,
                       nerve_metric metric, int exclude_self)
{
    memset(out, 0, sizeof *out);
    const char *what = exclude_self ? "knn" : "knn query";
    if (k < 1 || k > points->rows - exclude_self)
        return nerve_error_set(NERVE_EINPUT, "%s: k = %lld, but there are %lld points", what, (long long)k,
                               (long long)points->rows);
    if (queries->cols != points->cols)
        return nerve_error_set(NERVE_EINPUT, "%s: queries have %lld dimensions, points %lld", what,
                               (long long)queries->cols, (long long)points->cols);
    nerve_mat uq = { 0 }, up = { 0 };
    const nerve_mat *q = queries, *p = points;
    int rc = 0;
    if (metric == NERVE_METRIC_COSINE) {
        rc = knn_unit_rows(&up, points);
        if (rc == 0 && queries != points)
            rc = knn_unit_rows(&uq, queries);
        p = &up;
        q = queries == points ? &up : &uq;
    }
    int64_t nq = q->rows, np = p->rows, d = p->cols;
    float *qn = malloc((size_t)nq * sizeof *qn), *pn = malloc((size_t)np * sizeof *pn);
    out->index = malloc((size_t)(nq * k) * sizeof *out->index);
    out->dist = malloc((size_t)(nq * k) * sizeof *out->dist);
    if (rc == 0 && (!qn || !pn || !out->index || !out->dist))
        rc = nerve_error_set(NERVE_ENOMEM, "%s: out of memory", what);
    if (rc == 0) {
        knn_squared_norms(qn, q);
        knn_squared_norms(pn, p);
        out->n = nq;
        out->k = k;
    }
    int failed = 0;
    int64_t blocks = (nq + QUERY_BLOCK - 1) / QUERY_BLOCK;
    #pragma omp parallel reduction(|:failed) if (rc == 0)
    {
        float *g = malloc((size_t)QUERY_BLOCK * POINT_BLOCK * sizeof *g);
        float *key = malloc((size_t)(QUERY_BLOCK * k) * sizeof *key);
        int64_t *idx = malloc((size_t)(QUERY_BLOCK * k) * sizeof *idx);
        nerve_topk best[QUERY_BLOCK];
        failed = !g || !key || !idx;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < blocks; b++) {
            if (failed || rc < 0)
                continue;
            int64_t q0 = b * QUERY_BLOCK, qb = nq - q0 < QUERY_BLOCK ? nq - q0 : QUERY_BLOCK;
            for (int64_t i = 0; i < qb; i++)
                nerve_topk_init(&best[i], key + i * k, idx + i * k, k);
            for (int64_t p0 = 0; p0 < np; p0 += POINT_BLOCK) {
                int64_t pb = np - p0 < POINT_BLOCK ? np - p0 : POINT_BLOCK;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)pb, (int)d, 1.0f,
                            q->data + q0 * d, (int)d, p->data + p0 * d, (int)d, 0.0f, g, (int)pb);
                for (int64_t i = 0; i < qb; i++)
                    scan_row(g + i * pb, qn[q0 + i], pn + p0, pb, p0, exclude_self ? q0 + i : -1, &best[i]);
            }
            for (int64_t i = 0; i < qb; i++)
                finish_query(out->dist + (q0 + i) * k, out->index + (q0 + i) * k, idx + i * k, k,
                             q->data + (q0 + i) * d, p, metric);
        }
        free(g);
        free(key);
        free(idx);
    }
    if (rc == 0 && failed)
        rc = nerve_error_set(NERVE_ENOMEM, "%s: out of memory", what);
    free(qn);
    free(pn);
    nerve_mat_free(&uq);
    nerve_mat_free(&up);
    if (rc < 0)
        nerve_knn_free(out);
    return rc;
}

int nerve_knn_exact(nerve_knn *out, const nerve_mat *points, int64_t k, nerve_metric metric)
{
    return knn_blocked(out, points, points, k, metric, 1);
}

int nerve_knn_query(nerve_knn *out, const nerve_mat *queries, const nerve_mat *points, int64_t k,
                    nerve_metric metric)
{
    return knn_blocked(out, queries, points, k, metric, 0);
}

int nerve_knn_naive(nerve_knn *out, const nerve_mat *points, int64_t k, nerve_metric metric)
{
    memset(out, 0, sizeof *out);
    int64_t n = points->rows, d = points->cols;
    if (k < 1 || k >= n)
        return nerve_error_set(NERVE_EINPUT, "knn: k = %lld, but there are %lld points", (long long)k, (long long)n);
    out->index = malloc((size_t)(n * k) * sizeof *out->index);
    out->dist = malloc((size_t)(n * k) * sizeof *out->dist);
    float *key = malloc((size_t)k * sizeof *key);
    int64_t *idx = malloc((size_t)k * sizeof *idx);
    if (!out->index || !out->dist || !key || !idx) {
        free(key);
        free(idx);
        nerve_knn_free(out);
        return nerve_error_set(NERVE_ENOMEM, "knn: out of memory");
    }
    out->n = n;
    out->k = k;
    for (int64_t i = 0; i < n; i++) {
        nerve_topk best;
        nerve_topk_init(&best, key, idx, k);
        for (int64_t j = 0; j < n; j++)
            if (j != i)
                nerve_topk_push(&best, knn_distance(points->data + i * d, points->data + j * d, d, metric), j);
        finish_query(out->dist + i * k, out->index + i * k, idx, k, points->data + i * d, points, metric);
    }
    free(key);
    free(idx);
    return 0;
}
