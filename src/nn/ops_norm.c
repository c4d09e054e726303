/*
 * ops_norm.c — normalisations and reductions: BatchNormalization (inference,
 * and training mode from opset 14), LRN, Softmax, LogSoftmax,
 * LayerNormalization.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

static int channel_param(const op_context *c, const nerve_array *t, int64_t channels, const char *what)
{
    if (!t || t->dtype != NERVE_F32 || nerve_array_count(t) != channels)
        return node_error(c, NERVE_EINPUT, "%s must hold %lld floats", what, (long long)channels);
    return 0;
}

/* Mean and population variance of each channel over batch and space. */
static void batch_moments(const nerve_array *x, int64_t inner, double *mean, double *var)
{
    int64_t N = x->shape[0], C = x->shape[1];
    const float *v = x->data;
    for (int64_t ch = 0; ch < C; ch++) {
        double s = 0, q = 0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < inner; i++)
                s += v[(n * C + ch) * inner + i];
        mean[ch] = N * inner > 0 ? s / (double)(N * inner) : 0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < inner; i++) {
                double d = v[(n * C + ch) * inner + i] - mean[ch];
                q += d * d;
            }
        var[ch] = N * inner > 0 ? q / (double)(N * inner) : 0;
    }
}

static int op_batch_norm(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    const nerve_array *x = in[0];
    if (x->dtype != NERVE_F32 || x->ndim < 2 || n_in < 5)
        return node_error(c, NERVE_EINPUT, "needs X (N, C, ...), scale, B, mean and var");
    int64_t C = x->shape[1], inner = 1;
    for (int d = 2; d < x->ndim; d++)
        inner *= x->shape[d];
    const char *names[] = { "scale", "B", "mean", "var" };
    for (int i = 1; i < 5; i++) {
        int rc = channel_param(c, in[i], C, names[i - 1]);
        if (rc < 0)
            return rc;
    }
    float eps = attr_float(c->node, "epsilon", 1e-5f), momentum = attr_float(c->node, "momentum", 0.9f);
    int training = c->opset >= 14 && attr_int(c->node, "training_mode", 0);
    const float *scale = in[1]->data, *bias = in[2]->data, *rmean = in[3]->data, *rvar = in[4]->data;
    double *mean = malloc((size_t)(2 * C + 1) * sizeof *mean), *var = mean + C;
    int rc = mean ? nn_copy(&out[0], x) : nerve_error_set(NERVE_ENOMEM, "out of memory");
    if (rc < 0) {
        free(mean);
        return rc;
    }
    if (training)
        batch_moments(x, inner, mean, var);
    for (int64_t ch = 0; ch < C; ch++)
        if (!training) {
            mean[ch] = rmean[ch];
            var[ch] = rvar[ch];
        }
    float *y = out[0].data;
    for (int64_t n = 0; n < x->shape[0]; n++)
        for (int64_t ch = 0; ch < C; ch++) {
            float a = (float)(scale[ch] / sqrt(var[ch] + eps));
            float b = (float)(bias[ch] - mean[ch] * a);
            float *row = y + (n * C + ch) * inner;
            for (int64_t i = 0; i < inner; i++)
                row[i] = row[i] * a + b;
        }
    for (int k = 1; k < 3 && k < n_out && training && rc == 0; k++) {
        rc = nn_alloc(c, &out[k], NERVE_F32, 1, &C);
        const float *running = k == 1 ? rmean : rvar;
        const double *batch = k == 1 ? mean : var;
        for (int64_t ch = 0; rc == 0 && ch < C; ch++)
            ((float *)out[k].data)[ch] = (float)(running[ch] * momentum + batch[ch] * (1 - momentum));
    }
    free(mean);
    return rc;
}

