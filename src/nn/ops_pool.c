/*
 * ops_pool.c — MaxPool (with optional indices), AveragePool (with or
 * without the padding in the count), GlobalAveragePool, GlobalMaxPool.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

typedef enum { POOL_MAX, POOL_AVG } pool_kind;

/* The kernel indices [lo, hi) of a window starting at `start` that land
 * inside [0, size), stepping by the dilation. */
static void kernel_range(int64_t start, int64_t k, int64_t d, int64_t size, int64_t *lo, int64_t *hi)
{
    if (d == 1) {   /* the common case, without the divisions */
        *lo = start < 0 ? -start : 0;
        *hi = size - start < k ? size - start : k;
        if (*hi < *lo)
            *hi = *lo;
        return;
    }
    *lo = start < 0 ? (-start + d - 1) / d : 0;
    int64_t end = size - start <= 0 ? 0 : (size - start + d - 1) / d;
    *hi = end < k ? end : k;
    if (*hi < *lo)
        *hi = *lo;
}

/* One output element: the window at (od, oh, ow) of one (n, c) plane. */
static float pool_window(const float *plane, const nn_geometry *g, int64_t od, int64_t oh, int64_t ow,
                         pool_kind kind, int count_pad, int column_major, int64_t *argmax)
{
    int64_t start[3] = { od * g->s[0] - g->pb[0], oh * g->s[1] - g->pb[1], ow * g->s[2] - g->pb[2] };
    int64_t lo[3], hi[3];
    for (int i = 0; i < 3; i++)
        kernel_range(start[i], g->k[i], g->d[i], g->in[i], &lo[i], &hi[i]);
    float best = -INFINITY;
    double sum = 0;
    int64_t best_at = -1;
    for (int64_t kd = lo[0]; kd < hi[0]; kd++) {
        int64_t id = start[0] + kd * g->d[0];
        for (int64_t kh = lo[1]; kh < hi[1]; kh++) {
            int64_t ih = start[1] + kh * g->d[1];
            const float *row = plane + (id * g->in[1] + ih) * g->in[2];
            for (int64_t kw = lo[2]; kw < hi[2]; kw++) {
                int64_t iw = start[2] + kw * g->d[2];
                float v = row[iw];
                if (v > best || best_at < 0) {
                    best = v;
                    best_at = column_major ? id + g->in[0] * (ih + g->in[1] * iw)
                                           : (id * g->in[1] + ih) * g->in[2] + iw;
                }
                sum += v;
            }
        }
    }
    if (kind == POOL_MAX) {
        *argmax = best_at;
        return best;
    }
    int64_t count = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
    if (count_pad) {
        /* As PyTorch: the window clipped to the padded input, not the input. */
        count = 1;
        for (int i = 0; i < 3; i++) {
            int64_t a, b;
            kernel_range(start[i] + g->pb[i], g->k[i], g->d[i], g->in[i] + g->pb[i] + g->pe[i], &a, &b);
            count *= b - a;
        }
    }
    return count ? (float)(sum / (double)count) : 0;
}

/* Max pooling of one 2-D plane without dilation or indices, separably: the
 * max down each window's rows (a vectorisable pass over whole input rows),
 * then across the window's columns. rowmax holds one input row. */
static void max_pool_plane_2d(float *y, const float *plane, const nn_geometry *g, float *rowmax)
{
    const int64_t H = g->in[1], W = g->in[2];
    for (int64_t oh = 0; oh < g->out[1]; oh++) {
        int64_t start = oh * g->s[1] - g->pb[1], lo, hi;
        kernel_range(start, g->k[1], 1, H, &lo, &hi);
        for (int64_t iw = 0; iw < W; iw++)
            rowmax[iw] = -INFINITY;
        for (int64_t kh = lo; kh < hi; kh++) {
            const float *row = plane + (start + kh) * W;
            for (int64_t iw = 0; iw < W; iw++)
                rowmax[iw] = row[iw] > rowmax[iw] ? row[iw] : rowmax[iw];
        }
        for (int64_t ow = 0; ow < g->out[2]; ow++) {
            int64_t wstart = ow * g->s[2] - g->pb[2], wlo, whi;
            kernel_range(wstart, g->k[2], 1, W, &wlo, &whi);
            float best = -INFINITY;
            for (int64_t kw = wlo; kw < whi; kw++)
                best = rowmax[wstart + kw] > best ? rowmax[wstart + kw] : best;
            y[oh * g->out[2] + ow] = best;
        }
    }
}

static int is_plain_2d(const nn_geometry *g)
{
    return g->in[0] == 1 && g->k[0] == 1 && g->d[1] == 1 && g->d[2] == 1;
}

