/*
 * nerve/nn.h — the nn room: ONNX models loaded into a graph nerve runs
 * itself (float32, NCHW), with every node output available as a tap.
 *
 *     nerve_model m;
 *     int rc = nerve_onnx_load(&m, "model.onnx");      // validated once loaded
 *     if (rc < 0) {
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *         return nerve_exit_status(rc);
 *     }
 *     nerve_array x = { 0 }, y = { 0 };
 *     const int64_t shape[] = { 2, 1, 28, 28 };        // (N, C, H, W), as the model expects
 *     rc = nerve_array_alloc(&x, NERVE_F32, 4, shape); // zeros
 *     if (rc == 0)
 *         rc = nerve_nn_run(&m, &x, 1, &y, 1, NULL);   // y: the first graph output
 *     if (rc == 0)
 *         printf("output (%lld, %lld)\n", (long long)y.shape[0], (long long)y.shape[1]);
 *     else
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *     nerve_array_free(&x);
 *     nerve_array_free(&y);
 *     nerve_model_free(&m);
 *     if (rc < 0)
 *         return nerve_exit_status(rc);
 *
 * A model is a list of values (named tensors: graph inputs, initializers,
 * node outputs) and of nodes in execution order. Running it with taps calls
 * back with each tapped value as soon as it is computed; intermediate
 * tensors are freed once no later node or tap needs them.
 */
#ifndef NERVE_NN_H
#define NERVE_NN_H

#include "nerve/core.h"

/* An attribute of a node, copied out of the protobuf. */
typedef enum nerve_attr_type {
    NERVE_ATTR_FLOAT = 1, NERVE_ATTR_INT, NERVE_ATTR_STRING, NERVE_ATTR_TENSOR,
    NERVE_ATTR_FLOATS, NERVE_ATTR_INTS, NERVE_ATTR_OTHER,
} nerve_attr_type;

typedef struct nerve_attr {
    char           *name;
    nerve_attr_type type;
    float           f;
    int64_t         i;
    char           *s;
    int64_t         count;      /* elements of floats or ints */
    float          *floats;
    int64_t        *ints;
    nerve_array     tensor;
} nerve_attr;

typedef struct nerve_node {
    char       *name;           /* the node's name, or its first output's if unnamed */
    char       *op;             /* op_type, e.g. "Conv" */
    int         op_index;       /* into the operator table */
    int         n_in, n_out;
    int        *in, *out;       /* value indices; -1 for an omitted optional input */
    int         n_attr;
    nerve_attr *attr;
    void       *derived;        /* what an operator derives once from its constant inputs (Conv's Winograd
                                   weights), made on first run; freed with the model */
} nerve_node;

typedef struct nerve_value {
    char       *name;
    int         constant;       /* an initializer: data holds it */
    int         producer;       /* node index, or -1 for inputs and constants */
    int         last_use;       /* last node reading it (-1: none) */
    int         elem_type;      /* ONNX TensorProto.DataType declared for inputs, else 0 */
    int         ndim;           /* declared rank of a graph input, -1 if unknown */
    int64_t     shape[NERVE_MAX_DIMS];  /* declared dims, -1 where symbolic */
    nerve_array data;
} nerve_value;

typedef struct nerve_model {
    char        *path;
    int64_t      opset;         /* of the default ONNX domain */
    int64_t      ir_version;
    char        *producer;
    int          n_values;
    nerve_value *values;
    int          n_nodes;
    nerve_node  *nodes;         /* in execution (topological) order */
    int          n_inputs, n_outputs;
    int         *inputs;        /* graph inputs that are not initializers */
    int         *outputs;
    uint64_t     weights_version; /* moved by whatever changes the initializers (training), so that what
                                     nodes derived from them is made again */
} nerve_model;

/* Loads an .onnx file (opsets 7 to 17), weights kept in external data
 * files (models past protobuf's 2 GB) read from the model's folder, which
 * their paths may not leave. Errors name the file and the node.
 * The graph is checked once here (every input defined or explicitly
 * omitted where the operator allows it, attribute values in range, Conv
 * kernels against their weights, shapes within the tensor limit), so a
 * hostile model is refused with NERVE_EINPUT rather than run. */
int  nerve_onnx_load(nerve_model *m, const char *path);
/* The same from len bytes of a serialized ModelProto (the caller keeps
 * data); label stands for the file name in errors and in m->path. External
 * data is refused: there is no folder to read it from. */
