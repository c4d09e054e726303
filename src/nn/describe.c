/*
 * describe.c — the taps of a model and their shapes, found by running it
 * once on zeros: exact for any graph nerve can run, with no separate shape
 * inference to keep in step with the operators.
 */
#include <stdio.h>
#include <math.h>
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
            /* a mask beside token ids: the same batch */
            if (input_shape && rank > 0 && v->shape[0] < 0)
                shape[0] = input_shape[0];
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

/* The axis of `one` (batch 1) that is 2 in `two` (batch 2), every other
 * axis equal; -1 if there is none. */
static int doubled_axis(const nerve_tap_info *one, const nerve_tap_info *two)
{
    if (one->ndim != two->ndim)
        return -1;
    int axis = -1;
    for (int d = 0; d < one->ndim; d++) {
        if (one->shape[d] == two->shape[d])
            continue;
        if (axis >= 0 || one->shape[d] != 1 || two->shape[d] != 2)
            return -1;
        axis = d;
    }
    return axis;
}

/* A model that runs at batch 1 only: the first of axes 0 and 1 of size 1. */
static int axis_of_one(const nerve_tap_info *t)
{
    for (int d = 0; d < 2 && d < t->ndim; d++)
        if (t->shape[d] == 1)
            return d;
    return -1;
}

static int declared_fixed_batch(const nerve_model *m)
{
    const nerve_value *first = &m->values[m->inputs[0]];
    return first->ndim > 0 && first->shape[0] > 0 && first->shape[0] != 2;
}

/* The model described at a batch of 2: 0, NERVE_ENOMEM, or another error
 * when it cannot run so (an export that baked batch 1 into its reshapes). */
static int describe_at_two(nerve_model *m, int ndim, const int64_t *input_shape, nerve_tap_info **two, int *n_two)
{
    int64_t shape[NERVE_MAX_DIMS];
    memcpy(shape, input_shape, (size_t)ndim * sizeof *shape);
    shape[0] = 2;
    return nerve_nn_describe(m, ndim, shape, two, n_two);
}

int nerve_nn_runs_batched(nerve_model *m, int ndim, const int64_t *input_shape)
{
    if (ndim < 1 || declared_fixed_batch(m))
        return 0;
    nerve_tap_info *two = NULL;
    int n_two = 0, rc = describe_at_two(m, ndim, input_shape, &two, &n_two);
    free(two);
    return rc == NERVE_ENOMEM ? rc : rc == 0;
}

int nerve_nn_describe_batched(nerve_model *m, int ndim, const int64_t *input_shape,
                              nerve_tap_info **taps, int *count)
{
    int rc = nerve_nn_describe(m, ndim, input_shape, taps, count);
    if (rc < 0 || ndim < 1 || input_shape[0] != 1)
        return rc;
    int fixed = declared_fixed_batch(m);
    nerve_tap_info *two = NULL;
    int n_two = 0;
    if (!fixed) {
        /* A failure here reads as a fixed batch; running out of memory is not that. */
        int rc2 = describe_at_two(m, ndim, input_shape, &two, &n_two);
        if (rc2 == NERVE_ENOMEM) {
            free(*taps);
            *taps = NULL;
            *count = 0;
            return rc2;
        }
        fixed = rc2 < 0;
    }
    for (int i = 0; i < *count; i++)
        (*taps)[i].batch_axis = fixed ? axis_of_one(&(*taps)[i])
                              : i < n_two && two[i].value == (*taps)[i].value ? doubled_axis(&(*taps)[i], &two[i])
                                                                              : -1;
    free(two);
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

int nerve_nn_tap_is_tokens(const nerve_model *m, const nerve_tap_info *t)
{
    int input_rank = m->n_inputs > 0 ? m->values[m->inputs[0]].ndim : -1;
    return t->ndim == 3 && input_rank != 3;
}

void nerve_nn_token_grid(int64_t T, int64_t *prefix, int64_t *h, int64_t *w)
{
    *prefix = 0;
    *h = 1;
    *w = T;
    for (int64_t k = 1; k >= 0; k--) {
        int64_t g = (int64_t)lrint(sqrt((double)(T - k)));
        if (T - k >= 4 && g * g == T - k) {
            *prefix = k;
            *h = *w = g;
            return;
        }
    }
}

/* Whether a module name is numbered: "encoder_layer_3", "layers.1", "features.4". */
static int numbered(const char *s, size_t n)
{
    size_t digits = 0;
    while (digits < n && s[n - 1 - digits] >= '0' && s[n - 1 - digits] <= '9')
        digits++;
    return digits > 0 && digits < n && (s[n - 1 - digits] == '.' || s[n - 1 - digits] == '_');
}

int nerve_nn_block_of(const char *node_name, char *out, size_t cap)
{
    out[0] = '\0';
    if (node_name[0] != '/')
        return 0;
    /* every component but the last (the node's own name) is a module */
    for (const char *p = node_name + 1, *slash; (slash = strchr(p, '/')); p = slash + 1)
        if (numbered(p, (size_t)(slash - p))) {
            size_t n = (size_t)(slash - node_name);
            if (n >= cap)
                return 0;
            memcpy(out, node_name, n);
            out[n] = '\0';
            return 1;
        }
    return 0;
}

void nerve_nn_block_outputs(const nerve_model *m, const nerve_tap_info *taps, int count, int *is_output)
{
    /* From the end: a tap is its block's output if no later tap was in it. */
    enum { SEEN = 256 };
    char seen[SEEN][160], mine[160];
    int n_seen = 0;
    for (int i = count - 1; i >= 0; i--) {
        is_output[i] = 0;
        if (!nerve_nn_block_of(m->nodes[taps[i].node].name, mine, sizeof mine))
            continue;
        int known = 0;
        for (int k = n_seen - 1; k >= 0 && !known; k--)
            known = strcmp(seen[k], mine) == 0;
        if (known || n_seen == SEEN)
            continue;
        memcpy(seen[n_seen++], mine, sizeof mine);
        is_output[i] = 1;
    }
}

int nerve_nn_block_rows(const nerve_model *m, const nerve_tap_info *taps, int count, nerve_block_row **rows,
                        int *n_rows)
{
    *n_rows = 0;
    *rows = calloc((size_t)count + 1, sizeof **rows);
    int *is_output = malloc(((size_t)count + 1) * sizeof *is_output);
    char (*block)[160] = malloc(((size_t)count + 1) * sizeof *block);
    if (!*rows || !is_output || !block) {
        free(*rows);
        free(is_output);
        free(block);
        *rows = NULL;
        return nerve_error_set(NERVE_ENOMEM, "out of memory outlining %s", m->path);
    }
    nerve_nn_block_outputs(m, taps, count, is_output);
    for (int i = 0; i < count; i++)
        nerve_nn_block_of(m->nodes[taps[i].node].name, block[i], sizeof block[i]);
    for (int i = 0; i < count; i++) {
        nerve_block_row *r = &(*rows)[*n_rows];
        if (!block[i][0] && strcmp(m->nodes[taps[i].node].op, "Constant") != 0) {
            *r = (nerve_block_row){ .tap = i, .n_taps = 1, .params = taps[i].params };
            (*n_rows)++;
        } else if (block[i][0] && is_output[i]) {
            *r = (nerve_block_row){ .tap = i };
            memcpy(r->block, block[i], sizeof r->block);
            for (int j = 0; j <= i; j++)
                if (strcmp(block[j], block[i]) == 0) {
                    r->n_taps++;
                    r->params += taps[j].params;
                }
            (*n_rows)++;
        }
    }
    free(is_output);
    free(block);
    return 0;
}
