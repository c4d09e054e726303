/*
 * ops_shape.c — operators that move data without arithmetic: Concat,
 * Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Constant, Shape, Gather,
 * Pad. They work on float32 and int64 tensors alike.
 */
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

int nn_axis(const op_context *c, int64_t axis, int rank, int *out)
{
    if (axis < -rank || axis >= rank)
        return node_error(c, NERVE_EINPUT, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

int nn_int_values(const op_context *c, const nerve_array *t, const int64_t **v, int64_t *n)
{
    *v = NULL;
    *n = 0;
    if (!t || t->dtype != NERVE_I64)
        return node_error(c, NERVE_EINPUT, "wants an int64 tensor of sizes or axes");
    *v = t->data;
    *n = nerve_array_count(t);
    return 0;
}

static size_t elem(const nerve_array *t)
{
    return (size_t)nerve_dtype_size(t->dtype);
}

/* A copy of x under another shape with the same element count. */
static int reshaped(const op_context *c, nerve_array *out, const nerve_array *x, int ndim, const int64_t *shape)
{
    int64_t n;
    if (ndim > NERVE_MAX_DIMS || nerve_shape_count(ndim, shape, &n) < 0 || n != nerve_array_count(x)) {
        char from[512], to[512];
        nerve_shape_format(from, sizeof from, x->ndim, x->shape);
        nerve_shape_format(to, sizeof to, ndim < NERVE_MAX_DIMS ? ndim : NERVE_MAX_DIMS, shape);
        return node_error(c, NERVE_EINPUT, "cannot reshape %s to %s (the element counts differ or "
                          "overflow)", from, to);
    }
    /* The same bytes under the new shape: moved when no later node reads x.
     * The shape itself must pass the limit ((0, 2^40, 2^40) holds nothing but
     * would overflow whoever multiplies its other dimensions). */
    char where[1024];
    nn_node_where(where, sizeof where, c);
    int rc = nn_tensor_check(where, "output", x->dtype, ndim, shape);
    if (rc == 0)
        rc = nn_take_or_copy(c, out, x);
    if (rc == 0) {
        out->ndim = ndim;
        memcpy(out->shape, shape, (size_t)ndim * sizeof *shape);
    }
    return rc;
}

static int op_flatten(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    const nerve_array *x = in[0];
    int64_t axis = attr_int(c->node, "axis", 1);
    if (axis < 0)
        axis += x->ndim;
    if (axis < 0 || axis > x->ndim)
        return node_error(c, NERVE_EINPUT, "axis out of range");
    int64_t shape[2] = { 1, 1 };
    for (int i = 0; i < x->ndim; i++)
        shape[i >= axis] *= x->shape[i];
    return reshaped(c, out, x, 2, shape);
}

/* Reshape's target: at most NERVE_MAX_DIMS sizes, each >= -1, at most one
 * -1 (the size inferred). Shared by the load-time check and the op. */
static int reshape_target_check(const op_context *c, const int64_t *want, int64_t n)
{
    if (n > NERVE_MAX_DIMS)
        return node_error(c, NERVE_EINPUT, "shape has %lld dimensions (at most %d)", (long long)n, NERVE_MAX_DIMS);
    int inferred = 0;
    for (int64_t i = 0; i < n; i++) {
        if (want[i] < -1)
            return node_error(c, NERVE_EINPUT, "shape[%lld] is %lld; sizes are >= 0, or -1 for the one "
                              "inferred", (long long)i, (long long)want[i]);
        if (want[i] == -1 && inferred++)
            return node_error(c, NERVE_EINPUT, "shape has two -1 dimensions");
    }
    return 0;
}

/* The target shape, from the shape input (opset >= 5) or attribute. */
static int reshape_target(const op_context *c, const nerve_array *shape_input, const int64_t **want, int64_t *n)
{
    if (c->opset >= 5)
        return nn_int_values(c, shape_input, want, n);
    *want = attr_ints(c->node, "shape", n);
    return 0;
}

static int check_reshape(const op_context *c, const nerve_array *const *known, int n_in)
{
    const int64_t *want = NULL;
    int64_t n = 0;
    if (c->opset >= 5 && (n_in < 2 || !known[1]))
        return 0;   /* computed by the graph: checked when the op runs */
    int rc = reshape_target(c, n_in > 1 ? known[1] : NULL, &want, &n);
    return rc < 0 ? rc : reshape_target_check(c, want, n);
}

static int op_reshape(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    const nerve_array *x = in[0];
    const int64_t *want = NULL;
    int64_t n, shape[NERVE_MAX_DIMS];
    int rc = reshape_target(c, n_in > 1 ? in[1] : NULL, &want, &n);
    if (rc < 0 || (rc = reshape_target_check(c, want, n)) < 0)
        return rc;
    int allowzero = (int)attr_int(c->node, "allowzero", 0), infer = -1;
    for (int i = 0; i < n; i++) {
        shape[i] = want[i] == 0 && !allowzero ? (i < x->ndim ? x->shape[i] : 0) : want[i];
        if (shape[i] == -1)
            infer = i;
    }
    if (infer >= 0) {
        /* The product of the known sizes, overflow-checked (the one -1 as 1). */
        int64_t known;
        shape[infer] = 1;
        if (nerve_shape_count((int)n, shape, &known) < 0) {
            char text[512];
            shape[infer] = -1;
            nerve_shape_format(text, sizeof text, (int)n, shape);
            return node_error(c, NERVE_EINPUT, "shape %s: its sizes multiply past int64 (overflow)", text);
        }
        shape[infer] = known ? nerve_array_count(x) / known : 0;
    }
    return reshaped(c, out, x, (int)n, shape);
}

static int op_transpose(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    const nerve_array *x = in[0];
    int64_t count, perm[NERVE_MAX_DIMS], shape[NERVE_MAX_DIMS], stride[NERVE_MAX_DIMS];
    const int64_t *p = attr_ints(c->node, "perm", &count);
    int seen[NERVE_MAX_DIMS] = { 0 };
    for (int i = 0; i < x->ndim; i++) {
        perm[i] = p ? p[i] : x->ndim - 1 - i;
        if ((p && count != x->ndim) || perm[i] < 0 || perm[i] >= x->ndim || seen[perm[i]]++)
            return node_error(c, NERVE_EINPUT, "perm is not a permutation of %d axes", x->ndim);
    }
    int64_t s = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= x->shape[i];
    }
    int64_t ostride[NERVE_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) {
        shape[i] = x->shape[perm[i]];
        ostride[i] = stride[perm[i]];   /* input stride of output axis i */
    }
    int rc = nn_alloc_raw(c, out, x->dtype, x->ndim, shape);   /* every element written below */
    if (rc == 0)
        nn_transpose(out->data, x->data, elem(x), x->ndim, shape, ostride);
    return rc;
}

void nn_transpose_naive(void *y, const void *x, size_t es, int ndim, const int64_t *shape, const int64_t *ostride)
{
    int64_t n = 1, index[NERVE_MAX_DIMS] = { 0 }, off = 0;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    for (int64_t k = 0; k < n; k++) {
        memcpy((char *)y + (size_t)k * es, (const char *)x + (size_t)off * es, es);
        for (int d = ndim - 1; d >= 0; d--) {
            off += ostride[d];
            if (++index[d] < shape[d])
                break;
            off -= ostride[d] * shape[d];
            index[d] = 0;
        }
    }
}

/* Row by row of the output's last axis: a memcpy where that axis stays
 * last (a transformer's head split and merge), else a strided gather;
 * rows shared by nerve's threads. */
void nn_transpose(void *y, const void *x, size_t es, int ndim, const int64_t *shape, const int64_t *ostride)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    int64_t inner = ndim ? shape[ndim - 1] : 1, step = ndim ? ostride[ndim - 1] : 1;
    int64_t rows = inner ? n / inner : 0;
    #pragma omp parallel for schedule(static) if (n > 1 << 18)
    for (int64_t r = 0; r < rows; r++) {
        int64_t rem = r, off = 0;
        for (int d = ndim - 2; d >= 0; d--) {
            off += rem % shape[d] * ostride[d];
            rem /= shape[d];
        }
        char *dst = (char *)y + (size_t)(r * inner) * es;
        const char *src = (const char *)x + (size_t)off * es;
        if (step == 1)
            memcpy(dst, src, (size_t)inner * es);
        else if (es == 4)
            for (int64_t j = 0; j < inner; j++)
                memcpy(dst + j * 4, src + j * step * 4, 4);
        else
            for (int64_t j = 0; j < inner; j++)
                memcpy(dst + (size_t)j * es, src + (size_t)(j * step) * es, es);
    }
}

