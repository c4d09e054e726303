/*
 * ops_index.c — operators that pick, repeat or make elements by index:
 * Slice, Split, Expand, Tile, Range, ConstantOfShape, ScatterND. They work
 * on float32 and int64 tensors alike; every index and size that comes from
 * the graph is range- and overflow-checked before it is used.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

static size_t elem(const nerve_array *t)
{
    return (size_t)nerve_dtype_size(t->dtype);
}

/* Row-major element strides of a shape. */
static void strides_of(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= shape[d];
    }
}

/* ---- Slice ------------------------------------------------------------- */

/* One axis of a slice: the first index, the step and the count, after
 * ONNX's rules (negative indices count from the end; starts and ends are
 * clamped to [0, dim] for positive steps, [-1, dim - 1] for negative ones). */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first, int64_t *count)
{
    start = start < 0 ? start + dim : start;   /* int64 min + dim cannot overflow: dim >= 0 */
    end = end < 0 ? end + dim : end;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        *count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
        start = start < 0 ? -1 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        /* -step overflows for int64 min: any such step takes one element. */
        *count = start > end ? (step == INT64_MIN ? 1 : (start - end - 1) / -step + 1) : 0;
    }
    *first = start;
}

typedef struct slice_args {
    const int64_t *starts, *ends, *axes, *steps;
    int64_t        n, n_axes, n_steps;
} slice_args;

/* Starts, ends, axes and steps from the inputs (opset >= 10) or attributes. */
static int slice_args_of(const op_context *c, const nerve_array *const *in, int n_in, slice_args *a)
{
    memset(a, 0, sizeof *a);
    int64_t n_ends = 0;
    int rc = 0;
    if (c->opset < 10) {
        a->starts = attr_ints(c->node, "starts", &a->n);
        a->ends = attr_ints(c->node, "ends", &n_ends);
        a->axes = attr_ints(c->node, "axes", &a->n_axes);
    } else {
        if ((rc = nn_int_values(c, in[1], &a->starts, &a->n)) < 0 || (rc = nn_int_values(c, in[2], &a->ends, &n_ends)) < 0)
            return rc;
        if (n_in > 3 && in[3] && (rc = nn_int_values(c, in[3], &a->axes, &a->n_axes)) < 0)
            return rc;
        if (n_in > 4 && in[4] && (rc = nn_int_values(c, in[4], &a->steps, &a->n_steps)) < 0)
            return rc;
    }
    if (n_ends != a->n || (a->axes && a->n_axes != a->n) || (a->steps && a->n_steps != a->n))
        return node_error(c, NERVE_EINPUT, "starts, ends, axes and steps differ in length");
    return 0;
}

/* Copies the slice: rows of the last axis at a time (whole rows by memcpy
 * when its step is 1). */
static void slice_copy(nerve_array *out, const nerve_array *x, const int64_t *first, const int64_t *step)
{
    int nd = x->ndim;
    size_t es = elem(x);
    int64_t stride[NERVE_MAX_DIMS], index[NERVE_MAX_DIMS] = { 0 }, off = 0, total = nerve_array_count(out);
    strides_of(nd, x->shape, stride);
    for (int d = 0; d < nd; d++)
        off += first[d] * stride[d];
    int64_t inner = nd ? out->shape[nd - 1] : 1, inner_step = nd ? step[nd - 1] : 1;
    char *dst = out->data;
    for (int64_t row = 0; inner && row < total / inner; row++) {
        const char *src = (const char *)x->data + (size_t)off * es;
        if (inner_step == 1)
            memcpy(dst, src, (size_t)inner * es);
        else
            for (int64_t j = 0; j < inner; j++)
                memcpy(dst + (size_t)j * es, src + (ptrdiff_t)(j * inner_step) * (ptrdiff_t)es, es);
        dst += (size_t)inner * es;
        for (int d = nd - 2; d >= 0; d--) {
            off += step[d] * stride[d];
            if (++index[d] < out->shape[d])
                break;
            off -= step[d] * stride[d] * out->shape[d];
            index[d] = 0;
        }
    }
}

