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

/* The backward step of an operator, or NULL. */
grad_fn nn_grad_find(const char *op);

/* grad_moves.c: operators that only move input 0's elements (Transpose,
 * Gather, Slice, Split, Expand, Tile, Pad), through every output. */
int nn_grad_by_index(const grad_args *a);

/* grad_math.c: MatMul of batches (any operand shapes), and the lookup of
 * the arithmetic, reductions and normalisation there. */
int     nn_grad_matmul_batched(const grad_args *a);
grad_fn nn_grad_math_find(const char *op);

#endif /* NERVE_GRAD_INTERNAL_H */
