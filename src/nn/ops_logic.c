/*
 * ops_logic.c — operators whose inputs broadcast against each other and may
 * differ in type: comparisons and logic (booleans are int64 0 and 1, as
 * every ONNX integer type is in nerve), Where, Pow, Mod, Min, Max, PRelu,
 * Sum, Mean, IsNaN, IsInf; and Cast between nerve's two element types.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

/* ---- walking a broadcast output ---------------------------------------- */

int nn_walk_init(const op_context *c, nn_walk *w, const nerve_array *const *in, int n)
{
    memset(w, 0, sizeof *w);
    nerve_array acc = *in[0];
    for (int k = 1; k < n; k++) {
        int rc = nn_broadcast_shape(c, &acc, in[k], &acc.ndim, acc.shape);
        if (rc < 0)
            return rc;
    }
    w->ndim = acc.ndim;
    w->n = n;
    memcpy(w->shape, acc.shape, sizeof w->shape);
    for (int k = 0; k < n; k++)
        nn_broadcast_strides(in[k], w->ndim, w->shape, w->stride[k]);
    return 0;
}

void nn_walk_next(nn_walk *w)
{
    for (int d = w->ndim - 1; d >= 0; d--) {
        for (int k = 0; k < w->n; k++)
            w->off[k] += w->stride[k][d];
        if (++w->index[d] < w->shape[d])
            return;
        for (int k = 0; k < w->n; k++)
            w->off[k] -= w->stride[k][d] * w->shape[d];
        w->index[d] = 0;
    }
}

static double get_f(const nerve_array *t, int64_t i)
{
    return t->dtype == NERVE_F32 ? ((const float *)t->data)[i] : (double)((const int64_t *)t->data)[i];
}

static int64_t get_i(const nerve_array *t, int64_t i)
{
    return ((const int64_t *)t->data)[i];
}

/* ---- comparisons and logic --------------------------------------------- */

typedef enum { EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL, AND, OR, XOR } relation;

static int64_t relate(relation r, const nerve_array *a, int64_t i, const nerve_array *b, int64_t j)
{
    if (r >= AND) {
        int x = get_i(a, i) != 0, y = get_i(b, j) != 0;
        return r == AND ? x && y : r == OR ? x || y : x != y;
    }
    if (a->dtype == NERVE_I64) {   /* exact: int64 past 2^53 does not survive a double */
        int64_t x = get_i(a, i), y = get_i(b, j);
        return r == EQUAL ? x == y : r == LESS ? x < y : r == LESS_EQUAL ? x <= y : r == GREATER ? x > y : x >= y;
    }
    double x = get_f(a, i), y = get_f(b, j);
    return r == EQUAL ? x == y : r == LESS ? x < y : r == LESS_EQUAL ? x <= y : r == GREATER ? x > y : x >= y;
}

static int compare(const op_context *c, const nerve_array *const *in, nerve_array *out, relation r)
{
    if (in[0]->dtype != in[1]->dtype)
        return node_error(c, NERVE_EINPUT, "inputs of different types (%s and %s)",
                          nerve_dtype_name(in[0]->dtype), nerve_dtype_name(in[1]->dtype));
    if (r >= AND && in[0]->dtype != NERVE_I64)
        return node_error(c, NERVE_EINPUT, "wants boolean inputs");
    nn_walk w;
    int rc = nn_walk_init(c, &w, in, 2);
    if (rc < 0 || (rc = nn_alloc_raw(c, out, NERVE_I64, w.ndim, w.shape)) < 0)
        return rc;
    int64_t *y = out->data, n = nerve_array_count(out);
    for (int64_t k = 0; k < n; k++, nn_walk_next(&w))
        y[k] = relate(r, in[0], w.off[0], in[1], w.off[1]);
    return 0;
}

#define COMPARE_OP(fn, r)                                                                 \
    static int fn(const op_context *c, const nerve_array *const *in, int n_in,           \
                  nerve_array *out, int n_out)                                            \
    {                                                                                     \
        (void)n_in; (void)n_out;                                                          \
        return compare(c, in, out, r);                                                    \
    }

