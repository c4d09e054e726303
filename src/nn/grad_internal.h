/* grad_internal.h — what the backward pass's files share. */
#ifndef NERVE_GRAD_INTERNAL_H
#define NERVE_GRAD_INTERNAL_H

#include "nn_internal.h"

/* One node's backward step: din[i] is allocated and filled for every
 * input i with need[i] set. */
typedef struct grad_args {
    const op_context         *c;
    const nerve_array *const *in;
    int                       n_in;
    const nerve_array        *out;      /* the node's outputs */
    const nerve_array        *dout;     /* gradient of output 0 */
    const int                *need;
    nerve_array              *din;
    const nerve_array        *saved;    /* what the training forward kept (BN statistics, Dropout mask), or NULL */
    int                       n_out;
    const nerve_array *const *douts;    /* the gradient of each output (douts[0] is dout); NULL where none */
} grad_args;

typedef int (*grad_fn)(const grad_args *a);

/* Whether input i's gradient is asked for. */
static inline int want(const grad_args *a, int i)
{
    return i < a->n_in && a->need[i] && a->in[i];
}

/* A zeroed gradient of like's shape. */
static inline int alloc_like(nerve_array *out, const nerve_array *like)
{
    return nerve_array_alloc(out, NERVE_F32, like->ndim, like->shape);
}

/* The same for gradients every element of which is written: no zeroing. */
static inline int alloc_like_raw(nerve_array *out, const nerve_array *like)
{
    return nerve_array_alloc_raw(out, NERVE_F32, like->ndim, like->shape);
}

/* The backward step of an operator, or NULL. */
grad_fn nn_grad_find(const char *op);

/* grad_moves.c: operators that only move input 0's elements (Transpose,
 * Gather, Slice, Split, Expand, Tile, Pad), through every output. */
int nn_grad_by_index(const grad_args *a);

/* grad_math.c: the arithmetic, reductions, normalisation, Einsum and
 * MatMul of batches (any operand shapes). */
int nn_grad_matmul_batched(const grad_args *a);
int nn_grad_div(const grad_args *a);
int nn_grad_pow(const grad_args *a);
int nn_grad_where(const grad_args *a);
int nn_grad_cast(const grad_args *a);
int nn_grad_clip(const grad_args *a);
int nn_grad_reduce(const grad_args *a);
int nn_grad_layer_norm(const grad_args *a);
int nn_grad_einsum(const grad_args *a);

#endif /* NERVE_GRAD_INTERNAL_H */
