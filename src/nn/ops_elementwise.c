/*
 * ops_elementwise.c — arithmetic with ONNX (numpy-style) multidirectional
 * broadcasting, and the pointwise activations.
 */
#include <math.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

/* ---- broadcasting ---------------------------------------------------- */

int nn_broadcast_shape(const op_context *c, const nerve_array *a, const nerve_array *b,
                       int *ndim, int64_t *shape)
{
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < n; i++) {
        int ia = i - (n - a->ndim), ib = i - (n - b->ndim);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return node_error(c, NERVE_EINPUT, "shapes do not broadcast: dimension %d is %lld "
                              "and %lld", i, (long long)da, (long long)db);
        shape[i] = da == 1 ? db : da;
    }
    *ndim = n;
    return 0;
}

void nn_broadcast_strides(const nerve_array *t, int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        int it = i - (ndim - t->ndim);
        int64_t d = it >= 0 ? t->shape[it] : 1;
        stride[i] = d == 1 && shape[i] != 1 ? 0 : s;
        s *= d;
    }
}

typedef enum { ADD, SUB, MUL, DIV } binop;

#define BINARY_LOOP(T, out, a, sa, b, sb, n, EXPR)                             \
    for (int64_t j = 0; j < (n); j++) {                                      \
        T x = (a)[j * (sa)], y = (b)[j * (sb)];                              \
        (out)[j] = (EXPR);                                                   \
    }

/* The rows a transformer makes most: both contiguous, or one operand a
 * single value along the row (a bias per row, GELU's constants); written
 * out so that the compiler vectorises them. */
#define BINARY_FAST(o, a, sa, b, sb, n, EXPR)                                      \
    if ((sa) == 1 && (sb) == 1)                                                      \
        BINARY_LOOP(float, o, a, 1, b, 1, n, EXPR)                                   \
    else if ((sa) == 1 && (sb) == 0)                                                 \
        BINARY_LOOP(float, o, a, 1, b, 0, n, EXPR)                                   \
    else if ((sa) == 0 && (sb) == 1)                                                 \
        BINARY_LOOP(float, o, a, 0, b, 1, n, EXPR)                                   \
    else                                                                             \
        BINARY_LOOP(float, o, a, sa, b, sb, n, EXPR)

static void binary_row_f32(binop op, float *o, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n)
{
    switch (op) {
    case ADD: BINARY_FAST(o, a, sa, b, sb, n, x + y); break;
    case SUB: BINARY_FAST(o, a, sa, b, sb, n, x - y); break;
    case MUL: BINARY_FAST(o, a, sa, b, sb, n, x * y); break;
    case DIV: BINARY_FAST(o, a, sa, b, sb, n, x / y); break;
    }
}

/* The naive twin: any strides, one loop. */
void nn_binary_row_naive(int op, float *o, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n)
{
    switch ((binop)op) {
    case ADD: BINARY_LOOP(float, o, a, sa, b, sb, n, x + y); break;
    case SUB: BINARY_LOOP(float, o, a, sa, b, sb, n, x - y); break;
    case MUL: BINARY_LOOP(float, o, a, sa, b, sb, n, x * y); break;
    case DIV: BINARY_LOOP(float, o, a, sa, b, sb, n, x / y); break;
    }
}

static void binary_row_i64(binop op, int64_t *o, const int64_t *a, int64_t sa, const int64_t *b, int64_t sb, int64_t n)
{
    /* Wrapping arithmetic as numpy does; division by zero gives 0, not a trap. */
    switch (op) {
    case ADD: BINARY_LOOP(int64_t, o, a, sa, b, sb, n, (int64_t)((uint64_t)x + (uint64_t)y)); break;
    case SUB: BINARY_LOOP(int64_t, o, a, sa, b, sb, n, (int64_t)((uint64_t)x - (uint64_t)y)); break;
    case MUL: BINARY_LOOP(int64_t, o, a, sa, b, sb, n, (int64_t)((uint64_t)x * (uint64_t)y)); break;
    case DIV: BINARY_LOOP(int64_t, o, a, sa, b, sb, n, y == 0 || (y == -1 && x == INT64_MIN) ? 0 : x / y); break;
    }
}