static int pool(const op_context *c, const nerve_array *const *in, nerve_array *out, int n_out, pool_kind kind)
{
    const nerve_array *x = in[0];
    if (x->dtype != NERVE_F32)
        return node_error(c, NERVE_EINPUT, "X must be float");
    int64_t nk;
    const int64_t *ks = attr_ints(c->node, "kernel_shape", &nk);
    if (!ks || nk != x->ndim - 2)
        return node_error(c, NERVE_EINPUT, "kernel_shape must give one size per spatial axis");
    nn_geometry g;
    int rc = nn_window(c, x, ks, (int)attr_int(c->node, "ceil_mode", 0), &g);
    if (rc < 0 || (rc = nn_window_output(c, &out[0], &g, g.channels)) < 0)
        return rc;
    int want_indices = kind == POOL_MAX && n_out > 1;
    if (want_indices && (rc = nn_alloc(c, &out[1], NERVE_I64, out[0].ndim, out[0].shape)) < 0) {
        nerve_array_free(&out[0]);
        return rc;
    }
    int count_pad = (int)attr_int(c->node, "count_include_pad", 0);
    int column_major = (int)attr_int(c->node, "storage_order", 0);
    int64_t ivol = g.in[0] * g.in[1] * g.in[2], ovol = g.out[0] * g.out[1] * g.out[2];
    int64_t planes = g.batch * g.channels;
    if (kind == POOL_MAX && !want_indices && is_plain_2d(&g)) {
        int failed = 0;
        #pragma omp parallel reduction(|:failed)
        {
            float *rowmax = malloc((size_t)g.in[2] * sizeof *rowmax);
            failed = !rowmax;
            #pragma omp for schedule(static)
            for (int64_t p = 0; p < planes; p++)
                if (rowmax)
                    max_pool_plane_2d((float *)out[0].data + p * ovol, (const float *)x->data + p * ivol, &g, rowmax);
            free(rowmax);
        }
        if (failed) {
            nerve_array_free(&out[0]);
            return nerve_error_set(NERVE_ENOMEM, "out of memory");
        }
        return 0;
    }
    #pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        const float *plane = (const float *)x->data + p * ivol;
        float *y = (float *)out[0].data + p * ovol;
        int64_t *idx = want_indices ? (int64_t *)out[1].data + p * ovol : NULL;
        int64_t k = 0;
        for (int64_t od = 0; od < g.out[0]; od++)
            for (int64_t oh = 0; oh < g.out[1]; oh++)
                for (int64_t ow = 0; ow < g.out[2]; ow++, k++) {
                    int64_t at = 0;
                    y[k] = pool_window(plane, &g, od, oh, ow, kind, count_pad, column_major, &at);
                    if (idx)
                        idx[k] = p * ivol + at;
                }
    }
    return 0;
}

/* Before a run: the kernel is required, one to three positive sizes. */
static int check_pool(const op_context *c, const nerve_array *const *known, int n_in)
{
    (void)known; (void)n_in;
    int64_t nk;
    const int64_t *ks = attr_ints(c->node, "kernel_shape", &nk);
    if (!ks || nk < 1 || nk > 3)
        return node_error(c, NERVE_EINPUT, "kernel_shape must give one size per spatial axis (1 to 3)");
    return nn_window_attributes(c, (int)nk, ks);
}

static int op_max_pool(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in;
    return pool(c, in, out, n_out, POOL_MAX);
}

static int op_average_pool(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in;
    return pool(c, in, out, n_out, POOL_AVG);
}

static int global_pool(const op_context *c, const nerve_array *x, nerve_array *out, pool_kind kind)
{
    if (x->dtype != NERVE_F32 || x->ndim < 3)
        return node_error(c, NERVE_EINPUT, "X must be a float (N, C, ...) tensor");
    int64_t shape[NERVE_MAX_DIMS], vol = 1;
    for (int d = 0; d < x->ndim; d++) {
        shape[d] = d < 2 ? x->shape[d] : 1;
        vol *= d < 2 ? 1 : x->shape[d];
    }
    int rc = nn_alloc(c, out, NERVE_F32, x->ndim, shape);
    int64_t planes = x->shape[0] * x->shape[1];
    for (int64_t p = 0; rc == 0 && p < planes; p++) {
        const float *v = (const float *)x->data + p * vol;
        double sum = 0;
        float best = -INFINITY;
        for (int64_t i = 0; i < vol; i++) {
            sum += v[i];
            best = v[i] > best ? v[i] : best;
        }
        ((float *)out->data)[p] = kind == POOL_MAX ? best : (float)(sum / (double)vol);
    }
    return rc;
}

static int op_global_average_pool(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    return global_pool(c, in[0], out, POOL_AVG);
}

static int op_global_max_pool(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    return global_pool(c, in[0], out, POOL_MAX);
}

const op_def nn_ops_pool[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "MaxPool",           op_max_pool,               1, 1,  0, 2, check_pool },
    { "AveragePool",       op_average_pool,           1, 1,  0, 1, check_pool },
    { "GlobalAveragePool", op_global_average_pool,    1, 1,  0, 1, NULL },
    { "GlobalMaxPool",     op_global_max_pool,        1, 1,  0, 1, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
