/*
 * nerve/nn.h — the nn room: ONNX models loaded into a graph nerve runs
 * itself (float32, NCHW), with every node output available as a tap.
 *
 *     nerve_model m;
 *     if ((rc = nerve_onnx_load(&m, "resnet18.onnx")) < 0) ... nerve_error() ...
 *     nerve_array x;                       // (N, 3, 224, 224) float32
 *     nerve_array y;
 *     rc = nerve_nn_run(&m, &x, 1, &y, 1, NULL);  // y = the first graph output
 *     nerve_array_free(&y);
 *     nerve_model_free(&m);
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
} nerve_model;

/* Loads an .onnx file (opsets 7 to 17). Errors name the file and the node. */
int  nerve_onnx_load(nerve_model *m, const char *path);
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
} nerve_tap_info;

/* Runs the model once on zeros of input_shape (for the first graph input;
 * NULL takes the declared shape with symbolic dimensions set to 1) and
 * describes every tap. *taps is malloc'd (free it) with *count entries. */
int nerve_nn_describe(nerve_model *m, int ndim, const int64_t *input_shape,
                      nerve_tap_info **taps, int *count);

/* Whether a node's output is one of the layers `--layers all` extracts:
 * activations, pools, concatenations and fully connected outputs. */
int nerve_nn_is_layer_op(const char *op);

#endif /* NERVE_NN_H */