/* Squeeze and Unsqueeze take axes as an attribute before opset 13. */
static int axes_of(const op_context *c, const nerve_array *const *in, int n_in, const int64_t **axes, int64_t *n)
{
    if (c->opset < 13 || n_in < 2 || !in[1]) {
        *axes = attr_ints(c->node, "axes", n);
        return 0;
    }
    return nn_int_values(c, in[1], axes, n);
}

static int op_squeeze(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    const nerve_array *x = in[0];
    const int64_t *axes = NULL;
    int64_t n, shape[NERVE_MAX_DIMS];
    int rc = axes_of(c, in, n_in, &axes, &n), drop[NERVE_MAX_DIMS] = { 0 }, ndim = 0;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        int a = 0;
        if ((rc = nn_axis(c, axes[i], x->ndim, &a)) == 0 && x->shape[a] != 1)
            rc = node_error(c, NERVE_EINPUT, "cannot squeeze axis %d of size %lld", a, (long long)x->shape[a]);
        if (rc == 0)
            drop[a] = 1;
    }
    if (rc < 0)
        return rc;
    for (int i = 0; i < x->ndim; i++)
        if (!(n ? drop[i] : x->shape[i] == 1))
            shape[ndim++] = x->shape[i];
    return reshaped(c, out, x, ndim, shape);
}