int  nerve_onnx_load_memory(nerve_model *m, const void *data, size_t len, const char *label);
void nerve_model_free(nerve_model *m);

/* Reads a serialized TensorProto (the .pb files of ONNX's test data). */
int nerve_onnx_tensor_read(nerve_array *out, const char *path);

/* Called with each tapped value as it is computed; a negative return stops
 * the run with that code. */
typedef int (*nerve_tap_fn)(void *ctx, const nerve_model *m, int value, const nerve_array *t);

typedef struct nerve_run_options {
    const int   *taps;          /* value indices to report */
    int          n_taps;
    nerve_tap_fn on_tap;
    void        *ctx;
} nerve_run_options;

/* Runs the model on its graph inputs (in m->inputs order) and returns the
 * first n_outputs graph outputs in outputs (the caller frees them). opts may
 * be NULL. Inputs are not modified. */
int nerve_nn_run(nerve_model *m, const nerve_array *inputs, int n_inputs,
                 nerve_array *outputs, int n_outputs, const nerve_run_options *opts);

/* The largest tensor, in bytes, that loading or running a model may make:
 * any initializer, input or node output whose shape asks for more is
 * refused with an error naming the node, the shape and the limit. The
 * default, 4 GiB (or $NERVE_TENSOR_LIMIT_MB), is far above what real models
 * make at nerve's batch sizes and far below what would exhaust the machine.
 * The setter clamps to what BLAS's int sizes can address (8 GiB); it is
 * process-wide (set it before running models on other threads). */
size_t nerve_nn_tensor_limit(void);
void   nerve_nn_set_tensor_limit(size_t bytes);

/* The operators nerve runs, as a comma-separated list. */
const char *nerve_nn_supported_ops(void);

/* Number of parameters (initializer elements) a node reads. */
int64_t nerve_node_param_count(const nerve_model *m, const nerve_node *n);

/* What one tap (a node output) looks like for a given input shape. */
typedef struct nerve_tap_info {
    int     value;              /* index into m->values */
    int     node;               /* the node that computes it */
    int     ndim;
    int64_t shape[NERVE_MAX_DIMS];
    int64_t params;             /* parameters of that node */
    int     batch_axis;         /* the axis that runs over a batch's inputs: 0, or 1 where a
                                   sequence model works in (T, N, C) as nn.MultiheadAttention
                                   does inside; -1 when no axis does (a Gemm over (T*N, C));
                                   set by nerve_nn_describe_batched, 0 by nerve_nn_describe */
} nerve_tap_info;

/* Runs the model once on zeros of input_shape (for the first graph input;
 * NULL takes the declared shape with symbolic dimensions set to 1) and
 * describes every tap. *taps is malloc'd (free it) with *count entries. */
int nerve_nn_describe(nerve_model *m, int ndim, const int64_t *input_shape,
                      nerve_tap_info **taps, int *count);

/* nerve_nn_describe at input_shape (its first axis the batch) and, to find
 * each tap's batch axis, again at a batch of 2: the axis that doubled
 * (and no other changed). A model whose inputs are declared with a fixed
 * batch, or whose reshapes bake batch 1 in, cannot run at 2: then the
 * first of axes 0 and 1 of size 1 is taken as the batch. Later inputs whose first axis is symbolic take the batch
 * size too (an attention mask beside token ids). */
int nerve_nn_describe_batched(nerve_model *m, int ndim, const int64_t *input_shape,
                              nerve_tap_info **taps, int *count);

/* Whether a tap is a sequence of tokens, (N, T, C) or (T, N, C) by its
 * batch axis: a rank-3 output of a model whose first input is not rank 3
 * (ViTs take images, text encoders token ids; a model of 1-D signals, whose
 * (N, C, L) is a conv map, takes rank 3). */
int nerve_nn_tap_is_tokens(const nerve_model *m, const nerve_tap_info *t);

/* Where T tokens lie: a ViT's patch tokens (T = g * g, after one class
 * token or none) on their g x g grid (*prefix the tokens before it), other
 * sequences as a 1 x T row (*prefix 0). */
void nerve_nn_token_grid(int64_t T, int64_t *prefix, int64_t *h, int64_t *w);