COMPARE_OP(op_equal, EQUAL)
COMPARE_OP(op_less, LESS)
COMPARE_OP(op_less_equal, LESS_EQUAL)
COMPARE_OP(op_greater, GREATER)
COMPARE_OP(op_greater_equal, GREATER_EQUAL)
COMPARE_OP(op_and, AND)
COMPARE_OP(op_or, OR)
COMPARE_OP(op_xor, XOR)

static int op_not(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    if (in[0]->dtype != NERVE_I64)
        return node_error(c, NERVE_EINPUT, "wants a boolean input");
    int rc = nn_alloc_raw(c, out, NERVE_I64, in[0]->ndim, in[0]->shape);
    for (int64_t k = 0; rc == 0 && k < nerve_array_count(out); k++)
        ((int64_t *)out->data)[k] = get_i(in[0], k) == 0;
    return rc;
}

/* Where(condition, X, Y): X where the condition holds, else Y. */
static int op_where(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    if (in[0]->dtype != NERVE_I64 || in[1]->dtype != in[2]->dtype)
        return node_error(c, NERVE_EINPUT, "wants a boolean condition and X, Y of one type");
    nn_walk w;
    int rc = nn_walk_init(c, &w, in, 3);
    if (rc < 0 || (rc = nn_alloc_raw(c, out, in[1]->dtype, w.ndim, w.shape)) < 0)
        return rc;
    size_t es = (size_t)nerve_dtype_size(in[1]->dtype);
    int64_t n = nerve_array_count(out);
    for (int64_t k = 0; k < n; k++, nn_walk_next(&w)) {
        int pick = get_i(in[0], w.off[0]) ? 1 : 2;
        memcpy((char *)out->data + (size_t)k * es, (const char *)in[pick]->data + (size_t)w.off[pick] * es, es);
    }
    return 0;
}

/* ---- arithmetic of mixed types ----------------------------------------- */

/* x^y for integers, wrapping as numpy's int64 power does; negative
 * exponents give 0 (or +-1 for bases +-1) rather than numpy's error. */
static int64_t int_pow(int64_t x, int64_t y)
{
    if (y < 0)
        return x == 1 ? 1 : x == -1 ? (y % 2 ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)x;
    for (uint64_t e = (uint64_t)y; e; e >>= 1, b *= b)
        if (e & 1)
            r *= b;
    return (int64_t)r;
}

/* A float as int64, saturating (NaN as 0): the conversion in C is
 * undefined outside int64's range. */
static int64_t saturate_i64(double v)
{
    if (isnan(v))
        return 0;
    return v >= 9.2233720368547758e18 ? INT64_MAX : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v;
}

/* Pow(X, Y): the output has X's type; Y may be float or integer. The common
 * case, a float tensor to a scalar power (x^2 of a decomposed LayerNorm),
 * skips the walk. */
static int op_pow(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    const nerve_array *x = in[0], *e = in[1];
    nn_walk w;
    int rc = nn_walk_init(c, &w, in, 2);
    if (rc < 0 || (rc = nn_alloc_raw(c, out, x->dtype, w.ndim, w.shape)) < 0)
        return rc;
    int64_t n = nerve_array_count(out);
    if (x->dtype == NERVE_F32 && nerve_array_count(e) == 1 && n == nerve_array_count(x)) {
        float p = (float)get_f(e, 0);
        const float *v = x->data;
        float *y = out->data;
        #pragma omp parallel for schedule(static) if (n > 1 << 16)
        for (int64_t k = 0; k < n; k++)
            y[k] = p == 2 ? v[k] * v[k] : powf(v[k], p);
        return 0;
    }
    for (int64_t k = 0; k < n; k++, nn_walk_next(&w)) {
        if (x->dtype == NERVE_F32)
            ((float *)out->data)[k] = powf((float)get_f(x, w.off[0]), (float)get_f(e, w.off[1]));
        else if (e->dtype == NERVE_I64)
            ((int64_t *)out->data)[k] = int_pow(get_i(x, w.off[0]), get_i(e, w.off[1]));
        else
            ((int64_t *)out->data)[k] = saturate_i64(pow(get_f(x, w.off[0]), get_f(e, w.off[1])));
    }
    return 0;
}

