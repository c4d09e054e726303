/*
 * topk.c — a bounded max-heap keeping the k smallest (key, id) pairs
 * (nerve/internal/alloc.h). Order is (key, id), so equal keys keep the
 * smaller ids and the result does not depend on the order of the pushes.
 */
#include <math.h>

#include "nerve/core.h"
#include "nerve/internal/alloc.h"

/* Whether (ka, ia) ranks after (kb, ib). A NaN key ranks after every
 * number, so a NaN (from NaN data) is kept only while there is room and
 * the heap order stays a total order. */
static int worse(float ka, int64_t ia, float kb, int64_t ib)
{
    int na = isnan(ka), nb = isnan(kb);
    if (na || nb)
        return na != nb ? na : ia > ib;
    return ka > kb || (ka == kb && ia > ib);
}

void nerve_topk_init(nerve_topk *h, float *key, int64_t *id, int64_t k)
{
    h->key = key;
    h->id = id;
    h->size = 0;
    h->k = k > 0 ? k : 0;
}

float nerve_topk_bound(const nerve_topk *h)
{
    /* A NaN on top is beaten by any number. */
    return h->size == h->k && h->k > 0 && !isnan(h->key[0]) ? h->key[0] : INFINITY;
}

/* Moves the hole at i down until (kv, iv) fits there, among the first n. */
static void sift_down(nerve_topk *h, int64_t i, int64_t n, float kv, int64_t iv)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        float km = kv;
        int64_t im = iv;
        if (l < n && worse(h->key[l], h->id[l], km, im)) {
            m = l;
            km = h->key[l];
            im = h->id[l];
        }
        if (r < n && worse(h->key[r], h->id[r], km, im))
            m = r;
        if (m == i)
            break;
        h->key[i] = h->key[m];
        h->id[i] = h->id[m];
        i = m;
    }
    h->key[i] = kv;
    h->id[i] = iv;
}

int nerve_topk_push(nerve_topk *h, float key, int64_t id)
{
    if (h->k == 0)
        return 0;
    if (h->size == h->k) {
        if (!worse(h->key[0], h->id[0], key, id))
            return 0;   /* no better than the worst kept */
        sift_down(h, 0, h->k, key, id);
        return 1;
    }
    int64_t i = h->size++;
    while (i > 0) {   /* sift up */
        int64_t p = (i - 1) / 2;
        if (!worse(key, id, h->key[p], h->id[p]))
            break;
        h->key[i] = h->key[p];
        h->id[i] = h->id[p];
        i = p;
    }
    h->key[i] = key;
    h->id[i] = id;
    return 1;
}

void nerve_topk_sort(nerve_topk *h)
{
    /* Heapsort: the worst goes to the end, the heap shrinks by one. */
    for (int64_t n = h->size - 1; n > 0; n--) {
        float kv = h->key[n];
        int64_t iv = h->id[n];
        h->key[n] = h->key[0];
        h->id[n] = h->id[0];
        sift_down(h, 0, n, kv, iv);
    }
}
