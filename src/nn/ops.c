/*
 * ops.c — the operator table: every family's operators in one searchable
 * list, and the list users see in errors and `nerve layers --ops`; and the
 * cache of what an operator derives from a node's constant inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

static const op_def *const families[] = {
    nn_ops_elementwise, nn_ops_shape, nn_ops_linear, nn_ops_conv, nn_ops_pool, nn_ops_norm,
    nn_ops_logic, nn_ops_reduce, nn_ops_index, nn_ops_einsum,
};
enum { FAMILIES = sizeof families / sizeof families[0] };

/* Indices are family * 64 + position: stable within one build. */
int nn_op_find(const char *op_type)
{
    for (int f = 0; f < FAMILIES; f++)
        for (int i = 0; families[f][i].name; i++)
            if (strcmp(families[f][i].name, op_type) == 0)
                return f * 64 + i;
    return -1;
}

const op_def *nn_op(int index)
{
    return &families[index / 64][index % 64];
}

/* The arity in force at the model's opset: before inputs_since the later
 * inputs were attributes. */
static void arity(const op_def *d, int64_t opset, int *min_in, int *max_in)
{
    int old = d->inputs_since && opset < d->inputs_since;
    *min_in = old && d->min_in > 1 ? 1 : d->min_in;
    *max_in = old ? 1 : d->max_in;
}

int nn_node_arity(const nerve_model *m, const nerve_node *n)
{
    const op_def *d = nn_op(n->op_index);
    int min_in, max_in;
    arity(d, m->opset, &min_in, &max_in);
    /* A variadic op (Concat) needs every input it lists. */
    int required = max_in == NN_MAX_INPUTS ? n->n_in : min_in;
    if (n->n_in < min_in || n->n_in > max_in)
        return nerve_error_set(NERVE_EINPUT, "%s: node '%s' (%s): has %d inputs; %s at opset %lld takes "
                               "%d to %d", m->path, n->name, n->op, n->n_in, n->op, (long long)m->opset,
                               min_in, max_in);
    for (int i = 0; i < required; i++)
        if (n->in[i] < 0)
            return nerve_error_set(NERVE_EINPUT, "%s: node '%s' (%s): input %d is missing (an empty "
                                   "name, but %s requires it)", m->path, n->name, n->op, i + 1, n->op);
    if (n->n_out < 1 || n->n_out > d->max_out)
        return nerve_error_set(NERVE_EINPUT, "%s: node '%s' (%s): has %d outputs; %s gives 1 to %d",
                               m->path, n->name, n->op, n->n_out, n->op, d->max_out);
    return 0;
}

int nn_outputs_made(const op_context *c, const nerve_array *out)
{
    const nerve_node *n = c->node;
    for (int i = 0; i < n->n_out; i++) {
        int v = n->out[i];
        if (v >= 0 && !out[i].data && c->model->values[v].last_use >= 0)
            return node_error(c, NERVE_EUNSUPPORTED, "output %d ('%s') is read by a later node or the "
                              "graph, but nerve's %s does not compute it here", i + 1,
                              c->model->values[v].name, n->op);
    }
    return 0;
}

const char *nerve_nn_supported_ops(void)
{
    static char list[4096];
    if (!list[0]) {
        size_t n = 0;
        for (int f = 0; f < FAMILIES; f++)
            for (int i = 0; families[f][i].name; i++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "",
                                      families[f][i].name);
    }
    return list;
}

/* ---- data derived from a node's constant inputs ------------------------- */

typedef struct derived_data {
    uint64_t version;   /* the model's weights_version it was made from */
    int64_t  count;
    float    data[];
} derived_data;

const float *nn_derived(const op_context *c, int64_t count, void (*make)(float *out, const void *arg),
                        const void *arg)
{
    void **slot = (void **)&((nerve_node *)c->node)->derived;   /* the node's one mutable part: a cache */
    uint64_t version = c->model->weights_version;
    derived_data *have = __atomic_load_n((derived_data **)slot, __ATOMIC_ACQUIRE);
    if (have && have->version == version && have->count == count)
        return have->data;
    size_t bytes;
    if (count < 0 || nerve_mul_size((size_t)count, sizeof(float), &bytes) < 0)
        return NULL;
    derived_data *made = malloc(sizeof *made + bytes);
    if (!made)
        return NULL;
    made->version = version;
    made->count = count;
    make(made->data, arg);
    if (__atomic_compare_exchange_n((derived_data **)slot, &have, made, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        free(have);   /* stale: weights change only where one thread runs the model */
        return made->data;
    }
    free(made);   /* another thread installed its own first */
    return have->version == version && have->count == count ? have->data : NULL;
}
