/*
 * nerve/internal/alloc.h — checked allocation, a growable array and a
 * bounded heap, for every room of the library (core implements them).
 *
 * Not part of the public API: a library user includes nerve/<room>.h; the
 * rooms include this for sizes computed from input. Each allocation names
 * what it holds, so running out of memory (or a count x size that does not
 * fit in size_t) reads "out of memory for 3000000000 x 8 bytes of kNN
 * distances" rather than a bare "out of memory".
 */
#ifndef NERVE_INTERNAL_ALLOC_H
#define NERVE_INTERNAL_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* ---- checked allocation ----------------------------------------------------
 * On failure these return -1 or NULL after nerve_error_set(NERVE_ENOMEM,
 * "out of memory for <count> x <size> bytes of <what>"): `what` says what was
 * being allocated ("Mapper edges", "IDX payload"). */

/* *out = a * b; 0, or NERVE_ENOMEM if the product overflows size_t. */
int   nerve_size_mul(size_t *out, size_t a, size_t b, const char *what);
/* malloc(count * size), uninitialised; free with free(). count = 0 gives
 * a freeable non-NULL pointer. */
void *nerve_alloc_array(size_t count, size_t size, const char *what);
/* The same, zeroed (calloc). */
void *nerve_zalloc_array(size_t count, size_t size, const char *what);
/* realloc(p, count * size); on failure p is untouched (still owned by the
 * caller) and NULL is returned. */
void *nerve_realloc_array(void *p, size_t count, size_t size, const char *what);

/* ---- a growable array ------------------------------------------------------
 * Elements of a fixed size, appended with amortised doubling:
 *
 *     nerve_vec edges;
 *     nerve_vec_init(&edges, sizeof(edge), "Mapper edges");
 *     edge *e = nerve_vec_push(&edges);        // NULL: out of memory
 *     ...  ((edge *)edges.data)[i]  ...
 *     nerve_vec_free(&edges);
 *
 * The caller owns the struct; data belongs to the vector until
 * nerve_vec_detach hands it over (then free() it). */
typedef struct nerve_vec {
    void       *data;      /* len elements of elem bytes, room for cap */
    size_t      len, cap, elem;
    const char *what;      /* names the elements in errors */
} nerve_vec;

void  nerve_vec_init(nerve_vec *v, size_t elem, const char *what);
/* Room for at least n elements in all; 0 or NERVE_ENOMEM. */
int   nerve_vec_reserve(nerve_vec *v, size_t n);
/* Appends one zeroed element and returns it; NULL when out of memory. */
void *nerve_vec_push(nerve_vec *v);
/* Appends n elements copied from items; 0 or NERVE_ENOMEM. */
int   nerve_vec_append(nerve_vec *v, const void *items, size_t n);
/* Hands the elements over (free() them; NULL if none) and empties v. */
void *nerve_vec_detach(nerve_vec *v, size_t *len);
void  nerve_vec_free(nerve_vec *v);

/* Freed blocks up to `bytes` stay in the heap for the next allocation
 * rather than going back to the system (glibc's mmap and trim thresholds;
 * elsewhere nothing). For loops that free and re-allocate the same large
 * tensors every step (training, feature visualisation, extraction's
 * batches): a block mapped afresh has every page cleared by the kernel on
 * first touch, and those faults were most of a small model's extraction.
 * Process-wide, the last call's value holds. */
void  nerve_alloc_keep_heap(size_t bytes);

/* ---- a bounded heap: the k best (key, id) pairs -----------------------------
 * Keeps the k smallest keys seen, ties broken by the smaller id so the
 * result never depends on the order of the pushes (kNN, candidates); a NaN
 * key ranks after every number. A max-heap with the worst kept pair on
 * top, over arrays the caller owns (say one row of an n x k table), so it
 * allocates nothing:
 *
 *     nerve_topk h;
 *     nerve_topk_init(&h, dist_row, index_row, k);
 *     for (j ...) if (d[j] <= nerve_topk_bound(&h)) nerve_topk_push(&h, d[j], j);
 *     nerve_topk_sort(&h);                      // best first
 */
typedef struct nerve_topk {
    float   *key;          /* (k) */
    int64_t *id;           /* (k) */
    int64_t  size, k;
} nerve_topk;

void  nerve_topk_init(nerve_topk *h, float *key, int64_t *id, int64_t k);
/* Offers (key, id); 1 if kept, 0 if no better than the k kept already. */
int   nerve_topk_push(nerve_topk *h, float key, int64_t id);
/* The key a push must not exceed to be kept: +infinity until k are kept. */
float nerve_topk_bound(const nerve_topk *h);
/* Sorts the kept pairs best first, in place (the heap order is gone:
 * push no more). */
void  nerve_topk_sort(nerve_topk *h);

#endif