static int same_shape(const nerve_array *a, const nerve_array *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

/* The residual connection's case: equal float shapes, computed in place
 * when the first input is not needed later. */
static int binary_same_shape_f32(const op_context *c, const nerve_array *a, const nerve_array *b,
                                 nerve_array *out, binop op)
{
    int rc = nn_take_or_copy(c, out, a);
    if (rc < 0)
        return rc;
    float *y = out->data;
    const float *x = b->data;
    enum { CHUNK = 1 << 14 };
    int64_t n = nerve_array_count(out), chunks = (n + CHUNK - 1) / CHUNK;
    #pragma omp parallel for schedule(static) if (chunks > 4)
    for (int64_t k = 0; k < chunks; k++) {
        int64_t start = k * CHUNK, len = n - start < CHUNK ? n - start : CHUNK;
        binary_row_f32(op, y + start, y + start, 1, x + start, 1, len);
    }
    return 0;
}

static int binary(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, binop op)
{
    if (n_in < 2 || !in[0] || !in[1])
        return node_error(c, NERVE_EINPUT, "needs two inputs");
    const nerve_array *a = in[0], *b = in[1];
    if (a->dtype != b->dtype)
        return node_error(c, NERVE_EINPUT, "inputs of different types");
    if (a->dtype == NERVE_F32 && same_shape(a, b))
        return binary_same_shape_f32(c, a, b, out, op);
    int ndim;
    int64_t shape[NERVE_MAX_DIMS], sa[NERVE_MAX_DIMS], sb[NERVE_MAX_DIMS];
    int rc = nn_broadcast_shape(c, a, b, &ndim, shape);
    if (rc < 0)
        return rc;
    nn_broadcast_strides(a, ndim, shape, sa);
    nn_broadcast_strides(b, ndim, shape, sb);
    /* A bias added to a tensor no later node reads: in place. */
    int whole = a->ndim == ndim;
    for (int d = 0; whole && d < ndim; d++)
        whole = a->shape[d] == shape[d];
    const void *adata = a->data, *bdata = b->data;
    nerve_dtype dtype = a->dtype;
    rc = whole && c->consumable == a ? nn_take_or_copy(c, out, a) : nn_alloc_raw(c, out, dtype, ndim, shape);
    if (rc < 0)
        return rc;
    int64_t total = nerve_array_count(out);
    if (total == 0)
        return 0;
    int64_t inner = ndim ? shape[ndim - 1] : 1;
    int64_t ia = ndim ? sa[ndim - 1] : 0, ib = ndim ? sb[ndim - 1] : 0;
    int f32 = dtype == NERVE_F32;
    #pragma omp parallel for schedule(static) if (f32 && total > 1 << 16)
    for (int64_t row = 0; row < total / inner; row++) {
        int64_t rem = row, oa = 0, ob = 0;   /* the row's place in each operand */
        for (int d = ndim - 2; d >= 0; d--) {
            oa += rem % shape[d] * sa[d];
            ob += rem % shape[d] * sb[d];
            rem /= shape[d];
        }
        if (f32)
            binary_row_f32(op, (float *)out->data + row * inner, (const float *)adata + oa, ia,
                           (const float *)bdata + ob, ib, inner);
        else
            binary_row_i64(op, (int64_t *)out->data + row * inner, (const int64_t *)adata + oa, ia,
                           (const int64_t *)bdata + ob, ib, inner);
    }
    return 0;
}

#define BINARY_OP(fn, op)                                                                 \
    static int fn(const op_context *c, const nerve_array *const *in, int n_in,           \
                  nerve_array *out, int n_out)                                            \
    {                                                                                     \
        (void)n_out;                                                                      \
        return binary(c, in, n_in, out, op);                                              \
    }

BINARY_OP(op_add, ADD)
BINARY_OP(op_sub, SUB)
BINARY_OP(op_mul, MUL)
BINARY_OP(op_div, DIV)

/* ---- pointwise ------------------------------------------------------- */

int nn_copy(nerve_array *out, const nerve_array *x)
{
    int rc = nerve_array_alloc_raw(out, x->dtype, x->ndim, x->shape);
    if (rc == 0 && nerve_array_count(x))
        memcpy(out->data, x->data, (size_t)nerve_array_count(x) * (size_t)nerve_dtype_size(x->dtype));
    return rc;
}

int nn_take_or_copy(const op_context *c, nerve_array *out, const nerve_array *x)
{
    if (c->consumable && c->consumable == x) {
        *out = *c->consumable;
        memset(c->consumable, 0, sizeof *c->consumable);
        return 0;
    }
    return nn_copy(out, x);
}

/* A float copy of in[0] (or in[0] itself, if no one needs it) to transform
 * in place. */
static int float_copy(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out,
                      float **y, int64_t *n)
{
    *y = NULL;
    *n = 0;
    if (n_in < 1 || !in[0])
        return node_error(c, NERVE_EINPUT, "needs an input");
    if (in[0]->dtype != NERVE_F32)
        return node_error(c, NERVE_EUNSUPPORTED, "runs on float tensors only");
    int rc = nn_take_or_copy(c, out, in[0]);
    *y = out->data;
    *n = nerve_array_count(out);
    return rc;
}

#define POINTWISE(fn, EXPR)                                                               \
    static int fn(const op_context *c, const nerve_array *const *in, int n_in,           \
                  nerve_array *out, int n_out)                                            \
    {                                                                                     \
        (void)n_out;                                                                      \
        float *y;                                                                         \
        int64_t n;                                                                        \
        int rc = float_copy(c, in, n_in, out, &y, &n);                                    \
        if (rc < 0)                                                                       \
            return rc;                                                                    \
        _Pragma("omp parallel for schedule(static) if (n > 1 << 16)")                     \
        for (int64_t i = 0; i < n; i++) {                                                 \
            float x = y[i];                                                               \
            y[i] = (EXPR);                                                                \
        }                                                                                 \
        return 0;                                                                         \
    }

POINTWISE(op_relu, x > 0 ? x : 0)
POINTWISE(op_sigmoid, x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x)))
POINTWISE(op_tanh, tanhf(x))
POINTWISE(op_erf, erff(x))
POINTWISE(op_sqrt, sqrtf(x))
POINTWISE(op_exp, expf(x))
POINTWISE(op_log, logf(x))
POINTWISE(op_neg, -x)
POINTWISE(op_abs, fabsf(x))
POINTWISE(op_reciprocal, 1 / x)
POINTWISE(op_floor, floorf(x))
POINTWISE(op_ceil, ceilf(x))
POINTWISE(op_round, nearbyintf(x))   /* halves to even, as ONNX and numpy round */
POINTWISE(op_sign, x > 0 ? 1.0f : x < 0 ? -1.0f : x)
POINTWISE(op_sin, sinf(x))
POINTWISE(op_cos, cosf(x))
POINTWISE(op_tan, tanf(x))
POINTWISE(op_asin, asinf(x))
POINTWISE(op_acos, acosf(x))
POINTWISE(op_atan, atanf(x))
POINTWISE(op_sinh, sinhf(x))
POINTWISE(op_cosh, coshf(x))
POINTWISE(op_asinh, asinhf(x))
POINTWISE(op_acosh, acoshf(x))
POINTWISE(op_atanh, atanhf(x))
POINTWISE(op_softplus, x > 20 ? x : log1pf(expf(x)))
POINTWISE(op_softsign, x / (1 + fabsf(x)))

