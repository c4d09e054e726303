/*
 * nn_internal.h — what the nn room's files share: the operator table, the
 * attribute accessors and the protobuf tensor conversion.
 */
#ifndef NERVE_NN_INTERNAL_H
#define NERVE_NN_INTERNAL_H

#include "nerve/nn.h"

struct Onnx__TensorProto;
/* A TensorProto's values as float32 or int64; external data is read from
 * the folder dir (NULL: refused, as for a model loaded from memory). */
int onnx_tensor_from_proto(nerve_array *out, const struct Onnx__TensorProto *t, const char *label,
                           const char *dir);
/* The folder part of a path ("." for a bare name); NULL when out of memory. */
char *onnx_folder_of(const char *path);

/* An operator: reads in[0..n_in) (NULL for omitted optional inputs) and
 * fills out[0..n_out) (an output the graph does not use is still computed
 * into a scratch array and freed by the caller). Errors name the node. */
typedef struct op_context {
    const nerve_model *model;
    const nerve_node  *node;
    int64_t            opset;
    nerve_array       *consumable;   /* input 0 when no one reads it later: an op may take it */
} op_context;

typedef int (*op_fn)(const op_context *c, const nerve_array *const *in, int n_in,
                     nerve_array *out, int n_out);

/* A check of a node made once after loading, before any run: attribute
 * values in range, and attribute shapes against the inputs that are
 * initializers (known[i], NULL where the input is computed). What depends
 * on a computed input's shape is checked again when the op runs. */
typedef int (*op_check_fn)(const op_context *c, const nerve_array *const *known, int n_in);

enum { NN_MAX_INPUTS = 64, NN_MAX_OUTPUTS = 16 };   /* per node, as run.c's arrays */

typedef struct op_def {
    const char *name;
    op_fn       run;
    /* Inputs: the first min_in are required (an empty name, "omitted
     * optional input" in ONNX, is refused there), at most max_in in all
     * (NN_MAX_INPUTS: variadic, every one required). Before opset
     * inputs_since (if set) the later inputs were attributes: one input. */
    int         min_in, max_in, inputs_since;
    int         max_out;
    op_check_fn check;      /* NULL: the arity is all there is to check */
} op_def;

/* The node's inputs and outputs against its operator's arity: an error
 * "<model>: node 'X' (Concat): input 2 is missing" or NULL-free inputs. */
int nn_node_arity(const nerve_model *m, const nerve_node *n);

/* After an op ran: every output a later node or the graph reads was made
 * (an op leaves outputs it does not compute empty, e.g. BatchNormalization's
 * running statistics outside training). */
int nn_outputs_made(const op_context *c, const nerve_array *out);

/* Whether a graph input of this ONNX TensorProto.DataType is fed as int64
 * (every integer type and bool: nerve keeps integers as int64, floats as
 * float32). */
int nn_elem_type_is_int(int elem_type);

/* The whole graph checked after loading (validate.c): every node's arity
 * and its operator's check, so operators can trust what the graph alone
 * shows. */
int nn_graph_validate(const nerve_model *m);

/* ---- sizes (limits.c) ------------------------------------------------ */

/* Whether a tensor of this shape may exist: dimensions non-negative, their
 * product (zeros counted as ones, so later products of any subset cannot
 * overflow either) within the per-tensor byte limit. `where` prefixes the
 * error ("model.onnx: node 'x' (Pad)"), `what` names the tensor. */
int nn_tensor_check(const char *where, const char *what, nerve_dtype dtype, int ndim, const int64_t *shape);
/* nerve_array_alloc(_raw) of a node's output after nn_tensor_check. */
int nn_alloc(const op_context *c, nerve_array *out, nerve_dtype dtype, int ndim, const int64_t *shape);
int nn_alloc_raw(const op_context *c, nerve_array *out, nerve_dtype dtype, int ndim, const int64_t *shape);
/* "<model>: node '<name>' (<op>)" for messages. */
void nn_node_where(char *out, size_t cap, const op_context *c);

/* Index into the table for op_type, or -1. */
int           nn_op_find(const char *op_type);
const op_def *nn_op(int index);