static int op_slice(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    const nerve_array *x = in[0];
    slice_args a;
    int rc = slice_args_of(c, in, n_in, &a), seen[NERVE_MAX_DIMS] = { 0 };
    if (rc < 0)
        return rc;
    int64_t first[NERVE_MAX_DIMS], step[NERVE_MAX_DIMS], shape[NERVE_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) {
        first[d] = 0;
        step[d] = 1;
        shape[d] = x->shape[d];
    }
    for (int64_t i = 0; i < a.n; i++) {
        int axis = (int)i;
        if (a.axes ? (rc = nn_axis(c, a.axes[i], x->ndim, &axis)) < 0 : i >= x->ndim)
            return rc < 0 ? rc : node_error(c, NERVE_EINPUT, "slices %lld axes of a rank-%d tensor",
                                            (long long)a.n, x->ndim);
        if (seen[axis]++)
            return node_error(c, NERVE_EINPUT, "axis %d sliced twice", axis);
        step[axis] = a.steps ? a.steps[i] : 1;
        if (step[axis] == 0)
            return node_error(c, NERVE_EINPUT, "step 0 on axis %d", axis);
        slice_axis(x->shape[axis], a.starts[i], a.ends[i], step[axis], &first[axis], &shape[axis]);
        if (shape[axis] <= 1)
            step[axis] = 1;   /* one element: a huge step would only overflow the offsets */
    }
    if ((rc = nn_alloc_raw(c, out, x->dtype, x->ndim, shape)) < 0)
        return rc;
    if (nerve_array_count(out))
        slice_copy(out, x, first, step);
    return 0;
}

/* ---- Split ------------------------------------------------------------- */

/* The sizes of the parts: the split attribute (before opset 13) or input,
 * else equal parts, one per output. */
static int split_sizes(const op_context *c, const nerve_array *const *in, int n_in, int n_out, int64_t dim,
                       int64_t *size)
{
    const int64_t *split = NULL;
    int64_t n = 0, sum = 0;
    int rc = 0;
    if (c->opset < 13)
        split = attr_ints(c->node, "split", &n);
    else if (n_in > 1 && in[1])
        rc = nn_int_values(c, in[1], &split, &n);
    if (rc < 0)
        return rc;
    if (!split) {
        if (dim % n_out)
            return node_error(c, NERVE_EINPUT, "cannot split a dimension of %lld into %d equal parts",
                              (long long)dim, n_out);
        for (int k = 0; k < n_out; k++)
            size[k] = dim / n_out;
        return 0;
    }
    if (n != n_out)
        return node_error(c, NERVE_EINPUT, "split lists %lld parts for %d outputs", (long long)n, n_out);
    for (int k = 0; k < n_out; k++) {
        if (split[k] < 0 || __builtin_add_overflow(sum, split[k], &sum))
            return node_error(c, NERVE_EINPUT, "split[%d] is %lld", k, (long long)split[k]);
        size[k] = split[k];
    }
    if (sum != dim)
        return node_error(c, NERVE_EINPUT, "split sums to %lld, the dimension is %lld", (long long)sum,
                          (long long)dim);
    return 0;
}