/* Mod: with fmod = 0 (integers only) the result takes the divisor's sign,
 * as Python's %; with fmod = 1 the dividend's, as C's fmod. A zero divisor
 * gives 0 for integers (no trap). */
static int64_t int_mod(int64_t x, int64_t y, int c_style)
{
    if (y == 0 || (y == -1 && x == INT64_MIN))
        return 0;
    int64_t r = x % y;
    return !c_style && r != 0 && (r < 0) != (y < 0) ? r + y : r;
}

static int op_mod(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    int c_style = attr_int(c->node, "fmod", 0) != 0;
    if (in[0]->dtype != in[1]->dtype)
        return node_error(c, NERVE_EINPUT, "inputs of different types");
    if (in[0]->dtype == NERVE_F32 && !c_style)
        return node_error(c, NERVE_EINPUT, "Mod of float tensors needs fmod=1 (ONNX)");
    nn_walk w;
    int rc = nn_walk_init(c, &w, in, 2);
    if (rc < 0 || (rc = nn_alloc_raw(c, out, in[0]->dtype, w.ndim, w.shape)) < 0)
        return rc;
    int64_t n = nerve_array_count(out);
    for (int64_t k = 0; k < n; k++, nn_walk_next(&w)) {
        if (in[0]->dtype == NERVE_F32)
            ((float *)out->data)[k] = fmodf((float)get_f(in[0], w.off[0]), (float)get_f(in[1], w.off[1]));
        else
            ((int64_t *)out->data)[k] = int_mod(get_i(in[0], w.off[0]), get_i(in[1], w.off[1]), c_style);
    }
    return 0;
}

/* Min and Max of any number of inputs, folded pairwise; NaN wins, as in
 * numpy's minimum and maximum. */
static int extreme_pair(const op_context *c, const nerve_array *a, const nerve_array *b, nerve_array *out, int max)
{
    if (a->dtype != b->dtype)
        return node_error(c, NERVE_EINPUT, "inputs of different types");
    const nerve_array *pair[2] = { a, b };
    nn_walk w;
    int rc = nn_walk_init(c, &w, pair, 2);
    if (rc < 0 || (rc = nn_alloc_raw(c, out, a->dtype, w.ndim, w.shape)) < 0)
        return rc;
    int64_t n = nerve_array_count(out);
    for (int64_t k = 0; k < n; k++, nn_walk_next(&w)) {
        if (a->dtype == NERVE_F32) {
            float x = (float)get_f(a, w.off[0]), y = (float)get_f(b, w.off[1]);
            ((float *)out->data)[k] = isnan(x) || isnan(y) ? NAN : max ? fmaxf(x, y) : fminf(x, y);
        } else {
            int64_t x = get_i(a, w.off[0]), y = get_i(b, w.off[1]);
            ((int64_t *)out->data)[k] = max ? (x > y ? x : y) : (x < y ? x : y);
        }
    }
    return 0;
}

static int extreme(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int max)
{
    int rc = nn_copy(out, in[0]);
    for (int k = 1; rc == 0 && k < n_in; k++) {
        nerve_array next;
        rc = extreme_pair(c, out, in[k], &next, max);
        nerve_array_free(out);
        if (rc == 0)
            *out = next;
    }
    return rc;
}

static int op_min(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    return extreme(c, in, n_in, out, 0);
}

static int op_max(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    return extreme(c, in, n_in, out, 1);
}

/* PRelu: x where positive, else slope * x; the slope broadcasts to X. */
static int op_prelu(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    if (in[0]->dtype != NERVE_F32 || in[1]->dtype != NERVE_F32)
        return node_error(c, NERVE_EINPUT, "wants float X and slope");
    /* Before opset 7 a slope of C values applies along the channel axis 1. */
    nerve_array slope = *in[1];
    if (c->opset < 7 && slope.ndim == 1 && in[0]->ndim >= 2 && slope.shape[0] == in[0]->shape[1]) {
        slope.ndim = in[0]->ndim - 1;
        for (int d = 1; d < slope.ndim; d++)
            slope.shape[d] = 1;
    }
    const nerve_array *pair[2] = { in[0], &slope };
    nn_walk w;
    int rc = nn_walk_init(c, &w, pair, 2);
    if (rc < 0 || (rc = nn_alloc_raw(c, out, NERVE_F32, w.ndim, w.shape)) < 0)
        return rc;
    int64_t n = nerve_array_count(out);
    for (int64_t k = 0; k < n; k++, nn_walk_next(&w)) {
        float x = (float)get_f(in[0], w.off[0]);
        ((float *)out->data)[k] = x < 0 ? (float)get_f(&slope, w.off[1]) * x : x;
    }
    return 0;
}

