/*
 * core_internal.h — pieces shared between the core room's files and not
 * part of the public API.
 */
#ifndef NERVE_CORE_INTERNAL_H
#define NERVE_CORE_INTERNAL_H

#include "nerve/core.h"

enum { STORAGE_NONE = 0, STORAGE_HEAP, STORAGE_MAP };

/* A zeroed, 64-byte aligned heap block of len bytes. */
int storage_alloc(nerve_storage *st, size_t len);

/* Formats a .npy header (magic to '\n') for a little-endian C-order array,
 * padded so the data starts on a 64-byte boundary and the header is at least
 * min_len bytes. Returns its length, or 0 if cap is too small. */
size_t npy_format_header(char *out, size_t cap, nerve_dtype dtype, int ndim,
                         const int64_t *shape, size_t min_len);

/* Rearranges a Fortran-order array of `shape` into C order (elements of
 * elem_size bytes). */
void fortran_to_c(void *dst, const void *src, int ndim, const int64_t *shape, size_t elem_size);

#endif