static int op_split(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    const nerve_array *x = in[0];
    int axis = 0, rc = nn_axis(c, attr_int(c->node, "axis", 0), x->ndim, &axis);
    int64_t size[NN_MAX_OUTPUTS], outer = 1, inner = 1, at = 0;
    if (rc < 0 || (rc = split_sizes(c, in, n_in, n_out, x->shape[axis], size)) < 0)
        return rc;
    for (int d = 0; d < axis; d++)
        outer *= x->shape[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= x->shape[d];
    size_t es = elem(x);
    for (int k = 0; k < n_out; k++) {
        int64_t shape[NERVE_MAX_DIMS];
        memcpy(shape, x->shape, sizeof shape);
        shape[axis] = size[k];
        if ((rc = nn_alloc_raw(c, &out[k], x->dtype, x->ndim, shape)) < 0)
            return rc;
        size_t row = (size_t)(size[k] * inner) * es;
        for (int64_t o = 0; o < outer && row; o++)
            memcpy((char *)out[k].data + (size_t)o * row,
                   (const char *)x->data + ((size_t)(o * x->shape[axis] + at) * (size_t)inner) * es, row);
        at += size[k];
    }
    return 0;
}

/* ---- Expand and Tile --------------------------------------------------- */

/* Copies x broadcast into out (whose shape x broadcasts to). */
static void broadcast_copy(nerve_array *out, const nerve_array *x)
{
    int nd = out->ndim;
    int64_t stride[NERVE_MAX_DIMS], index[NERVE_MAX_DIMS] = { 0 }, off = 0, total = nerve_array_count(out);
    nn_broadcast_strides(x, nd, out->shape, stride);
    size_t es = elem(x);
    for (int64_t k = 0; k < total; k++) {
        memcpy((char *)out->data + (size_t)k * es, (const char *)x->data + (size_t)off * es, es);
        for (int d = nd - 1; d >= 0; d--) {
            off += stride[d];
            if (++index[d] < out->shape[d])
                break;
            off -= stride[d] * out->shape[d];
            index[d] = 0;
        }
    }
}

static int op_expand(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    const int64_t *want;
    int64_t n;
    int rc = nn_int_values(c, in[1], &want, &n);
    if (rc < 0)
        return rc;
    if (n > NERVE_MAX_DIMS)
        return node_error(c, NERVE_EINPUT, "shape has %lld dimensions (at most %d)", (long long)n, NERVE_MAX_DIMS);
    nerve_array target = { .dtype = in[0]->dtype, .ndim = (int)n };
    for (int64_t i = 0; i < n; i++) {
        if (want[i] < 0)
            return node_error(c, NERVE_EINPUT, "shape[%lld] is %lld", (long long)i, (long long)want[i]);
        target.shape[i] = want[i];
    }
    int ndim;
    int64_t shape[NERVE_MAX_DIMS];
    if ((rc = nn_broadcast_shape(c, in[0], &target, &ndim, shape)) < 0 ||
        (rc = nn_alloc_raw(c, out, in[0]->dtype, ndim, shape)) < 0)
        return rc;
    broadcast_copy(out, in[0]);
    return 0;
}

static int op_tile(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    const nerve_array *x = in[0];
    const int64_t *repeats;
    int64_t n, shape[NERVE_MAX_DIMS], stride[NERVE_MAX_DIMS], index[NERVE_MAX_DIMS] = { 0 };
    int rc = nn_int_values(c, in[1], &repeats, &n);
    if (rc < 0)
        return rc;
    if (n != x->ndim)
        return node_error(c, NERVE_EINPUT, "repeats has %lld values for rank %d", (long long)n, x->ndim);
    for (int d = 0; d < x->ndim; d++)
        if (repeats[d] < 0 || __builtin_mul_overflow(x->shape[d], repeats[d], &shape[d]))
            return node_error(c, NERVE_EINPUT, "repeats[%d] is %lld for a dimension of %lld", d,
                              (long long)repeats[d], (long long)x->shape[d]);
    if ((rc = nn_alloc_raw(c, out, x->dtype, x->ndim, shape)) < 0)
        return rc;
    strides_of(x->ndim, x->shape, stride);
    size_t es = elem(x);
    int64_t total = nerve_array_count(out);
    for (int64_t k = 0; k < total; k++) {
        int64_t off = 0;
        for (int d = 0; d < x->ndim; d++)
            off += index[d] % x->shape[d] * stride[d];
        memcpy((char *)out->data + (size_t)k * es, (const char *)x->data + (size_t)off * es, es);
        for (int d = x->ndim - 1; d >= 0 && ++index[d] == shape[d]; d--)
            index[d] = 0;
    }
    return 0;
}

/* ---- Range and ConstantOfShape ----------------------------------------- */

static int scalar_of(const op_context *c, const nerve_array *t, const char *what)
{
    if (nerve_array_count(t) != 1)
        return node_error(c, NERVE_EINPUT, "%s must be a scalar", what);
    return 0;
}

/* The element count of an int64 range, in unsigned arithmetic: limit -
 * start may not fit int64. */
static int64_t range_count_i64(int64_t start, int64_t limit, int64_t delta)
{
    uint64_t n = 0;
    if (delta > 0 && limit > start)
        n = ((uint64_t)limit - (uint64_t)start - 1) / (uint64_t)delta + 1;
    if (delta < 0 && limit < start)
        n = ((uint64_t)start - (uint64_t)limit - 1) / (0 - (uint64_t)delta) + 1;
    return n > INT64_MAX ? INT64_MAX : (int64_t)n;   /* past int64: the tensor limit refuses it */
}

static int op_range(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    const char *names[] = { "start", "limit", "delta" };
    for (int i = 0; i < 3; i++) {
        int rc = scalar_of(c, in[i], names[i]);
        if (rc < 0)
            return rc;
        if (in[i]->dtype != in[0]->dtype)
            return node_error(c, NERVE_EINPUT, "start, limit and delta differ in type");
    }
    int64_t n;
    if (in[0]->dtype == NERVE_I64) {
        int64_t start = *(int64_t *)in[0]->data, limit = *(int64_t *)in[1]->data, delta = *(int64_t *)in[2]->data;
        if (delta == 0)
            return node_error(c, NERVE_EINPUT, "delta is 0");
        n = range_count_i64(start, limit, delta);
        int rc = nn_alloc_raw(c, out, NERVE_I64, 1, &n);
        for (int64_t i = 0; rc == 0 && i < n; i++)
            ((int64_t *)out->data)[i] = (int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)delta);
        return rc;
    }
    double start = *(float *)in[0]->data, limit = *(float *)in[1]->data, delta = *(float *)in[2]->data;
    double count = ceil((limit - start) / delta);
    if (!(count < 9.0e15))   /* NaN, infinite, a zero delta, or far past any tensor limit */
        return node_error(c, NERVE_EINPUT, "range from %g to %g by %g has no finite length", start, limit, delta);
    n = count > 0 ? (int64_t)count : 0;
    int rc = nn_alloc_raw(c, out, NERVE_F32, 1, &n);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        ((float *)out->data)[i] = (float)(start + (double)i * delta);
    return rc;
}