/* 1 when the model runs at a batch of 2 (input_shape's first axis is
 * replaced), 0 when its first input is declared with another fixed batch
 * or its reshapes bake batch 1 in, NERVE_ENOMEM when trying ran out. */
int nerve_nn_runs_batched(nerve_model *m, int ndim, const int64_t *input_shape);

/* The block a node belongs to, from the module path torch.onnx.export
 * writes into node names: the path up to its first numbered module
 * ("/encoder/layers/encoder_layer_3/mlp/mlp.0/MatMul" ->
 * "/encoder/layers/encoder_layer_3", "/layers.1/self_attn/Softmax" ->
 * "/layers.1", "/features/features.4/features.4.0/Conv" -> "/features/features.4").
 * 0 and "" for a node outside any block. */
int nerve_nn_block_of(const char *node_name, char *out, size_t cap);
/* For each tap, whether it is its block's output: the last tap (in
 * execution order) of a node in the block (the residual Add of a ViT
 * layer, a post-norm encoder layer's LayerNormalization). is_output has
 * count entries. */
void nerve_nn_block_outputs(const nerve_model *m, const nerve_tap_info *taps, int count, int *is_output);

/* A line of a model's outline (nerve layers without --all): a block, shown
 * by its output tap, or a tap outside any block (constants left out). */
typedef struct nerve_block_row {
    int     tap;                /* index into the taps: the block's output, or the tap */
    int     n_taps;             /* taps in the block (1 outside) */
    int64_t params;             /* parameters of the block's nodes */
    char    block[160];         /* the block (nerve_nn_block_of), "" outside */
} nerve_block_row;

/* The outline of a model's taps, in execution order; *rows is malloc'd
 * (free it) with *n_rows entries. */
int nerve_nn_block_rows(const nerve_model *m, const nerve_tap_info *taps, int count, nerve_block_row **rows,
                        int *n_rows);

/* Whether a node's output is one of the layers `--layers all` extracts:
 * activations, pools, concatenations and fully connected outputs. */
int nerve_nn_is_layer_op(const char *op);

/* ------------------------------------------------------------------------ */
/* Gradients                                                                */
/* ------------------------------------------------------------------------ */

/* A tape: one forward pass with every tensor kept, then gradients by
 * reverse mode. In training mode BatchNormalization normalises with the
 * batch's statistics (and moves the model's running ones) and Dropout
 * drops (masks seeded by (seed, step, node)).
 *
 *     nerve_tape t;
 *     nerve_tape_init(&t, &model, 1, seed);
 *     nerve_tape_forward(&t, &x, 1);             // t.val[v]: every value's tensor
 *     nerve_nn_cross_entropy(&loss, &dlogits, NULL, t.val[out], labels);
 *     nerve_tape_backward(&t, out, &dlogits);    // t.grad[p]: each parameter's gradient
 *     nerve_tape_free(&t);
 *
 * Operators with gradients: Conv (2-D), Gemm, MatMul (by a matrix), Relu,
 * LeakyRelu, Sigmoid, Tanh, MaxPool, AveragePool (2-D), GlobalAveragePool,
 * GlobalMaxPool, BatchNormalization, Add, Sub, Mul (broadcasting), Concat,
 * Flatten, Reshape, Squeeze, Unsqueeze, Dropout, Identity, LRN, Softmax,
 * LogSoftmax. */
typedef struct nerve_tape {
    nerve_model        *m;
    const nerve_array **val;     /* per value: its tensor after the forward pass */
    nerve_array        *owned;   /* per value: the tensors the pass computed */
    nerve_array        *grad;    /* per value: its gradient after the backward pass */
    nerve_array        *saved;   /* per node: what training mode keeps for the backward step */
    int                 training;
    int                 input_grads;   /* also the graph inputs' gradients (off by default) */
    int                 frozen;        /* no gradients for initializers (only the inputs' matter) */
    int                 last_node;     /* forward runs nodes 0..last_node only; 0: every node */
    int                 redirect_relu; /* Lucid's redirected ReLU gradient (feature visualisation) */
    uint64_t            seed, step;
} nerve_tape;

int  nerve_tape_init(nerve_tape *t, nerve_model *m, int training, uint64_t seed);
int  nerve_tape_forward(nerve_tape *t, const nerve_array *inputs, int n_inputs);
/* Gradients of sum(dvalue * value) for every float value it depends on. */
int  nerve_tape_backward(nerve_tape *t, int value, const nerve_array *dvalue);
void nerve_tape_clear(nerve_tape *t);
void nerve_tape_free(nerve_tape *t);