static int op_lrn(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    const nerve_array *x = in[0];
    int64_t size = attr_int(c->node, "size", 0);
    if (x->dtype != NERVE_F32 || x->ndim < 3 || size < 1)
        return node_error(c, NERVE_EINPUT, "needs a float (N, C, ...) tensor and a positive size");
    float alpha = attr_float(c->node, "alpha", 1e-4f), beta = attr_float(c->node, "beta", 0.75f);
    float bias = attr_float(c->node, "bias", 1.0f);
    int64_t N = x->shape[0], C = x->shape[1], inner = 1;
    for (int d = 2; d < x->ndim; d++)
        inner *= x->shape[d];
    int rc = nn_alloc(c, out, NERVE_F32, x->ndim, x->shape);
    if (rc < 0)
        return rc;
    int64_t before = (size - 1) / 2, after = size - 1 - before;   /* ONNX: floor and ceil of (size-1)/2 */
    const float *v = x->data;
    float *y = out->data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++) {
            int64_t lo = ch - before < 0 ? 0 : ch - before, hi = ch + after >= C ? C - 1 : ch + after;
            for (int64_t i = 0; i < inner; i++) {
                double sq = 0;
                for (int64_t k = lo; k <= hi; k++) {
                    double e = v[(n * C + k) * inner + i];
                    sq += e * e;
                }
                int64_t at = (n * C + ch) * inner + i;
                y[at] = (float)(v[at] / pow(bias + alpha / (double)size * sq, beta));
            }
        }
    return 0;
}

/* Softmax over `len` elements spaced `stride` apart: the naive twin. */
void nn_softmax_line_naive(float *y, const float *x, int64_t len, int64_t stride, int log_softmax)
{
    float top = -INFINITY;
    for (int64_t i = 0; i < len; i++)
        top = x[i * stride] > top ? x[i * stride] : top;
    double sum = 0;
    for (int64_t i = 0; i < len; i++)
        sum += exp((double)x[i * stride] - top);
    double log_sum = log(sum);
    for (int64_t i = 0; i < len; i++) {
        double z = (double)x[i * stride] - top;
        y[i * stride] = (float)(log_softmax ? z - log_sum : exp(z) / sum);
    }
}

/* The same with expf on floats, the sum in double: attention's softmax
 * over every row of (heads, T, T) is a tenth of a ViT's time in double. */
void nn_softmax_line(float *y, const float *x, int64_t len, int64_t stride, int log_softmax)
{
    float top = -INFINITY;
    for (int64_t i = 0; i < len; i++)
        top = x[i * stride] > top ? x[i * stride] : top;
    double sum = 0;
    for (int64_t i = 0; i < len; i++) {
        float e = expf(x[i * stride] - top);
        y[i * stride] = e;
        sum += e;
    }
    if (log_softmax) {
        float log_sum = (float)log(sum);
        for (int64_t i = 0; i < len; i++)
            y[i * stride] = x[i * stride] - top - log_sum;
        return;
    }
    float inv = (float)(1 / sum);
    for (int64_t i = 0; i < len; i++)
        y[i * stride] *= inv;
}

static int softmax(const op_context *c, const nerve_array *x, nerve_array *out, int log_softmax)
{
    if (x->dtype != NERVE_F32)
        return node_error(c, NERVE_EINPUT, "X must be float");
    /* Before opset 13 the input is coerced to 2-D at axis (default 1);
     * from 13 the softmax runs along one axis (default -1). */
    int legacy = c->opset < 13, axis, rc;
    int64_t a = attr_int(c->node, "axis", legacy ? 1 : -1);
    if (legacy && a == x->ndim)
        axis = x->ndim;   /* coerced to (everything, 1) */
    else if ((rc = nn_axis(c, a, x->ndim ? x->ndim : 1, &axis)) < 0)
        return rc;
    if ((rc = nn_alloc_raw(c, out, NERVE_F32, x->ndim, x->shape)) < 0)   /* every line written */
        return rc;
    int64_t outer = 1, len = 1, inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (d < axis)
            outer *= x->shape[d];
        else if (legacy || d == axis)
            len *= x->shape[d];
        else
            inner *= x->shape[d];
    }
    #pragma omp parallel for schedule(static) if (outer * inner * len > 1 << 16)
    for (int64_t line = 0; line < outer * inner; line++) {
        int64_t o = line / inner, i = line % inner;
        nn_softmax_line((float *)out->data + o * len * inner + i, (const float *)x->data + o * len * inner + i, len,
                        inner, log_softmax);
    }
    return 0;
}