/* The value attribute: a one-element tensor (float 0 when absent). */
static int constant_value(const op_context *c, const nerve_array **value)
{
    const nerve_attr *a = attr_find(c->node, "value");
    *value = NULL;
    if (!a)
        return 0;
    if (a->type != NERVE_ATTR_TENSOR || nerve_array_count(&a->tensor) != 1)
        return node_error(c, NERVE_EINPUT, "value must be a one-element tensor");
    *value = &a->tensor;
    return 0;
}

static int check_constant_of_shape(const op_context *c, const nerve_array *const *known, int n_in)
{
    (void)known; (void)n_in;
    const nerve_array *value;
    return constant_value(c, &value);
}

static int op_constant_of_shape(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out,
                                int n_out)
{
    (void)n_in; (void)n_out;
    const nerve_array *value;
    const int64_t *want;
    int64_t n;
    int rc = constant_value(c, &value);
    if (rc < 0 || (rc = nn_int_values(c, in[0], &want, &n)) < 0)
        return rc;
    if (n > NERVE_MAX_DIMS)
        return node_error(c, NERVE_EINPUT, "shape has %lld dimensions (at most %d)", (long long)n, NERVE_MAX_DIMS);
    if ((rc = nn_alloc(c, out, value ? value->dtype : NERVE_F32, (int)n, want)) < 0 || !value)
        return rc;
    size_t es = elem(value);
    for (int64_t k = 0; k < nerve_array_count(out); k++)
        memcpy((char *)out->data + (size_t)k * es, value->data, es);
    return 0;
}

/* ---- ScatterND --------------------------------------------------------- */

