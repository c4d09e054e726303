/*
 * describe.c — the taps of a model and their shapes, found by running it
 * once on zeros: exact for any graph nerve can run, with no separate shape
 * inference to keep in step with the operators.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

typedef struct collect {
    nerve_tap_info *taps;
    int count;
} collect;

static int record(void *ctx, const nerve_model *m, int value, const nerve_array *t)
{
    collect *c = ctx;
    nerve_tap_info *info = &c->taps[c->count++];
    info->value = value;
    info->node = m->values[value].producer;
    info->ndim = t->ndim;
    memcpy(info->shape, t->shape, sizeof info->shape);
    info->params = nerve_node_param_count(m, &m->nodes[info->node]);
    return 0;
}

/* Zeros for each graph input: the first takes input_shape if given. */
static int make_inputs(nerve_model *m, int ndim, const int64_t *input_shape, nerve_array *in)
{
    for (int i = 0; i < m->n_inputs; i++) {
        const nerve_value *v = &m->values[m->inputs[i]];
        int64_t shape[NERVE_MAX_DIMS];
        int rank = v->ndim;
        if (i == 0 && input_shape) {
            rank = ndim;
            memcpy(shape, input_shape, (size_t)ndim * sizeof *shape);
        } else if (rank < 0) {
            return nerve_error_set(NERVE_EINPUT, "%s: input '%s' has no declared shape; give one "
                                   "with --input-shape", m->path, v->name);
        } else {
            for (int d = 0; d < rank; d++)
                shape[d] = v->shape[d] < 0 ? 1 : v->shape[d];
        }
        int is_int = nn_elem_type_is_int(v->elem_type);
        char what[300];
        snprintf(what, sizeof what, "input '%s'", v->name);
        int rc = nn_tensor_check(m->path, what, is_int ? NERVE_I64 : NERVE_F32, rank, shape);
        if (rc < 0)
            return rc;
        rc = nerve_array_alloc(&in[i], is_int ? NERVE_I64 : NERVE_F32, rank, shape);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int nerve_nn_describe(nerve_model *m, int ndim, const int64_t *input_shape,
                      nerve_tap_info **taps, int *count)
{
    *taps = NULL;
    *count = 0;
    if (m->n_inputs < 1)
        return nerve_error_set(NERVE_EINPUT, "%s: the model has no inputs", m->path);
    nerve_array *in = calloc((size_t)m->n_inputs, sizeof *in);
    int *all = malloc(((size_t)m->n_values + 1) * sizeof *all);
    collect c = { calloc((size_t)m->n_values + 1, sizeof *c.taps), 0 };
    int rc = in && all && c.taps ? 0 : nerve_error_set(NERVE_ENOMEM, "out of memory");
    int n_taps = 0;
    for (int v = 0; rc == 0 && v < m->n_values; v++)
        if (m->values[v].producer >= 0)
            all[n_taps++] = v;
    if (rc == 0)
        rc = make_inputs(m, ndim, input_shape, in);
    if (rc == 0) {
        nerve_run_options opts = { all, n_taps, record, &c };
        rc = nerve_nn_run(m, in, m->n_inputs, NULL, 0, &opts);
    }
    for (int i = 0; in && i < m->n_inputs; i++)
        nerve_array_free(&in[i]);
    free(in);
    free(all);
    if (rc < 0) {
        free(c.taps);
        return rc;
    }
    *taps = c.taps;
    *count = c.count;
    return 0;
}

int nerve_nn_is_layer_op(const char *op)
{
    static const char *ops[] = {
        "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "MaxPool", "AveragePool",
        "GlobalAveragePool", "GlobalMaxPool", "Concat", "Gemm",
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strcmp(op, ops[i]) == 0)
            return 1;
    return 0;
}