/* Attributes; the defaults apply when the node lacks the attribute. */
const nerve_attr *attr_find(const nerve_node *n, const char *name);
int64_t           attr_int(const nerve_node *n, const char *name, int64_t def);
float             attr_float(const nerve_node *n, const char *name, float def);
const char       *attr_string(const nerve_node *n, const char *name, const char *def);
/* The ints of an INTS attribute, or NULL (count 0) if absent. */
const int64_t    *attr_ints(const nerve_node *n, const char *name, int64_t *count);

/* An error about a node: "<model>: node '<name>' (<op>): <message>". */
int node_error(const op_context *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A fresh copy of x. */
int nn_copy(nerve_array *out, const nerve_array *x);
/* x itself when it is c's consumable input (then moved into out), else a copy. */
int nn_take_or_copy(const op_context *c, nerve_array *out, const nerve_array *x);
/* Element strides of t inside an output of ndim dims: 0 where broadcast. */
void nn_broadcast_strides(const nerve_array *t, int ndim, const int64_t *shape, int64_t *stride);
/* The numpy broadcast of two shapes. */
int nn_broadcast_shape(const op_context *c, const nerve_array *a, const nerve_array *b,
                       int *ndim, int64_t *shape);
/* An axis attribute in [-rank, rank) made non-negative, or an error. */
/* The elements of the broadcast of up to NN_WALK_MAX arrays, in order,
 * with each array's element offset (a broadcast axis has stride 0):
 * nn_walk_init, then nn_walk_next after each element. */
enum { NN_WALK_MAX = 3 };
typedef struct nn_walk {
    int     ndim, n;
    int64_t shape[NERVE_MAX_DIMS], index[NERVE_MAX_DIMS];
    int64_t stride[NN_WALK_MAX][NERVE_MAX_DIMS], off[NN_WALK_MAX];
} nn_walk;
int  nn_walk_init(const op_context *c, nn_walk *w, const nerve_array *const *in, int n);
void nn_walk_next(nn_walk *w);
/* The axes a Reduce* node reduces, as flags (flag[rank], zeroed by the
 * caller); *none when it reduces nothing (ReduceSum's noop_with_empty_axes). */
int nn_reduced_axes(const op_context *c, const nerve_array *const *in, int n_in, int rank, int *flag, int *none);
int nn_axis(const op_context *c, int64_t axis, int rank, int *out);
/* The int64 values of a shape-like input (Reshape's shape, Squeeze's axes). */
int nn_int_values(const op_context *c, const nerve_array *t, const int64_t **v, int64_t *n);

/* The window attributes (strides, dilations, pads, auto_pad) for nsp
 * spatial axes: lengths, signs, and the span (k - 1) * d + 1 of each axis
 * within int64 when the kernel is known (kernel may be NULL). */
int nn_window_attributes(const op_context *c, int nsp, const int64_t *kernel);

/* Sliding-window geometry in 3-D (1-D and 2-D windows get leading 1s). */
typedef struct nn_geometry {
    int     spatial;                 /* real spatial axes: 1, 2 or 3 */
    int64_t batch, channels;
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
} nn_geometry;

/* Geometry from the node's strides, dilations, pads/auto_pad and the given
 * kernel (one size per real spatial axis). */
int nn_window(const op_context *c, const nerve_array *x, const int64_t *kernel, int ceil_mode, nn_geometry *g);
/* Allocates (N, channels, out...) for the geometry, within the tensor limit. */
int nn_window_output(const op_context *c, nerve_array *out, const nn_geometry *g, int64_t channels);

/* Unfolds the windows of channels [c0, c0 + cn) of one image x (C, in...)
 * for output positions [j0, j0 + jn) into cols: (cn * kd * kh * kw) rows
 * of jn values, ld apart (im2col; the convolution and its gradient). */
void nn_im2col(float *cols, int64_t ld, const float *x, int64_t c0, int64_t cn, int64_t j0, int64_t jn,
               const nn_geometry *g);

/* Stride-1 2-D convolution as shifted GEMMs on the padded image, for large
 * maps in one group: whether it applies, and the convolution. */
int nn_conv_shifted_applies(const nn_geometry *g, int64_t groups);
int nn_conv_shifted(float *y, const float *x, const float *w, const float *b, const nn_geometry *g, int64_t M);

/* 3 x 3, stride-1, pad-1 convolution by Winograd's F(2 x 2, 3 x 3), for
 * layers of at least 16 channels in and out in one group. */
int nn_conv_winograd_applies(const nn_geometry *g, int64_t groups, int64_t M);
int nn_conv_winograd(float *y, const float *x, const float *u, const float *b, const nn_geometry *g, int64_t M);
/* The weights w (M, C, 3, 3) as Winograd's U = G g G^T, 16 planes of M x C
 * (u holds 16 M C floats): what nn_conv_winograd multiplies by. */
void nn_winograd_weights(float *u, const float *w, int64_t M, int64_t C);

/* Data an operator derives from a node's constant inputs (Conv's Winograd
 * weights), kept on the node across runs: made by make(out, arg) on first
 * use and again once m->weights_version moves. Several threads may run a
 * model whose weights stay (the first install wins); a model whose weights
 * change (training) is run by one thread at a time. NULL when memory runs
 * out: the caller derives into a buffer of its own. */
const float *nn_derived(const op_context *c, int64_t count, void (*make)(float *out, const void *arg),
                        const void *arg);

/* Pad (pad.c). out has x's shape plus pads (pads[d] before axis d,
 * pads[ndim + d] after; negative ones crop); value is one element of x's
 * type, for the constant mode. Edge and reflect need some of the input to
 * show on every axis (nn_pad_visible) when out is not empty. */
enum { NN_PAD_CONSTANT, NN_PAD_EDGE, NN_PAD_REFLECT };
void nn_pad(nerve_array *out, const nerve_array *x, const int64_t *pads, int mode, const void *value);
/* The output positions [lo, hi) along axis d that hold the input. */
void nn_pad_visible(const nerve_array *x, const int64_t *out_shape, const int64_t *pads, int d, int64_t *lo,
                    int64_t *hi);
/* The index in [0, size) whose value position i (any) of a padded axis
 * repeats, -1 for the constant. */
int64_t nn_pad_mirror(int64_t i, int64_t size, int mode);

/* Naive twins of the fast kernels, for the tests. */
void nn_pad_naive(nerve_array *out, const nerve_array *x, const int64_t *pads, int mode, const void *value);
void nn_matmul_naive(float *c, const float *a, const float *b, int64_t m, int64_t n, int64_t k);
/* sgemm's C = alpha op(A) op(B) + beta C (row-major) in blocks of
 * NN_GEMM_ROWS rows on nerve's threads (ops_linear.c). */
enum { NN_GEMM_ROWS = 64 };
/* y = x transposed: output axis i is x's axis of stride ostride[i]
 * (elements), es bytes an element (ops_shape.c); and its naive twin. */
void nn_transpose(void *y, const void *x, size_t es, int ndim, const int64_t *shape, const int64_t *ostride);
void nn_transpose_naive(void *y, const void *x, size_t es, int ndim, const int64_t *shape, const int64_t *ostride);
/* The naive twin of a broadcast row of Add, Sub, Mul, Div (op 0 to 3) of
 * floats, a and b stepped by sa and sb (ops_elementwise.c). */
void nn_binary_row_naive(int op, float *o, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n);
/* Softmax (or log-softmax) of len elements stride apart (ops_norm.c); and
 * its naive twin in double precision. */
void nn_softmax_line(float *y, const float *x, int64_t len, int64_t stride, int log_softmax);
/* A LayerNormalization row's mean and 1 / sqrt(variance + eps) (population
 * variance, in double): what the forward and backward steps share. */
void nn_layer_norm_moments(const float *x, int64_t inner, double eps, double *mean, double *inv);
void nn_softmax_line_naive(float *y, const float *x, int64_t len, int64_t stride, int log_softmax);
void nn_gemm_rows(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
/* Einsum by the loop over every letter, whatever the equation. */
int nn_einsum_naive(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out);
void nn_conv_naive(float *y, const float *x, const float *w, const float *b, const nn_geometry *g,
                   int64_t M, int64_t groups);

/* Operator families, one file each. */
extern const op_def nn_ops_elementwise[], nn_ops_shape[], nn_ops_linear[], nn_ops_conv[],
                    nn_ops_pool[], nn_ops_norm[], nn_ops_logic[], nn_ops_reduce[], nn_ops_index[],
                    nn_ops_einsum[];

#endif