/* The checks ScatterND's shapes need: indices (..., q) with q <= rank, and
 * updates of shape indices.shape[:-1] + data.shape[q:]. */
static int scatter_shapes(const op_context *c, const nerve_array *x, const nerve_array *idx, const nerve_array *upd)
{
    if (idx->dtype != NERVE_I64 || idx->ndim < 1 || upd->dtype != x->dtype)
        return node_error(c, NERVE_EINPUT, "wants int64 indices and updates of the data's type");
    int64_t q = idx->shape[idx->ndim - 1];
    int fits = q <= x->ndim && upd->ndim == idx->ndim - 1 + x->ndim - q;
    for (int d = 0; fits && d < idx->ndim - 1; d++)
        fits = upd->shape[d] == idx->shape[d];
    for (int d = 0; fits && d < x->ndim - q; d++)
        fits = upd->shape[idx->ndim - 1 + d] == x->shape[q + d];
    if (!fits)
        return node_error(c, NERVE_EINPUT, "updates do not have the shape indices.shape[:-1] + data.shape[q:]");
    return 0;
}

static int op_scatter_nd(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    const nerve_array *x = in[0], *idx = in[1], *upd = in[2];
    const char *mode = attr_string(c->node, "reduction", "none");
    int add = strcmp(mode, "add") == 0, mul = strcmp(mode, "mul") == 0;
    if (!add && !mul && strcmp(mode, "none") != 0)
        return node_error(c, NERVE_EUNSUPPORTED, "reduction '%s' (none, add, mul)", mode);
    int rc = scatter_shapes(c, x, idx, upd);
    if (rc < 0 || (rc = nn_copy(out, x)) < 0)
        return rc;
    int64_t q = idx->shape[idx->ndim - 1], stride[NERVE_MAX_DIMS], slice = 1;
    strides_of(x->ndim, x->shape, stride);
    for (int d = (int)q; d < x->ndim; d++)
        slice *= x->shape[d];
    int64_t tuples = q ? nerve_array_count(idx) / q : nerve_array_count(upd) / (slice ? slice : 1);
    size_t es = elem(x);
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        for (int64_t j = 0; j < q; j++) {
            int64_t i = ((const int64_t *)idx->data)[t * q + j], dim = x->shape[j];
            i = i < 0 ? i + dim : i;
            if (i < 0 || i >= dim) {
                nerve_array_free(out);
                return node_error(c, NERVE_EINPUT, "index %lld out of range for size %lld",
                                  (long long)((const int64_t *)idx->data)[t * q + j], (long long)dim);
            }
            off += i * stride[j];
        }
        char *dst = (char *)out->data + (size_t)off * es;
        const char *src = (const char *)upd->data + (size_t)(t * slice) * es;
        for (int64_t k = 0; k < slice && (add || mul); k++) {
            if (x->dtype == NERVE_F32)
                ((float *)dst)[k] = add ? ((float *)dst)[k] + ((const float *)src)[k] : ((float *)dst)[k] * ((const float *)src)[k];
            else
                ((int64_t *)dst)[k] = (int64_t)(add ? (uint64_t)((int64_t *)dst)[k] + (uint64_t)((const int64_t *)src)[k]
                                                    : (uint64_t)((int64_t *)dst)[k] * (uint64_t)((const int64_t *)src)[k]);
        }
        if (!add && !mul)
            memcpy(dst, src, (size_t)slice * es);
    }
    return 0;
}

const op_def nn_ops_index[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "Slice",           op_slice,              3, 5, 10, 1, NULL },
    { "Split",           op_split,              1, 2, 13, NN_MAX_OUTPUTS, NULL },
    { "Expand",          op_expand,             2, 2,  0, 1, NULL },
    { "Tile",            op_tile,               2, 2,  0, 1, NULL },
    { "Range",           op_range,              3, 3,  0, 1, NULL },
    { "ConstantOfShape", op_constant_of_shape,  1, 1,  0, 1, check_constant_of_shape },
    { "ScatterND",       op_scatter_nd,         3, 3,  0, 1, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
