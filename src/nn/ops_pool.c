/*
 * ops_pool.c — MaxPool (with optional indices), AveragePool (with or
 * without the padding in the count), GlobalAveragePool, GlobalMaxPool.
 */
#include <math.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

typedef enum { POOL_MAX, POOL_AVG } pool_kind;

/* One output element: the window at (od, oh, ow) of one (n, c) plane. */
static float pool_window(const float *plane, const nn_geometry *g, int64_t od, int64_t oh, int64_t ow,
                         pool_kind kind, int count_pad, int column_major, int64_t *argmax)
{
    float best = -INFINITY;
    double sum = 0;
    int64_t count = 0, best_at = -1;
    int64_t start[3] = { od * g->s[0] - g->pb[0], oh * g->s[1] - g->pb[1], ow * g->s[2] - g->pb[2] };
    for (int64_t kd = 0; kd < g->k[0]; kd++) {
        int64_t id = start[0] + kd * g->d[0];
        for (int64_t kh = 0; kh < g->k[1]; kh++) {
            int64_t ih = start[1] + kh * g->d[1];
            for (int64_t kw = 0; kw < g->k[2]; kw++) {
                int64_t iw = start[2] + kw * g->d[2];
                if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1] || iw < 0 || iw >= g->in[2])
                    continue;
                int64_t at = (id * g->in[1] + ih) * g->in[2] + iw;
                float v = plane[at];
                if (v > best || best_at < 0) {
                    best = v;
                    best_at = column_major ? id + g->in[0] * (ih + g->in[1] * iw) : at;
                }
                sum += v;
                count++;
            }
        }
    }
    if (kind == POOL_MAX) {
        *argmax = best_at;
        return best;
    }
    if (count_pad) {
        /* As PyTorch: the window clipped to the padded input, not the input. */
        count = 1;
        for (int i = 0; i < 3; i++) {
            int64_t lo = start[i], hi = start[i] + (g->k[i] - 1) * g->d[i] + 1;
            int64_t limit = g->in[i] + g->pe[i];
            hi = hi > limit ? limit : hi;
            count *= (hi - lo + g->d[i] - 1) / g->d[i];
        }
    }
    return count ? (float)(sum / (double)count) : 0;
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
    if (rc < 0 || (rc = nn_window_output(&out[0], &g, g.channels)) < 0)
        return rc;
    int want_indices = kind == POOL_MAX && n_out > 1;
    if (want_indices && (rc = nerve_array_alloc(&out[1], NERVE_I64, out[0].ndim, out[0].shape)) < 0) {
        nerve_array_free(&out[0]);
        return rc;
    }
    int count_pad = (int)attr_int(c->node, "count_include_pad", 0);
    int column_major = (int)attr_int(c->node, "storage_order", 0);
    int64_t ivol = g.in[0] * g.in[1] * g.in[2], ovol = g.out[0] * g.out[1] * g.out[2];
    int64_t planes = g.batch * g.channels;
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
    int rc = nerve_array_alloc(out, NERVE_F32, x->ndim, shape);
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
    { "MaxPool", op_max_pool },
    { "AveragePool", op_average_pool },
    { "GlobalAveragePool", op_global_average_pool },
    { "GlobalMaxPool", op_global_max_pool },
    { NULL, NULL },
};