static int op_unsqueeze(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    const nerve_array *x = in[0];
    const int64_t *axes = NULL;
    int64_t n, shape[NERVE_MAX_DIMS];
    int rc = axes_of(c, in, n_in, &axes, &n), add[NERVE_MAX_DIMS] = { 0 };
    int ndim = x->ndim + (int)n;
    if (rc == 0 && ndim > NERVE_MAX_DIMS)
        rc = node_error(c, NERVE_EINPUT, "too many dimensions");
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        int a = 0;
        if ((rc = nn_axis(c, axes[i], ndim, &a)) == 0 && add[a]++)
            rc = node_error(c, NERVE_EINPUT, "axis %d given twice", a);
    }
    if (rc < 0)
        return rc;
    for (int i = 0, k = 0; i < ndim; i++)
        shape[i] = add[i] ? 1 : x->shape[k++];
    return reshaped(c, out, x, ndim, shape);
}

static int op_concat(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    const nerve_array *x = in[0];
    int axis = 0, rc = nn_axis(c, attr_int(c->node, "axis", 1), x->ndim, &axis);
    if (rc < 0)
        return rc;
    int64_t shape[NERVE_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = 0;
    for (int k = 0; rc == 0 && k < n_in; k++) {
        int same = in[k]->ndim == x->ndim && in[k]->dtype == x->dtype;
        for (int d = 0; same && d < x->ndim; d++)
            same = d == axis || in[k]->shape[d] == x->shape[d];
        if (!same)
            return node_error(c, NERVE_EINPUT, "input %d does not match the others' shape", k);
        shape[axis] += in[k]->shape[axis];
    }
    if (rc < 0 || (rc = nn_alloc_raw(c, out, x->dtype, x->ndim, shape)) < 0)   /* every element written */
        return rc;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= shape[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= shape[d];
    size_t es = elem(x);
    char *dst = out->data;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < n_in; k++) {
            size_t bytes = (size_t)(in[k]->shape[axis] * inner) * es;
            memcpy(dst, (const char *)in[k]->data + (size_t)o * bytes, bytes);
            dst += bytes;
        }
    return 0;
}

static int op_constant(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)in; (void)n_in; (void)n_out;
    const nerve_attr *a = c->node->n_attr ? &c->node->attr[0] : NULL;
    if (!a)
        return node_error(c, NERVE_EINPUT, "has no value");
    int64_t one = 1;
    int rc;
    if (a->type == NERVE_ATTR_TENSOR)
        return nn_copy(out, &a->tensor);
    if (a->type == NERVE_ATTR_FLOAT || a->type == NERVE_ATTR_INT) {
        rc = nn_alloc(c, out, a->type == NERVE_ATTR_FLOAT ? NERVE_F32 : NERVE_I64, 0, &one);
        if (rc == 0 && a->type == NERVE_ATTR_FLOAT)
            *(float *)out->data = a->f;
        else if (rc == 0)
            *(int64_t *)out->data = a->i;
        return rc;
    }
    if (a->type == NERVE_ATTR_FLOATS || a->type == NERVE_ATTR_INTS) {
        rc = nn_alloc(c, out, a->type == NERVE_ATTR_FLOATS ? NERVE_F32 : NERVE_I64, 1, &a->count);
        if (rc == 0 && a->count)
            memcpy(out->data, a->type == NERVE_ATTR_FLOATS ? (void *)a->floats : (void *)a->ints,
                   (size_t)a->count * (a->type == NERVE_ATTR_FLOATS ? 4 : 8));
        return rc;
    }
    return node_error(c, NERVE_EUNSUPPORTED, "value of attribute '%s' is not a numeric tensor", a->name);
}

