/*
 * ops_reduce.c — the Reduce* operators over any set of axes: the axes are an
 * attribute, or from ReduceSum at opset 13 an optional input (empty: every
 * axis, or none with noop_with_empty_axes). Float sums accumulate in double;
 * Sum, Prod, Max and Min also run on int64 (wrapping, as numpy's int64).
 * ArgMax and ArgMin too.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

typedef enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_SUM_SQUARE, R_L1, R_L2, R_LOG_SUM, R_LOG_SUM_EXP } reduction;

int nn_reduced_axes(const op_context *c, const nerve_array *const *in, int n_in, int rank, int *flag,
                        int *none)
{
    const int64_t *axes = NULL;
    int64_t n = 0;
    int from_input = strcmp(c->node->op, "ReduceSum") == 0 && c->opset >= 13;
    int rc = 0;
    *none = 0;
    if (from_input && n_in > 1 && in[1])
        rc = nn_int_values(c, in[1], &axes, &n);
    else if (!from_input)
        axes = attr_ints(c->node, "axes", &n);
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        int a = 0;
        if ((rc = nn_axis(c, axes[i], rank, &a)) == 0 && flag[a]++)
            rc = node_error(c, NERVE_EINPUT, "axis %d given twice", a);
    }
    if (rc == 0 && n == 0) {
        if (from_input && attr_int(c->node, "noop_with_empty_axes", 0))
            *none = 1;
        else
            for (int d = 0; d < rank; d++)
                flag[d] = 1;
    }
    return rc;
}

static double finish(reduction r, double acc, int64_t count)
{
    switch (r) {
    case R_MEAN: return count ? acc / (double)count : NAN;
    case R_L2: return sqrt(acc);
    case R_LOG_SUM: case R_LOG_SUM_EXP: return log(acc);
    default: return acc;
    }
}

static double start_value(reduction r)
{
    return r == R_PROD ? 1 : r == R_MAX ? -INFINITY : r == R_MIN ? INFINITY : 0;
}

static double fold(reduction r, double acc, double v)
{
    switch (r) {
    case R_MAX: return isnan(v) || v > acc ? v : acc;
    case R_MIN: return isnan(v) || v < acc ? v : acc;
    case R_PROD: return acc * v;
    case R_SUM_SQUARE: case R_L2: return acc + v * v;
    case R_L1: return acc + fabs(v);
    case R_LOG_SUM_EXP: return acc + exp(v);
    default: return acc + v;
    }
}

static int64_t fold_i64(reduction r, int64_t acc, int64_t v)
{
    switch (r) {
    case R_MAX: return v > acc ? v : acc;
    case R_MIN: return v < acc ? v : acc;
    case R_PROD: return (int64_t)((uint64_t)acc * (uint64_t)v);
    default: return (int64_t)((uint64_t)acc + (uint64_t)v);
    }
}

/* Walks x once in order; o is the output element each input element folds
 * into (its strides are 0 on the reduced axes). */
static void reduce_walk(reduction r, const nerve_array *x, const int *flag, double *acc, int64_t *iacc)
{
    int64_t ostride[NERVE_MAX_DIMS], s = 1, index[NERVE_MAX_DIMS] = { 0 }, o = 0;
    for (int d = x->ndim - 1; d >= 0; d--) {
        ostride[d] = flag[d] ? 0 : s;
        s *= flag[d] ? 1 : x->shape[d];
    }
    int64_t total = nerve_array_count(x);
    for (int64_t k = 0; k < total; k++) {
        if (acc)
            acc[o] = fold(r, acc[o], ((const float *)x->data)[k]);
        else
            iacc[o] = fold_i64(r, iacc[o], ((const int64_t *)x->data)[k]);
        for (int d = x->ndim - 1; d >= 0; d--) {
            o += ostride[d];
            if (++index[d] < x->shape[d])
                break;
            o -= ostride[d] * x->shape[d];
            index[d] = 0;
        }
    }
}

static int reduce(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, reduction r)
{
    const nerve_array *x = in[0];
    int integer = x->dtype == NERVE_I64;
    if (integer && r != R_SUM && r != R_PROD && r != R_MAX && r != R_MIN)
        return node_error(c, NERVE_EINPUT, "runs on float tensors only");
    int flag[NERVE_MAX_DIMS] = { 0 }, none, keep = attr_int(c->node, "keepdims", 1) != 0;
    int rc = nn_reduced_axes(c, in, n_in, x->ndim, flag, &none);
    if (rc < 0)
        return rc;
    if (none)
        return nn_copy(out, x);
    int64_t shape[NERVE_MAX_DIMS], count = 1;
    int ndim = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (flag[d])
            count *= x->shape[d];
        if (!flag[d] || keep)
            shape[ndim++] = flag[d] ? 1 : x->shape[d];
    }
    if ((rc = nn_alloc_raw(c, out, x->dtype, ndim, shape)) < 0)
        return rc;
    int64_t n = nerve_array_count(out);
    double *acc = integer ? NULL : malloc((size_t)(n + 1) * sizeof *acc);
    if (!integer && !acc) {
        nerve_array_free(out);
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    int64_t *iacc = out->data;
    for (int64_t o = 0; o < n; o++) {
        if (integer)
            iacc[o] = r == R_PROD ? 1 : r == R_MAX ? INT64_MIN : r == R_MIN ? INT64_MAX : 0;
        else
            acc[o] = start_value(r);
    }
    reduce_walk(r, x, flag, acc, iacc);
    for (int64_t o = 0; !integer && o < n; o++)
        ((float *)out->data)[o] = (float)finish(r, acc[o], count);
    free(acc);
    return 0;
}