/* Softmax cross-entropy of (N, K) logits against labels: the mean loss,
 * its gradient (may be NULL) and the count of correct argmaxes (may be NULL). */
int nerve_nn_cross_entropy(double *loss, nerve_array *dlogits, int64_t *correct, const nerve_array *logits,
                           const int64_t *labels);

/* ------------------------------------------------------------------------ */
/* Writing ONNX, built-in architectures, training                           */
/* ------------------------------------------------------------------------ */

/* Writes the model as ONNX (IR 8, the model's opset, initializers as raw
 * data), atomically. */
int nerve_onnx_write(const nerve_model *m, const char *path, const char *graph_name);

typedef enum nerve_arch {
    NERVE_ARCH_CNN_SMALL = 0,   /* conv-bn-relu-pool x2, conv-relu, global average pool, fc-relu, fc */
    NERVE_ARCH_MLP,             /* 784-256-128-10 with ReLUs */
    NERVE_ARCH_RESNET_MINI,     /* a stem and three residual blocks (32, 64, 128 channels) */
} nerve_arch;

extern const char NERVE_ARCH_NAMES[];      /* "cnn-small, mlp, resnet-mini" */
extern const char NERVE_DATASET_NAMES[];   /* "fashion-mnist" */
const char *nerve_arch_name(nerve_arch a);
int         nerve_arch_parse(const char *s, nerve_arch *a);
/* An untrained model for (N, 1, 28, 28) inputs, PyTorch's default
 * initialisation from the seed; *params (malloc'd, n_params) lists the
 * trainable values. */
int nerve_arch_build(nerve_model *m, nerve_arch arch, uint64_t seed, int **params, int *n_params);

typedef enum nerve_optimizer { NERVE_OPT_ADAM = 0, NERVE_OPT_SGD } nerve_optimizer;
typedef enum nerve_schedule { NERVE_SCHEDULE_COSINE = 0, NERVE_SCHEDULE_CONSTANT } nerve_schedule;

enum { NERVE_TRAIN_MAX_EPOCHS = 100 };

typedef struct nerve_train_result {
    int     epochs;                                  /* completed */
    int64_t steps, checkpoints_written;
    double  learning_rate;
    double  loss[NERVE_TRAIN_MAX_EPOCHS];            /* mean training loss per epoch */
    double  train_accuracy[NERVE_TRAIN_MAX_EPOCHS];
    double  test_accuracy[NERVE_TRAIN_MAX_EPOCHS];
    double  seconds[NERVE_TRAIN_MAX_EPOCHS];         /* training time per epoch (no evaluation) */
} nerve_train_result;

typedef struct nerve_train_options {
    nerve_arch      arch;
    const char     *dataset;       /* "fashion-mnist" */
    nerve_optimizer optimizer;
    int64_t         epochs, batch;
    double          lr;            /* 0: 3e-3 for Adam, 3e-2 for SGD */
    nerve_schedule  schedule;      /* cosine decay to 0 over training (default), or constant */
    double          momentum;      /* SGD */
    uint64_t        seed;
    int64_t         limit;         /* train on the first N images only; 0: all */
    const double   *checkpoints;   /* fractions of training in [0, 1] */
    int             n_checkpoints;
    const char     *out;           /* the model's .onnx */
    void          (*on_epoch)(void *ctx, int epoch, const nerve_train_result *r);
    void           *ctx;
} nerve_train_options;

void nerve_train_defaults(nerve_train_options *o);
/* Trains, evaluating on the test split after each epoch; writes o->out and
 * the checkpoints (nerve_checkpoint_path). */
int  nerve_train(const nerve_train_options *o, nerve_train_result *r);
/* The share of a dataset split a model classifies correctly. */
int  nerve_nn_accuracy(double *accuracy, nerve_model *m, const char *dataset, const char *split);
/* "<model without .onnx>.ckpt<percent>.onnx" into out; NERVE_EINPUT
 * naming the path when it does not fit in cap bytes. */
int  nerve_checkpoint_path(char *out, size_t cap, const char *model_path, double fraction);

#endif /* NERVE_NN_H */