/* HardSigmoid max(0, min(1, alpha x + beta)); PyTorch's Hardsigmoid exports
 * as alpha 1/6, beta 1/2. */
static int op_hard_sigmoid(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    float *y, alpha = attr_float(c->node, "alpha", 0.2f), beta = attr_float(c->node, "beta", 0.5f);
    int64_t n;
    int rc = float_copy(c, in, n_in, out, &y, &n);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        y[i] = fmaxf(0, fminf(1, alpha * y[i] + beta));
    return rc;
}

/* HardSwish (opset 14) x max(0, min(1, x / 6 + 1/2)), as PyTorch computes it:
 * x * relu6(x + 3) / 6. */
POINTWISE(op_hard_swish, x * fminf(fmaxf(x + 3, 0), 6) / 6)

/* Elu, Selu (its constants from the SELU paper, ONNX's defaults) and
 * ThresholdedRelu. */
static int op_elu(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    float *y, alpha = attr_float(c->node, "alpha", 1.0f);
    int64_t n;
    int rc = float_copy(c, in, n_in, out, &y, &n);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        y[i] = y[i] >= 0 ? y[i] : alpha * expm1f(y[i]);
    return rc;
}

static int op_selu(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    float *y, alpha = attr_float(c->node, "alpha", 1.67326319217681884765625f);
    float gamma = attr_float(c->node, "gamma", 1.05070102214813232421875f);
    int64_t n;
    int rc = float_copy(c, in, n_in, out, &y, &n);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        y[i] = gamma * (y[i] > 0 ? y[i] : alpha * expm1f(y[i]));
    return rc;
}

static int op_thresholded_relu(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out,
                               int n_out)
{
    (void)n_out;
    float *y, alpha = attr_float(c->node, "alpha", 1.0f);
    int64_t n;
    int rc = float_copy(c, in, n_in, out, &y, &n);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        y[i] = y[i] > alpha ? y[i] : 0;
    return rc;
}

static int op_leaky_relu(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    float *y, alpha = attr_float(c->node, "alpha", 0.01f);
    int64_t n;
    int rc = float_copy(c, in, n_in, out, &y, &n);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        y[i] = y[i] >= 0 ? y[i] : alpha * y[i];
    return rc;
}