/* Sum and Mean of any number of float inputs, broadcast, in order. */
static int sum_pair(const op_context *c, const nerve_array *a, const nerve_array *b, nerve_array *out)
{
    const nerve_array *pair[2] = { a, b };
    nn_walk w;
    int rc = a->dtype == NERVE_F32 && b->dtype == NERVE_F32 ? nn_walk_init(c, &w, pair, 2)
                                                            : node_error(c, NERVE_EINPUT, "wants float inputs");
    if (rc < 0 || (rc = nn_alloc_raw(c, out, NERVE_F32, w.ndim, w.shape)) < 0)
        return rc;
    int64_t n = nerve_array_count(out);
    for (int64_t k = 0; k < n; k++, nn_walk_next(&w))
        ((float *)out->data)[k] = (float)get_f(a, w.off[0]) + (float)get_f(b, w.off[1]);
    return 0;
}

static int sum_all(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int mean)
{
    if (in[0]->dtype != NERVE_F32)
        return node_error(c, NERVE_EINPUT, "wants float inputs");
    int rc = nn_copy(out, in[0]);
    for (int k = 1; rc == 0 && k < n_in; k++) {
        nerve_array next;
        rc = sum_pair(c, out, in[k], &next);
        nerve_array_free(out);
        if (rc == 0)
            *out = next;
    }
    for (int64_t k = 0; rc == 0 && mean && k < nerve_array_count(out); k++)
        ((float *)out->data)[k] /= (float)n_in;
    return rc;
}

static int op_sum(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    return sum_all(c, in, n_in, out, 0);
}

static int op_mean(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    return sum_all(c, in, n_in, out, 1);
}

/* IsNaN and IsInf (detect_positive, detect_negative) as booleans. */
static int classify(const op_context *c, const nerve_array *x, nerve_array *out, int inf)
{
    if (x->dtype != NERVE_F32)
        return node_error(c, NERVE_EINPUT, "wants a float input");
    int pos = attr_int(c->node, "detect_positive", 1) != 0, neg = attr_int(c->node, "detect_negative", 1) != 0;
    int rc = nn_alloc_raw(c, out, NERVE_I64, x->ndim, x->shape);
    for (int64_t k = 0; rc == 0 && k < nerve_array_count(x); k++) {
        float v = ((const float *)x->data)[k];
        ((int64_t *)out->data)[k] = inf ? isinf(v) && (v > 0 ? pos : neg) : isnan(v);
    }
    return rc;
}

static int op_is_nan(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    return classify(c, in[0], out, 0);
}

static int op_is_inf(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    return classify(c, in[0], out, 1);
}

/* ---- Cast -------------------------------------------------------------- */

/* ONNX TensorProto.DataType codes. */
enum {
    T_FLOAT = 1, T_UINT8, T_INT8, T_UINT16, T_INT16, T_INT32, T_INT64, T_STRING, T_BOOL, T_FLOAT16,
    T_DOUBLE, T_UINT32, T_UINT64, T_COMPLEX64, T_COMPLEX128, T_BFLOAT16,
};

static int cast_target(const op_context *c, int64_t *to)
{
    *to = attr_int(c->node, "to", 0);
    if (*to == T_STRING || *to == T_COMPLEX64 || *to == T_COMPLEX128)
        return node_error(c, NERVE_EUNSUPPORTED, "casts to ONNX type %lld (strings and complex numbers "
                          "are not tensors nerve computes with)", (long long)*to);
    if (*to < T_FLOAT || *to > T_BFLOAT16)
        return node_error(c, NERVE_EINPUT, "'to' is %lld, not an ONNX tensor type", (long long)*to);
    return 0;
}

static int check_cast(const op_context *c, const nerve_array *const *known, int n_in)
{
    (void)known; (void)n_in;
    int64_t to;
    return cast_target(c, &to);
}