static int op_shape(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_in; (void)n_out;
    int rank = in[0]->ndim;
    int64_t start = attr_int(c->node, "start", 0), end = attr_int(c->node, "end", rank);
    start = start < 0 ? start + rank : start;
    end = end < 0 ? end + rank : end;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < start ? start : end > rank ? rank : end;
    int64_t n = end - start;
    int rc = nn_alloc(c, out, NERVE_I64, 1, &n);
    if (rc == 0 && n)
        memcpy(out->data, in[0]->shape + start, (size_t)n * sizeof(int64_t));
    return rc;
}

static int op_gather(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    if (n_in < 2 || !in[1] || in[1]->dtype != NERVE_I64)
        return node_error(c, NERVE_EINPUT, "wants data and int64 indices");
    const nerve_array *x = in[0], *idx = in[1];
    int axis = 0, rc = nn_axis(c, attr_int(c->node, "axis", 0), x->ndim, &axis);
    if (rc < 0)
        return rc;
    int ndim = x->ndim - 1 + idx->ndim;
    if (ndim > NERVE_MAX_DIMS)
        return node_error(c, NERVE_EINPUT, "too many dimensions");
    int64_t shape[NERVE_MAX_DIMS], outer = 1, inner = 1, k = 0;
    for (int d = 0; d < axis; d++)
        outer *= (shape[k++] = x->shape[d]);
    for (int d = 0; d < idx->ndim; d++)
        shape[k++] = idx->shape[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= (shape[k++] = x->shape[d]);
    if ((rc = nn_alloc_raw(c, out, x->dtype, ndim, shape)) < 0)   /* every element written */
        return rc;
    int64_t n_idx = nerve_array_count(idx), size = x->shape[axis];
    size_t es = elem(x), row = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < n_idx; j++) {
            int64_t i = ((const int64_t *)idx->data)[j];
            i = i < 0 ? i + size : i;
            if (i < 0 || i >= size) {
                nerve_array_free(out);
                return node_error(c, NERVE_EINPUT, "index %lld out of range for size %lld",
                                  (long long)((const int64_t *)idx->data)[j], (long long)size);
            }
            memcpy((char *)out->data + (size_t)(o * n_idx + j) * row,
                   (const char *)x->data + (size_t)(o * size + i) * row, row);
        }
    return 0;
}

typedef struct pad_constant {
    float   f;
    int64_t i;
} pad_constant;

/* The constant of Pad in x's type, from its value input (or attribute
 * before opset 11), which may be float or int64 whatever x is. */
static int pad_value(const op_context *c, const nerve_array *x, const nerve_array *given, float attr,
                     pad_constant *v)
{
    int64_t i = 0;
    float f = attr;
    if (given && nerve_array_count(given) == 1) {
        if (given->dtype == NERVE_I64)
            f = (float)(i = *(const int64_t *)given->data);
        else
            f = *(const float *)given->data;
    }
    if (x->dtype == NERVE_I64 && !(given && given->dtype == NERVE_I64)) {
        /* 2^63 is exact in float; converting anything at or past it is undefined */
        if (!(f > -9.2233720368547758e18f && f < 9.2233720368547758e18f))
            return node_error(c, NERVE_EINPUT, "the constant %g does not fit the int64 tensor", (double)f);
        i = (int64_t)f;
    }
    v->f = f;
    v->i = i;
    return 0;
}

