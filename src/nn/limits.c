/*
 * limits.c — the one bound on what a model may make: every initializer,
 * input and node output is checked against a per-tensor byte limit before
 * it is allocated, so a crafted shape or padding is an error naming the
 * node, not gigabytes of memory and minutes of work.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/nn.h"
#include "nn_internal.h"

enum { DEFAULT_LIMIT_MB = 4096 };

/* BLAS takes sizes and leading dimensions as int: a float tensor past
 * INT_MAX elements could not be handed to it. */
static const size_t LIMIT_MAX = (size_t)INT_MAX * sizeof(float);

static size_t limit_bytes;   /* 0: not yet read from the environment */

static size_t clamp_limit(size_t bytes)
{
    return bytes > LIMIT_MAX ? LIMIT_MAX : bytes;
}

size_t nerve_nn_tensor_limit(void)
{
    if (limit_bytes == 0) {
        const char *env = getenv("NERVE_TENSOR_LIMIT_MB");
        char *end = NULL;
        unsigned long long mb = env ? strtoull(env, &end, 10) : 0;
        if (!env || end == env || *end || mb == 0 || mb > LIMIT_MAX >> 20)
            mb = DEFAULT_LIMIT_MB;
        limit_bytes = clamp_limit((size_t)mb << 20);
    }
    return limit_bytes;
}

void nerve_nn_set_tensor_limit(size_t bytes)
{
    limit_bytes = clamp_limit(bytes ? bytes : 1);
}

int nn_tensor_check(const char *where, const char *what, nerve_dtype dtype, int ndim, const int64_t *shape)
{
    char text[512];
    if (ndim < 0 || ndim > NERVE_MAX_DIMS)
        return nerve_error_set(NERVE_EINPUT, "%s: %s has %d dimensions (at most %d)", where, what, ndim,
                               NERVE_MAX_DIMS);
    nerve_shape_format(text, sizeof text, ndim, shape);
    /* Zeros count as ones: a (0, 2^40, 2^40) tensor holds nothing, but any
     * operator multiplying its other dimensions would overflow. */
    int64_t volume = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return nerve_error_set(NERVE_EINPUT, "%s: %s %s has a negative dimension", where, what, text);
        if (__builtin_mul_overflow(volume, shape[i] ? shape[i] : 1, &volume))
            return nerve_error_set(NERVE_EINPUT, "%s: %s %s: its dimensions multiply past int64 "
                                   "(overflow)", where, what, text);
    }
    size_t limit = nerve_nn_tensor_limit(), elem = (size_t)nerve_dtype_size(dtype), bytes;
    if (nerve_mul_size((size_t)volume, elem, &bytes) < 0 || bytes > limit)
        return nerve_error_set(NERVE_EINPUT, "%s: %s %s of %s would take %.4g GB, above the limit of "
                               "%zu bytes for one tensor (NERVE_TENSOR_LIMIT_MB raises it)", where, what,
                               text, nerve_dtype_name(dtype), (double)volume * (double)elem / 1e9, limit);
    return 0;
}

void nn_node_where(char *out, size_t cap, const op_context *c)
{
    snprintf(out, cap, "%s: node '%s' (%s)", c->model->path, c->node->name, c->node->op);
}

static int alloc_checked(const op_context *c, nerve_array *out, nerve_dtype dtype, int ndim,
                         const int64_t *shape, int zero)
{
    char where[1024];
    nn_node_where(where, sizeof where, c);
    int rc = nn_tensor_check(where, "output", dtype, ndim, shape);
    if (rc < 0)
        return rc;
    return zero ? nerve_array_alloc(out, dtype, ndim, shape) : nerve_array_alloc_raw(out, dtype, ndim, shape);
}

int nn_alloc(const op_context *c, nerve_array *out, nerve_dtype dtype, int ndim, const int64_t *shape)
{
    return alloc_checked(c, out, dtype, ndim, shape, 1);
}

int nn_alloc_raw(const op_context *c, nerve_array *out, nerve_dtype dtype, int ndim, const int64_t *shape)
{
    return alloc_checked(c, out, dtype, ndim, shape, 0);
}