static int op_softmax(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    return softmax(c, in[0], out, 0);
}

static int op_log_softmax(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    return softmax(c, in[0], out, 1);
}

/* LayerNormalization (opset 17): each row of the trailing axes [axis, rank)
 * normalised to mean 0 and variance 1 (population), then scaled and shifted
 * by Scale and B of the trailing shape. The optional outputs Mean and
 * InvStdDev keep the leading axes and have 1s for the normalised ones. */
static int layer_norm_params(const op_context *c, const nerve_array *const *in, int n_in, int64_t inner)
{
    for (int i = 1; i < n_in && i < 3; i++)
        if (in[i] && (in[i]->dtype != NERVE_F32 || nerve_array_count(in[i]) != inner))
            return node_error(c, NERVE_EINPUT, "%s must hold %lld floats (the normalised axes)",
                              i == 1 ? "Scale" : "B", (long long)inner);
    return 0;
}

void nn_layer_norm_moments(const float *x, int64_t inner, double eps, double *mean_out, double *inv_out)
{
    double s = 0, q = 0;
    for (int64_t i = 0; i < inner; i++)
        s += x[i];
    double mean = inner ? s / (double)inner : 0;
    for (int64_t i = 0; i < inner; i++)
        q += (x[i] - mean) * (x[i] - mean);
    *mean_out = mean;
    *inv_out = 1 / sqrt((inner ? q / (double)inner : 0) + eps);
}

static void layer_norm_row(float *y, const float *x, const float *scale, const float *bias, int64_t inner,
                           double eps, float *mean_out, float *inv_out)
{
    double mean, inv;
    nn_layer_norm_moments(x, inner, eps, &mean, &inv);
    for (int64_t i = 0; i < inner; i++)
        y[i] = (float)((x[i] - mean) * inv) * scale[i] + (bias ? bias[i] : 0);
    if (mean_out)
        *mean_out = (float)mean;
    if (inv_out)
        *inv_out = (float)inv;
}

static int op_layer_norm(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    const nerve_array *x = in[0];
    int axis = 0, rc = x->dtype == NERVE_F32 ? nn_axis(c, attr_int(c->node, "axis", -1), x->ndim, &axis)
                                             : node_error(c, NERVE_EINPUT, "X must be float");
    if (rc < 0)
        return rc;
    int64_t outer = 1, inner = 1, stat_shape[NERVE_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) {
        *(d < axis ? &outer : &inner) *= x->shape[d];
        stat_shape[d] = d < axis ? x->shape[d] : 1;
    }
    if ((rc = layer_norm_params(c, in, n_in, inner)) < 0 || (rc = nn_alloc_raw(c, &out[0], NERVE_F32, x->ndim, x->shape)) < 0)
        return rc;
    for (int k = 1; k < n_out && k < 3 && rc == 0; k++)
        rc = nn_alloc_raw(c, &out[k], NERVE_F32, x->ndim, stat_shape);
    if (rc < 0)
        return rc;
    double eps = attr_float(c->node, "epsilon", 1e-5f);
    const float *scale = in[1]->data, *bias = n_in > 2 && in[2] ? in[2]->data : NULL;
    float *mean = n_out > 1 ? out[1].data : NULL, *inv = n_out > 2 ? out[2].data : NULL;
    #pragma omp parallel for schedule(static) if (outer * inner > 1 << 16)
    for (int64_t o = 0; o < outer; o++)
        layer_norm_row((float *)out[0].data + o * inner, (const float *)x->data + o * inner, scale, bias, inner,
                       eps, mean ? mean + o : NULL, inv ? inv + o : NULL);
    return 0;
}

const op_def nn_ops_norm[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "BatchNormalization", op_batch_norm,             5, 5,  0, 5, NULL },
    { "LRN",                op_lrn,                    1, 1,  0, 1, NULL },
    { "Softmax",            op_softmax,                1, 1,  0, 1, NULL },
    { "LogSoftmax",         op_log_softmax,            1, 1,  0, 1, NULL },
    { "LayerNormalization", op_layer_norm,             2, 3,  0, 3, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
