/*
 * grad_moves.c — the backward step of every operator that only moves input
 * 0's elements (Transpose, Gather, Slice, Split, Expand, Tile, Pad, ...).
 * The operator runs once more on the elements' own numbers (int64, counted
 * from 1; padding is 0), which says where each output element came from;
 * an input element's gradient is the sum of the gradients of the output
 * elements it went to. One rule for all of them, right for repeated
 * indices, broadcasting, negative steps and mirrored padding alike.
 */
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "grad_internal.h"

/* The operator's inputs with input 0 replaced by its element numbers and,
 * for Pad, the constant by 0 (what no element is numbered). */
static int numbered_inputs(const grad_args *a, const nerve_array **in, nerve_array *numbers, nerve_array *zero)
{
    const nerve_array *x = a->in[0];
    int rc = nerve_array_alloc_raw(numbers, NERVE_I64, x->ndim, x->shape);
    if (rc < 0)
        return rc;
    int64_t *v = numbers->data;
    for (int64_t i = 0; i < nerve_array_count(x); i++)
        v[i] = i + 1;
    for (int i = 0; i < a->n_in; i++)
        in[i] = a->in[i];
    in[0] = numbers;
    if (strcmp(a->c->node->op, "Pad") != 0)
        return 0;
    if (a->c->opset < 11 && attr_float(a->c->node, "value", 0) != 0)
        return node_error(a->c, NERVE_EUNSUPPORTED, "gradients of Pad with a constant other than 0 before opset 11");
    if (a->n_in > 2 && in[2]) {
        if ((rc = nerve_array_alloc(zero, NERVE_I64, 0, NULL)) < 0)
            return rc;
        in[2] = zero;
    }
    return 0;
}

int nn_grad_by_index(const grad_args *a)
{
    if (!a->need[0] || !a->in[0])
        return 0;
    const nerve_array *in[NN_MAX_INPUTS];
    nerve_array numbers = { 0 }, zero = { 0 }, moved[NN_MAX_OUTPUTS];
    memset(moved, 0, sizeof moved);
    int n_out = a->n_out < NN_MAX_OUTPUTS ? a->n_out : NN_MAX_OUTPUTS;
    int rc = numbered_inputs(a, in, &numbers, &zero);
    if (rc == 0)
        rc = nn_op(nn_op_find(a->c->node->op))->run(a->c, in, a->n_in, moved, n_out);
    if (rc == 0)
        rc = nerve_array_alloc(&a->din[0], NERVE_F32, a->in[0]->ndim, a->in[0]->shape);   /* zeroed */
    for (int k = 0; rc == 0 && k < n_out; k++) {
        const nerve_array *dy = a->douts[k];
        if (!dy || !moved[k].data)
            continue;
        if (moved[k].dtype != NERVE_I64 || nerve_array_count(&moved[k]) != nerve_array_count(dy)) {
            rc = node_error(a->c, NERVE_EINTERNAL, "output %d moved no element numbers", k);
            break;
        }
        const int64_t *from = moved[k].data;
        const float *g = dy->data;
        float *dx = a->din[0].data;
        for (int64_t e = 0; e < nerve_array_count(dy); e++)
            if (from[e] > 0)
                dx[from[e] - 1] += g[e];
    }
    for (int k = 0; k < n_out; k++)
        nerve_array_free(&moved[k]);
    nerve_array_free(&numbers);
    nerve_array_free(&zero);
    return rc;
}
