/*
 * array.c — n-dimensional arrays and float32 matrices, their storage (heap
 * or memory map) and overflow-checked size arithmetic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nerve/core.h"
#include "core_internal.h"
#include "nerve/internal/alloc.h"

int nerve_mul_size(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

int nerve_shape_count(int ndim, const int64_t *shape, int64_t *out)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n))
            return -1;
    }
    *out = n;
    return 0;
}

static int storage_alloc_any(nerve_storage *st, size_t len, int zero)
{
    /* aligned_alloc wants a multiple of the alignment; keep at least one
     * block so a 0-element array still has a valid, freeable pointer. */
    size_t rounded = (len + 63) & ~(size_t)63;
    if (rounded < len)
        return nerve_error_set(NERVE_ENOMEM, "allocation of %zu bytes overflows", len);
    if (rounded == 0)
        rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (!p)
        return nerve_error_set(NERVE_ENOMEM, "out of memory allocating %zu bytes", len);
    if (zero)
        memset(p, 0, rounded);
    st->base = p;
    st->len = len;
    st->kind = STORAGE_HEAP;
    return 0;
}

int storage_alloc(nerve_storage *st, size_t len)
{
    return storage_alloc_any(st, len, 1);
}

void nerve_storage_free(nerve_storage *st)
{
    if (st->kind == STORAGE_HEAP)
        free(st->base);
    else if (st->kind == STORAGE_MAP && st->len > 0)
        munmap(st->base, st->len);
    st->base = NULL;
    st->len = 0;
    st->kind = STORAGE_NONE;
}

const char *nerve_dtype_name(nerve_dtype t)
{
    static const char *names[] = {
        [NERVE_F32] = "float32", [NERVE_I64] = "int64",  [NERVE_F64] = "float64",
        [NERVE_F16] = "float16", [NERVE_I32] = "int32",  [NERVE_I16] = "int16",
        [NERVE_I8] = "int8",     [NERVE_U64] = "uint64", [NERVE_U32] = "uint32",
        [NERVE_U16] = "uint16",  [NERVE_U8] = "uint8",   [NERVE_BOOL] = "bool",
    };
    if ((unsigned)t >= sizeof names / sizeof names[0])
        return "?";
    return names[t];
}

int nerve_dtype_size(nerve_dtype t)
{
    switch (t) {
    case NERVE_F64: case NERVE_I64: case NERVE_U64: return 8;
    case NERVE_F32: case NERVE_I32: case NERVE_U32: return 4;
    case NERVE_F16: case NERVE_I16: case NERVE_U16: return 2;
    case NERVE_I8:  case NERVE_U8:  case NERVE_BOOL: return 1;
    }
    return 0;
}

int nerve_dtype_is_float(nerve_dtype t)
{
    return t == NERVE_F32 || t == NERVE_F64 || t == NERVE_F16;
}

static int array_alloc(nerve_array *a, nerve_dtype dtype, int ndim, const int64_t *shape, int zero)
{
    memset(a, 0, sizeof *a);
    if (dtype != NERVE_F32 && dtype != NERVE_I64 && dtype != NERVE_U8)
        return nerve_error_set(NERVE_EINTERNAL, "arrays in memory are float32, int64 or uint8, not %s",
                               nerve_dtype_name(dtype));
    if (ndim < 0 || ndim > NERVE_MAX_DIMS)
        return nerve_error_set(NERVE_EINPUT, "%d dimensions (at most %d)", ndim, NERVE_MAX_DIMS);
    int64_t count;
    size_t bytes;
    if (nerve_shape_count(ndim, shape, &count) < 0 ||
        nerve_mul_size((size_t)count, (size_t)nerve_dtype_size(dtype), &bytes) < 0)
        return nerve_error_set(NERVE_EINPUT, "array shape is negative or too large");
    int rc = storage_alloc_any(&a->storage, bytes, zero);
    if (rc < 0)
        return rc;
    a->dtype = dtype;
    a->ndim = ndim;
    if (ndim > 0)
        memcpy(a->shape, shape, (size_t)ndim * sizeof *shape);
    a->data = a->storage.base;
    return 0;
}