/* An integer wrapped to the target's width, as a C cast to it does. */
static int64_t wrap_int(int64_t v, int64_t to)
{
    switch (to) {
    case T_UINT8: return (uint8_t)v;
    case T_INT8: return (int8_t)v;
    case T_UINT16: return (uint16_t)v;
    case T_INT16: return (int16_t)v;
    case T_INT32: return (int32_t)v;
    case T_UINT32: return (uint32_t)v;
    case T_BOOL: return v != 0;
    default: return v;   /* int64; uint64 keeps its bits */
    }
}

/* A float rounded to float16's or bfloat16's precision (to nearest even),
 * so that a cast to them and back loses what it loses in PyTorch. */
static float round_float(float v, int64_t to)
{
    if (to == T_FLOAT16 && isfinite(v)) {
        /* 11 significant bits; below 2^-14 a fixed step of 2^-24
         * (subnormals); past 65504 infinity. Scaling by powers of two is
         * exact, so nearbyintf rounds to nearest even once. */
        int e;
        frexpf(fabsf(v), &e);
        float step = ldexpf(1, (e - 1 < -14 ? -14 : e - 1) - 10), r = nearbyintf(fabsf(v) / step) * step;
        return copysignf(r > 65504 ? INFINITY : r, v);
    }
    if (to == T_BFLOAT16 && isfinite(v)) {
        uint32_t bits;
        memcpy(&bits, &v, 4);
        bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
        memcpy(&v, &bits, 4);
    }
    return v;
}

static int op_cast(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    const nerve_array *x = in[0];
    int64_t to;
    int rc = cast_target(c, &to);
    int to_float = to == T_FLOAT || to == T_FLOAT16 || to == T_DOUBLE || to == T_BFLOAT16;
    if (rc < 0 || (rc = nn_alloc_raw(c, out, to_float ? NERVE_F32 : NERVE_I64, x->ndim, x->shape)) < 0)
        return rc;
    int64_t n = nerve_array_count(x);
    for (int64_t k = 0; k < n; k++) {
        if (to_float)
            ((float *)out->data)[k] = round_float((float)get_f(x, k), to);
        else if (x->dtype == NERVE_F32 && to == T_BOOL)
            ((int64_t *)out->data)[k] = ((const float *)x->data)[k] != 0;
        else
            ((int64_t *)out->data)[k] = wrap_int(x->dtype == NERVE_F32 ? saturate_i64(get_f(x, k)) : get_i(x, k), to);
    }
    return 0;
}

const op_def nn_ops_logic[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "Equal",          op_equal,          2, 2,  0, 1, NULL },
    { "Less",           op_less,           2, 2,  0, 1, NULL },
    { "LessOrEqual",    op_less_equal,     2, 2,  0, 1, NULL },
    { "Greater",        op_greater,        2, 2,  0, 1, NULL },
    { "GreaterOrEqual", op_greater_equal,  2, 2,  0, 1, NULL },
    { "And",            op_and,            2, 2,  0, 1, NULL },
    { "Or",             op_or,             2, 2,  0, 1, NULL },
    { "Xor",            op_xor,            2, 2,  0, 1, NULL },
    { "Not",            op_not,            1, 1,  0, 1, NULL },
    { "Where",          op_where,          3, 3,  0, 1, NULL },
    { "Pow",            op_pow,            2, 2,  0, 1, NULL },
    { "Mod",            op_mod,            2, 2,  0, 1, NULL },
    { "Min",            op_min,            1, NN_MAX_INPUTS, 0, 1, NULL },
    { "Max",            op_max,            1, NN_MAX_INPUTS, 0, 1, NULL },
    { "Cast",           op_cast,           1, 1,  0, 1, check_cast },
    { "PRelu",          op_prelu,          2, 2,  0, 1, NULL },
    { "Sum",            op_sum,            1, NN_MAX_INPUTS, 0, 1, NULL },
    { "Mean",           op_mean,           1, NN_MAX_INPUTS, 0, 1, NULL },
    { "IsNaN",          op_is_nan,         1, 1,  0, 1, NULL },
    { "IsInf",          op_is_inf,         1, 1,  0, 1, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
