/*
 * ph_pairs.c — the persistence stage's distances with the work shared by
 * the ranks: every (metric, dimension, pair of layers) is an item, the
 * items go to the ranks largest first (by the sizes of the two diagrams),
 * each rank computes its own, and rank 0 gathers the values into the
 * matrices. Each value comes from the same function on the same diagrams
 * wherever it is computed, so the matrices are the single process's.
 */
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "study_internal.h"

/* Item t: its metric, dimension and pair (i, j), j < i, pairs in
 * row-major order below the diagonal, as study_ph_distance_matrix goes. */
typedef struct pair_item {
    int     metric, dim;
    int64_t i, j;
} pair_item;

static pair_item item_of(int64_t t, int64_t pairs, int dims)
{
    pair_item it = { (int)(t / (pairs * dims)), (int)(t / pairs % dims), 1, 0 };
    int64_t p = t % pairs, before = 0;
    while (before + it.i <= p)
        before += it.i++;
    it.j = p - before;
    return it;
}

typedef struct costed {
    double  cost;
    int64_t t;
} costed;

static int by_cost(const void *a, const void *b)
{
    const costed *x = a, *y = b;
    return x->cost != y->cost ? (x->cost < y->cost ? 1 : -1) : (x->t > y->t) - (x->t < y->t);
}

/* owner[t] for every item: the largest first, each to the rank with the
 * least work so far (the lowest on ties); alike on every rank. */
static int item_owners(int *owner, const nerve_ph *ph, int64_t n, int64_t pairs, int dims)
{
    int size = study_dist_size();
    costed *c = malloc((size_t)n * sizeof *c + 1);
    double *load = calloc((size_t)size, sizeof *load);
    if (!c || !load) {
        free(c);
        free(load);
        return nerve_error_set(NERVE_ENOMEM, "persistence distances: out of memory");
    }
    for (int64_t t = 0; t < n; t++) {
        pair_item it = item_of(t, pairs, dims);
        double a = (double)ph[it.i].dgm[it.dim].n, b = (double)ph[it.j].dgm[it.dim].n;
        c[t] = (costed){ it.metric == 2 ? a + b + 1 : (a + 1) * (b + 1), t };   /* sliced: linear */
    }
    qsort(c, (size_t)n, sizeof *c, by_cost);
    for (int64_t k = 0; k < n; k++) {
        int r = 0;
        for (int q = 1; q < size; q++)
            r = load[q] < load[r] ? q : r;
        owner[c[k].t] = r;
        load[r] += c[k].cost;
    }
    free(c);
    free(load);
    return 0;
}

/* A computed value on its way to rank 0. */
typedef struct sent {
    int64_t t;
    double  value;
} sent;

/* This rank's items, computed; NULL when out of memory. */
static sent *compute_own(int64_t *count, int *failed, const int *owner, const nerve_ph *ph, int64_t n, int64_t pairs,
                         int dims, const nerve_study_ph_options *o)
{
    int rank = study_dist_rank();
    int64_t k = 0;
    for (int64_t t = 0; t < n; t++)
        k += owner[t] == rank;
    sent *own = malloc((size_t)k * sizeof *own + 1);
    *count = k;
    for (int64_t t = 0, at = 0; own && t < n; t++)
        if (owner[t] == rank)
            own[at++].t = t;
    int bad = 0;
    #pragma omp parallel for schedule(dynamic, 1) reduction(| : bad) if (own)
    for (int64_t q = 0; q < k; q++) {
        pair_item it = item_of(own[q].t, pairs, dims);
        own[q].value = 0;
        bad |= study_ph_pair_distance(&own[q].value, it.metric, &ph[it.i].dgm[it.dim], &ph[it.j].dgm[it.dim], o) < 0;
    }
    *failed = bad;
    return own;
}

int study_ph_shared_distances(float **values, const nerve_ph *ph, int64_t layers, int dims,
                              const nerve_study_ph_options *o)
{
    int64_t pairs = layers * (layers - 1) / 2, n = STUDY_PH_METRICS * dims * pairs, k = 0;
    *values = NULL;
    int *owner = malloc((size_t)n * sizeof *owner + 1), failed = 0;
    int rc = owner ? item_owners(owner, ph, n, pairs > 0 ? pairs : 1, dims)
                   : nerve_error_set(NERVE_ENOMEM, "persistence distances: out of memory");
    sent *own = rc == 0 ? compute_own(&k, &failed, owner, ph, n, pairs, dims, o) : NULL;
    free(owner);
    if (rc == 0 && (!own || failed))
        rc = nerve_error_set(NERVE_ENOMEM, "persistence distances: out of memory");
    void *all = NULL;
    size_t bytes = 0;
    if (rc == 0)
        rc = study_dist_gather(&all, &bytes, own, (size_t)k * sizeof *own);
    free(own);
    if (rc == 0 && study_dist_rank() == 0 && !(*values = calloc((size_t)n + 1, sizeof **values)))
        rc = nerve_error_set(NERVE_ENOMEM, "persistence distances: out of memory");
    for (size_t at = 0; rc == 0 && *values && at + sizeof(sent) <= bytes; at += sizeof(sent)) {
        sent s;
        memcpy(&s, (char *)all + at, sizeof s);
        if (s.t >= 0 && s.t < n)
            (*values)[s.t] = (float)s.value;
    }
    free(all);
    return rc;
}
