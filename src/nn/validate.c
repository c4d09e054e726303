/*
 * validate.c — the graph checked once after loading, so operators can trust
 * what the graph alone shows: each node's inputs against its operator's
 * arity (an empty name only where ONNX allows an omitted input), then the
 * operator's own check of its attributes against the inputs whose values
 * are known before any run (initializers and Constant nodes).
 */
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

/* The tensor a value holds before any run, or NULL if a node computes it. */
static const nerve_array *known_value(const nerve_model *m, int v)
{
    if (v < 0)
        return NULL;
    const nerve_value *value = &m->values[v];
    if (value->constant)
        return &value->data;
    if (value->producer < 0)
        return NULL;
    const nerve_node *p = &m->nodes[value->producer];
    if (strcmp(p->op, "Constant") == 0 && p->n_attr > 0 && p->attr[0].type == NERVE_ATTR_TENSOR)
        return &p->attr[0].tensor;
    return NULL;
}

static int validate_node(const nerve_model *m, const nerve_node *n)
{
    int rc = nn_node_arity(m, n);
    const op_def *d = nn_op(n->op_index);
    if (rc < 0 || !d->check)
        return rc;
    const nerve_array *known[NN_MAX_INPUTS];
    for (int i = 0; i < n->n_in; i++)
        known[i] = known_value(m, n->in[i]);
    op_context c = { m, n, m->opset, NULL };
    return d->check(&c, known, n->n_in);
}

int nn_graph_validate(const nerve_model *m)
{
    for (int k = 0; k < m->n_nodes; k++) {
        int rc = validate_node(m, &m->nodes[k]);
        if (rc < 0)
            return rc;
    }
    return 0;
}