/* Clip: bounds are attributes before opset 11, optional inputs after. */
static int op_clip(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    float lo = -INFINITY, hi = INFINITY;
    if (c->opset < 11) {
        lo = attr_float(c->node, "min", lo);
        hi = attr_float(c->node, "max", hi);
    } else {
        if (n_in > 1 && in[1] && nerve_array_count(in[1]) == 1)
            lo = in[1]->dtype == NERVE_F32 ? *(float *)in[1]->data : (float)*(int64_t *)in[1]->data;
        if (n_in > 2 && in[2] && nerve_array_count(in[2]) == 1)
            hi = in[2]->dtype == NERVE_F32 ? *(float *)in[2]->data : (float)*(int64_t *)in[2]->data;
    }
    if (n_in >= 1 && in[0] && in[0]->dtype == NERVE_I64) {
        int rc = nn_copy(out, in[0]);
        int64_t *y = out->data;
        for (int64_t i = 0; rc == 0 && i < nerve_array_count(out); i++)
            y[i] = y[i] < lo ? (int64_t)lo : y[i] > hi ? (int64_t)hi : y[i];
        return rc;
    }
    float *y;
    int64_t n;
    int rc = float_copy(c, in, n_in, out, &y, &n);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        y[i] = fminf(fmaxf(y[i], lo), hi);
    return rc;
}

static int op_identity(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    if (n_in < 1 || !in[0])
        return node_error(c, NERVE_EINPUT, "needs an input");
    return nn_take_or_copy(c, out, in[0]);   /* moved when no later node reads it */
}

/* Dropout at inference is the identity; the optional mask is all true. */
static int op_dropout(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    int rc = op_identity(c, in, n_in, out, 1);
    if (rc == 0 && n_out > 1) {
        rc = nn_alloc(c, &out[1], NERVE_I64, in[0]->ndim, in[0]->shape);
        for (int64_t i = 0; rc == 0 && i < nerve_array_count(&out[1]); i++)
            ((int64_t *)out[1].data)[i] = 1;
    }
    return rc;
}

const op_def nn_ops_elementwise[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "Add",       op_add,                    2, 2,  0, 1, NULL },
    { "Sub",       op_sub,                    2, 2,  0, 1, NULL },
    { "Mul",       op_mul,                    2, 2,  0, 1, NULL },
    { "Div",       op_div,                    2, 2,  0, 1, NULL },
    { "Relu",      op_relu,                   1, 1,  0, 1, NULL },
    { "LeakyRelu", op_leaky_relu,             1, 1,  0, 1, NULL },
    { "Sigmoid",   op_sigmoid,                1, 1,  0, 1, NULL },
    { "Tanh",      op_tanh,                   1, 1,  0, 1, NULL },
    { "Clip",      op_clip,                   1, 3, 11, 1, NULL },
    { "Erf",       op_erf,                    1, 1,  0, 1, NULL },
    { "Dropout",   op_dropout,                1, 3, 12, 2, NULL },
    { "Identity",  op_identity,               1, 1,  0, 1, NULL },
    { "Sqrt",      op_sqrt,                   1, 1,  0, 1, NULL },
    { "Exp",       op_exp,                    1, 1,  0, 1, NULL },
    { "Log",       op_log,                    1, 1,  0, 1, NULL },
    { "Neg",       op_neg,                    1, 1,  0, 1, NULL },
    { "Abs",       op_abs,                    1, 1,  0, 1, NULL },
    { "Reciprocal", op_reciprocal,            1, 1,  0, 1, NULL },
    { "Softplus",  op_softplus,               1, 1,  0, 1, NULL },
    { "Softsign",  op_softsign,               1, 1,  0, 1, NULL },
    { "HardSigmoid", op_hard_sigmoid,         1, 1,  0, 1, NULL },
    { "HardSwish", op_hard_swish,             1, 1,  0, 1, NULL },
    { "Elu",       op_elu,                    1, 1,  0, 1, NULL },
    { "Selu",      op_selu,                   1, 1,  0, 1, NULL },
    { "ThresholdedRelu", op_thresholded_relu, 1, 1,  0, 1, NULL },
    { "Floor",     op_floor,                  1, 1,  0, 1, NULL },
    { "Ceil",      op_ceil,                   1, 1,  0, 1, NULL },
    { "Round",     op_round,                  1, 1,  0, 1, NULL },
    { "Sign",      op_sign,                   1, 1,  0, 1, NULL },
    { "Sin",       op_sin,                    1, 1,  0, 1, NULL },
    { "Cos",       op_cos,                    1, 1,  0, 1, NULL },
    { "Tan",       op_tan,                    1, 1,  0, 1, NULL },
    { "Asin",      op_asin,                   1, 1,  0, 1, NULL },
    { "Acos",      op_acos,                   1, 1,  0, 1, NULL },
    { "Atan",      op_atan,                   1, 1,  0, 1, NULL },
    { "Sinh",      op_sinh,                   1, 1,  0, 1, NULL },
    { "Cosh",      op_cosh,                   1, 1,  0, 1, NULL },
    { "Asinh",     op_asinh,                  1, 1,  0, 1, NULL },
    { "Acosh",     op_acosh,                  1, 1,  0, 1, NULL },
    { "Atanh",     op_atanh,                  1, 1,  0, 1, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
