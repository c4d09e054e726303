/*
 * alloc.c — checked allocation of count x size bytes, and the growable
 * array built on it (nerve/internal/alloc.h). Every size computed from
 * input goes through nerve_size_mul before it reaches malloc, so a count
 * read from a file cannot wrap into a small block that is then overrun.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "nerve/core.h"
#include "nerve/internal/alloc.h"

void nerve_alloc_keep_heap(size_t bytes)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, (int)bytes);
    mallopt(M_TRIM_THRESHOLD, (int)(2 * bytes));
#else
    (void)bytes;
#endif
}

static int out_of_memory(size_t count, size_t size, const char *what)
{
    return nerve_error_set(NERVE_ENOMEM, "out of memory for %zu x %zu bytes of %s", count, size,
                           what ? what : "data");
}

int nerve_size_mul(size_t *out, size_t a, size_t b, const char *what)
{
    if (__builtin_mul_overflow(a, b, out))
        return nerve_error_set(NERVE_ENOMEM, "%zu x %zu bytes of %s overflow the address space",
                               a, b, what ? what : "data");
    return 0;
}

void *nerve_alloc_array(size_t count, size_t size, const char *what)
{
    size_t bytes;
    if (nerve_size_mul(&bytes, count, size, what) < 0)
        return NULL;
    void *p = malloc(bytes ? bytes : 1);   /* malloc(0) may be NULL: not an error here */
    if (!p)
        out_of_memory(count, size, what);
    return p;
}

void *nerve_zalloc_array(size_t count, size_t size, const char *what)
{
    size_t bytes;
    if (nerve_size_mul(&bytes, count, size, what) < 0)
        return NULL;
    void *p = calloc(bytes ? count : 1, bytes ? size : 1);
    if (!p)
        out_of_memory(count, size, what);
    return p;
}

void *nerve_realloc_array(void *p, size_t count, size_t size, const char *what)
{
    size_t bytes;
    if (nerve_size_mul(&bytes, count, size, what) < 0)
        return NULL;
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        out_of_memory(count, size, what);
    return q;
}

/* ---- the growable array ---------------------------------------------------- */

void nerve_vec_init(nerve_vec *v, size_t elem, const char *what)
{
    memset(v, 0, sizeof *v);
    v->elem = elem;
    v->what = what;
}

int nerve_vec_reserve(nerve_vec *v, size_t n)
{
    if (n <= v->cap)
        return 0;
    /* Doubling keeps n pushes O(n); the first block holds 16 elements so
     * small vectors do not start with a run of tiny reallocs. */
    size_t cap = v->cap ? v->cap : 16;
    while (cap < n)
        cap = cap > SIZE_MAX / 2 ? n : cap * 2;
    void *data = nerve_realloc_array(v->data, cap, v->elem, v->what);
    if (!data)
        return NERVE_ENOMEM;
    v->data = data;
    v->cap = cap;
    return 0;
}

void *nerve_vec_push(nerve_vec *v)
{
    if (v->len == SIZE_MAX) {
        out_of_memory(v->len, v->elem, v->what);
        return NULL;
    }
    if (nerve_vec_reserve(v, v->len + 1) < 0)
        return NULL;
    void *slot = (char *)v->data + v->len * v->elem;
    memset(slot, 0, v->elem);
    v->len++;
    return slot;
}

int nerve_vec_append(nerve_vec *v, const void *items, size_t n)
{
    if (n > SIZE_MAX - v->len)
        return out_of_memory(v->len, v->elem, v->what);
    int rc = nerve_vec_reserve(v, v->len + n);
    if (rc < 0)
        return rc;
    if (n)
        memcpy((char *)v->data + v->len * v->elem, items, n * v->elem);
    v->len += n;
    return 0;
}

void *nerve_vec_detach(nerve_vec *v, size_t *len)
{
    void *data = v->data;
    if (len)
        *len = v->len;
    v->data = NULL;
    v->len = v->cap = 0;
    return data;
}

void nerve_vec_free(nerve_vec *v)
{
    free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}