int nerve_array_alloc(nerve_array *a, nerve_dtype dtype, int ndim, const int64_t *shape)
{
    return array_alloc(a, dtype, ndim, shape, 1);
}

int nerve_array_alloc_raw(nerve_array *a, nerve_dtype dtype, int ndim, const int64_t *shape)
{
    return array_alloc(a, dtype, ndim, shape, 0);
}

void nerve_array_free(nerve_array *a)
{
    nerve_storage_free(&a->storage);
    memset(a, 0, sizeof *a);
}

int64_t nerve_array_count(const nerve_array *a)
{
    int64_t n = 0;
    nerve_shape_count(a->ndim, a->shape, &n);
    return n;
}

void nerve_shape_format(char *out, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(out, cap, "(");
    for (int i = 0; i < ndim && n < cap; i++) {
        const char *sep = i + 1 < ndim ? ", " : ndim == 1 ? "," : "";
        n += shape[i] < 0 ? (size_t)snprintf(out + n, cap - n, "?%s", sep)
                          : (size_t)snprintf(out + n, cap - n, "%lld%s", (long long)shape[i], sep);
    }
    if (n < cap)
        snprintf(out + n, cap - n, ")");
}

double *nerve_mat_centered(const nerve_mat *m, double *means)
{
    int64_t n = m->rows, d = m->cols;
    size_t count;
    if (nerve_size_mul(&count, (size_t)n, (size_t)d, "centred matrix") < 0)
        return NULL;
    double *x = nerve_alloc_array(count, sizeof *x, "centred matrix");
    double *mu = nerve_zalloc_array((size_t)d + 1, sizeof *mu, "column means");
    if (!x || !mu) {
        free(x);
        free(mu);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)   /* row by row: in memory order */
        for (int64_t j = 0; j < d; j++)
            mu[j] += m->data[i * d + j];
    for (int64_t j = 0; j < d; j++)
        mu[j] /= (double)n;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            x[i * d + j] = m->data[i * d + j] - mu[j];
    if (means)
        memcpy(means, mu, (size_t)d * sizeof *mu);
    free(mu);
    return x;
}

int nerve_mat_alloc(nerve_mat *m, int64_t rows, int64_t cols)
{
    memset(m, 0, sizeof *m);
    int64_t shape[2] = { rows, cols };
    nerve_array a;
    int rc = nerve_array_alloc(&a, NERVE_F32, 2, shape);
    if (rc < 0)
        return rc;
    return nerve_mat_from_array(m, &a);
}

void nerve_mat_free(nerve_mat *m)
{
    nerve_storage_free(&m->storage);
    memset(m, 0, sizeof *m);
}

int nerve_mat_from_array(nerve_mat *m, nerve_array *a)
{
    memset(m, 0, sizeof *m);
    if (a->dtype != NERVE_F32)
        return nerve_error_set(NERVE_EINTERNAL, "a matrix needs float32 data, not %s",
                               nerve_dtype_name(a->dtype));
    int64_t cols = 1;
    nerve_shape_count(a->ndim > 1 ? a->ndim - 1 : 0, a->shape + 1, &cols);
    m->rows = a->ndim == 0 ? 1 : a->shape[0];
    m->cols = cols;
    m->data = a->data;
    m->storage = a->storage;
    memset(a, 0, sizeof *a);
    return 0;
}

int nerve_mat_read_npy(nerve_mat *m, const char *path)
{
    nerve_array a;
    int rc = nerve_npy_read(&a, NULL, path, NERVE_F32);
    if (rc < 0) {
        memset(m, 0, sizeof *m);
        return rc;
    }
    return nerve_mat_from_array(m, &a);
}

int nerve_mat_write_npy(const char *path, const nerve_mat *m)
{
    nerve_array a = { .dtype = NERVE_F32, .ndim = 2, .shape = { m->rows, m->cols },
                      .data = m->data };
    return nerve_npy_write(path, &a);
}