#define REDUCE_OP(fn, r)                                                                  \
    static int fn(const op_context *c, const nerve_array *const *in, int n_in,           \
                  nerve_array *out, int n_out)                                            \
    {                                                                                     \
        (void)n_out;                                                                      \
        return reduce(c, in, n_in, out, r);                                               \
    }

REDUCE_OP(op_reduce_sum, R_SUM)
REDUCE_OP(op_reduce_mean, R_MEAN)
REDUCE_OP(op_reduce_max, R_MAX)
REDUCE_OP(op_reduce_min, R_MIN)
REDUCE_OP(op_reduce_prod, R_PROD)
REDUCE_OP(op_reduce_sum_square, R_SUM_SQUARE)
REDUCE_OP(op_reduce_l1, R_L1)
REDUCE_OP(op_reduce_l2, R_L2)
REDUCE_OP(op_reduce_log_sum, R_LOG_SUM)
REDUCE_OP(op_reduce_log_sum_exp, R_LOG_SUM_EXP)

/* ArgMax and ArgMin along one axis: the first (or with select_last_index
 * the last) position of the extreme; NaN counts as the extreme, as numpy's
 * argmax does. */
static int arg_extreme(const op_context *c, const nerve_array *x, nerve_array *out, int max)
{
    int axis = 0, rc = nn_axis(c, attr_int(c->node, "axis", 0), x->ndim, &axis);
    int keep = attr_int(c->node, "keepdims", 1) != 0, last = attr_int(c->node, "select_last_index", 0) != 0;
    if (rc < 0)
        return rc;
    int64_t shape[NERVE_MAX_DIMS], outer = 1, len = x->shape[axis], inner = 1;
    int ndim = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d != axis || keep)
            shape[ndim++] = d == axis ? 1 : x->shape[d];
        *(d < axis ? &outer : d > axis ? &inner : &len) *= d == axis ? 1 : x->shape[d];
    }
    if (len == 0)
        return node_error(c, NERVE_EINPUT, "axis %d is empty: no extreme to point at", axis);
    if ((rc = nn_alloc_raw(c, out, NERVE_I64, ndim, shape)) < 0)
        return rc;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t best = 0;
            double top = 0;
            for (int64_t j = 0; j < len; j++) {
                int64_t at = (o * len + j) * inner + i;
                double v = x->dtype == NERVE_F32 ? ((const float *)x->data)[at] : (double)((const int64_t *)x->data)[at];
                int better = j == 0 || (isnan(top) ? 0 : isnan(v) || (max ? v > top : v < top) || (last && v == top));
                if (better) {
                    best = j;
                    top = v;
                }
            }
            ((int64_t *)out->data)[o * inner + i] = best;
        }
    return 0;
}

static int op_arg_max(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    return arg_extreme(c, in[0], out, 1);
}

static int op_arg_min(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    return arg_extreme(c, in[0], out, 0);
}

/* The axes attribute: within NERVE_MAX_DIMS entries (their range needs the
 * input's rank, checked when the op runs). */
static int check_reduce(const op_context *c, const nerve_array *const *known, int n_in)
{
    (void)known; (void)n_in;
    int64_t n = 0;
    attr_ints(c->node, "axes", &n);
    if (n > NERVE_MAX_DIMS)
        return node_error(c, NERVE_EINPUT, "axes lists %lld axes (at most %d)", (long long)n, NERVE_MAX_DIMS);
    return 0;
}

const op_def nn_ops_reduce[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "ReduceSum",       op_reduce_sum,          1, 2, 13, 1, check_reduce },
    { "ReduceMean",      op_reduce_mean,         1, 1,  0, 1, check_reduce },
    { "ReduceMax",       op_reduce_max,          1, 1,  0, 1, check_reduce },
    { "ReduceMin",       op_reduce_min,          1, 1,  0, 1, check_reduce },
    { "ReduceProd",      op_reduce_prod,         1, 1,  0, 1, check_reduce },
    { "ReduceSumSquare", op_reduce_sum_square,   1, 1,  0, 1, check_reduce },
    { "ReduceL1",        op_reduce_l1,           1, 1,  0, 1, check_reduce },
    { "ReduceL2",        op_reduce_l2,           1, 1,  0, 1, check_reduce },
    { "ReduceLogSum",    op_reduce_log_sum,      1, 1,  0, 1, check_reduce },
    { "ReduceLogSumExp", op_reduce_log_sum_exp,  1, 1,  0, 1, check_reduce },
    { "ArgMax",          op_arg_max,             1, 1,  0, 1, NULL },
    { "ArgMin",          op_arg_min,             1, 1,  0, 1, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