static int op_pad(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    const nerve_array *x = in[0];
    const int64_t *pads = NULL;
    int64_t n;
    float attr_value = 0;
    int rc = 0;
    if (c->opset < 11) {
        pads = attr_ints(c->node, c->opset < 2 ? "paddings" : "pads", &n);
        attr_value = attr_float(c->node, "value", 0);
    } else {
        rc = n_in > 1 ? nn_int_values(c, in[1], &pads, &n) : node_error(c, NERVE_EINPUT, "needs pads");
    }
    if (rc < 0)
        return rc;
    if (n != 2 * x->ndim)
        return node_error(c, NERVE_EINPUT, "pads has %lld values for rank %d", (long long)n, x->ndim);
    const char *mode_name = attr_string(c->node, "mode", "constant");
    int mode = strcmp(mode_name, "constant") == 0 ? NN_PAD_CONSTANT : strcmp(mode_name, "edge") == 0 ? NN_PAD_EDGE
             : strcmp(mode_name, "reflect") == 0 ? NN_PAD_REFLECT : -1;
    if (mode < 0)
        return node_error(c, NERVE_EUNSUPPORTED, "mode '%s' (constant, edge, reflect)", mode_name);
    pad_constant value;
    if ((rc = pad_value(c, x, c->opset >= 11 && n_in > 2 ? in[2] : NULL, attr_value, &value)) < 0)
        return rc;
    int64_t shape[NERVE_MAX_DIMS], count = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (__builtin_add_overflow(x->shape[d], pads[d], &shape[d]) ||
            __builtin_add_overflow(shape[d], pads[d + x->ndim], &shape[d]))
            return node_error(c, NERVE_EINPUT, "pads %lld and %lld on dimension %d of size %lld overflow "
                              "int64", (long long)pads[d], (long long)pads[d + x->ndim], d,
                              (long long)x->shape[d]);
        if (shape[d] < 0)
            return node_error(c, NERVE_EINPUT, "pads make dimension %d negative", d);
        count = shape[d] ? count : 0;
    }
    /* Edge and reflect repeat the input: some of it must be left on every axis. */
    for (int d = 0; d < x->ndim && mode != NN_PAD_CONSTANT && count; d++) {
        int64_t lo, hi;
        nn_pad_visible(x, shape, pads, d, &lo, &hi);
        if (hi == lo)
            return node_error(c, NERVE_EINPUT, "mode '%s' repeats the input, but nothing of dimension %d "
                              "(size %lld) is left after pads %lld and %lld", mode_name, d,
                              (long long)x->shape[d], (long long)pads[d], (long long)pads[d + x->ndim]);
    }
    if ((rc = nn_alloc_raw(c, out, x->dtype, x->ndim, shape)) < 0)   /* nn_pad writes every element */
        return rc;
    nn_pad(out, x, pads, mode, x->dtype == NERVE_I64 ? (const void *)&value.i : (const void *)&value.f);
    return 0;
}

const op_def nn_ops_shape[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "Concat",    op_concat,                 1, NN_MAX_INPUTS,  0, 1, NULL },
    { "Flatten",   op_flatten,                1, 1,  0, 1, NULL },
    { "Reshape",   op_reshape,                2, 2,  5, 1, check_reshape },
    { "Transpose", op_transpose,              1, 1,  0, 1, NULL },
    { "Squeeze",   op_squeeze,                1, 2, 13, 1, NULL },
    { "Unsqueeze", op_unsqueeze,              2, 2, 13, 1, NULL },
    { "Constant",  op_constant,               0, 0,  0, 1, NULL },
    { "Shape",     op_shape,                  1, 1,  0, 1, NULL },
    { "Gather",    op_gather,                 2, 2,  0, 1, NULL },
    { "Pad",       op_pad,                    2, 3, 11, 1, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
