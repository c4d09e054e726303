/*
 * rips.c — Vietoris-Rips persistence barcodes with Z/2 coefficients, by
 * the method of Bauer's ripser: dimension 0 by union-find over the edges
 * in filtration order; each higher dimension by reducing the coboundary
 * matrix (persistent cohomology), columns taken in decreasing filtration
 * order, with clearing (simplices paired in the dimension below are not
 * columns), simplices named by their index in the combinatorial number
 * system and their cofaces enumerated from it, never stored.
 *
 * The filtration order of simplices: by diameter, then by index (the
 * larger index first in a coboundary's pivot choice, as ripser), so the
 * pairs are ripser's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"

void nerve_ph_defaults(nerve_ph_options *o)
{
    *o = (nerve_ph_options){ .max_dim = 1, .threshold = INFINITY, .metric = NERVE_METRIC_EUCLIDEAN };
}

void nerve_ph_free(nerve_ph *ph)
{
    for (int d = 0; d <= NERVE_PH_MAX_DIM; d++) {
        free(ph->dgm[d].birth);
        free(ph->dgm[d].death);
    }
    memset(ph, 0, sizeof *ph);
}

/* ---- the complex -------------------------------------------------------- */

typedef struct rips {
    int64_t       n;
    const float  *dist;        /* n x n, float as ripser's (half the memory of double) */
    double        threshold;
    int64_t     (*binom)[NERVE_PH_MAX_DIM + 3];   /* binom[v][k] = C(v, k) */
} rips;

typedef struct simplex {
    int64_t index;
    double  diam;
} simplex;

static double dist_at(const rips *r, int64_t a, int64_t b)
{
    return r->dist[a * r->n + b];
}

/* The vertices of a dim-simplex, largest first (combinatorial number
 * system: index = sum_i C(v_i, i + 1)). */
static void vertices(const rips *r, int64_t index, int dim, int64_t *v)
{
    int64_t top = r->n - 1;
    for (int k = dim + 1; k >= 1; k--) {
        while (top >= k - 1 && r->binom[top][k] > index)   /* the largest v with C(v, k) <= index */
            top--;
        v[dim + 1 - k] = top;
        index -= r->binom[top][k];
        top--;
    }
}

/* Enumerates the cofaces of a dim-simplex within the threshold in
 * decreasing index order, as (index, diameter), into out. With stop_at_equal
 * it stops at the first coface of the simplex's own diameter and returns
 * -1 - (its position), which is then the only entry written. The rows of
 * the simplex's vertices are read along w, contiguously. */
static int64_t enumerate_cofaces(const rips *r, int64_t index, int dim, double diam, simplex *out, int stop_at_equal,
                                 int top_only)
{
    int64_t v[NERVE_PH_MAX_DIM + 2], count = 0;
    const float *row[NERVE_PH_MAX_DIM + 2] = { 0 };
    vertices(r, index, dim, v);
    for (int a = 0; a <= dim; a++)
        row[a] = r->dist + v[a] * r->n;
    /* The coface's index inserts w among the vertices: those above w move
     * up one binomial, those below keep theirs. */
    int64_t above = 0, below = index;
    int k = 0;                          /* vertices of the simplex above w */
    for (int64_t w = r->n - 1; w >= 0; w--) {
        if (top_only && k > 0)
            break;   /* w is no longer above every vertex */
        if (k <= dim && v[k] == w) {
            above += r->binom[w][dim + 2 - k];
            below -= r->binom[w][dim + 1 - k];
            k++;
            continue;
        }
        double d = diam;
        for (int a = 0; a <= dim; a++)
            d = row[a][w] > d ? row[a][w] : d;
        if (d > r->threshold)
            continue;
        simplex c = { above + r->binom[w][dim + 2 - k] + below, d };
        if (stop_at_equal && d == diam) {
            out[0] = c;
            return -1;
        }
        if (!stop_at_equal)
            out[count] = c;
        count++;
    }
    return stop_at_equal ? 0 : count;
}

static int64_t cofaces(const rips *r, int64_t index, int dim, double diam, simplex *out)
{
    return enumerate_cofaces(r, index, dim, diam, out, 0, 0);
}

/* ---- dimension 0 -------------------------------------------------------- */

static int64_t find_root(int64_t *up, int64_t x)
{
    while (up[x] != x) {
        up[x] = up[up[x]];
        x = up[x];
    }
    return x;
}

typedef struct pairs {
    int64_t n, cap;
    double *birth, *death;
} pairs;

static int pairs_push(pairs *p, double b, double d)
{
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 64;
        double *nb = realloc(p->birth, (size_t)cap * sizeof *nb);
        if (!nb)
            return -1;
        p->birth = nb;
        double *nd = realloc(p->death, (size_t)cap * sizeof *nd);
        if (!nd)
            return -1;
        p->death = nd;
        p->cap = cap;
    }
    p->birth[p->n] = b;
    p->death[p->n++] = d;
    return 0;
}

/* Sorts simplices by (diameter, index): an LSD radix sort on the bits of
 * the non-negative diameters, which order like the numbers, stable, so
 * simplices listed by increasing index stay so among equal diameters. */
static int sort_filtration(simplex *s, int64_t n)
{
    simplex *tmp = malloc((size_t)(n + 1) * sizeof *tmp);
    if (!tmp)
        return -1;
    for (int shift = 0; shift < 64; shift += 8) {
        int64_t count[257] = { 0 };
        for (int64_t i = 0; i < n; i++) {
            uint64_t bits;
            memcpy(&bits, &s[i].diam, sizeof bits);
            count[((bits >> shift) & 0xff) + 1]++;
        }
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (int64_t i = 0; i < n; i++) {
            uint64_t bits;
            memcpy(&bits, &s[i].diam, sizeof bits);
            tmp[count[(bits >> shift) & 0xff]++] = s[i];
        }
        memcpy(s, tmp, (size_t)n * sizeof *s);
    }
    free(tmp);
    return 0;
}

/* Edges within the threshold in filtration order. */
static int64_t all_edges(const rips *r, simplex **out)
{
    int64_t n = r->n, count = 0;
    *out = malloc((size_t)(n * (n - 1) / 2 + 1) * sizeof **out);
    if (!*out)
        return -1;
    for (int64_t a = 1; a < n; a++)
        for (int64_t b = 0; b < a; b++)
            if (dist_at(r, a, b) <= r->threshold)
                (*out)[count++] = (simplex){ r->binom[a][2] + b, dist_at(r, a, b) };
    if (sort_filtration(*out, count) < 0)
        return -1;
    return count;
}

/* Union-find over the edges; the edges that merge nothing are the columns
 * of dimension 1 (the merging ones are cleared), in decreasing order. */
static int dimension_zero(pairs *p, const rips *r, simplex *edges, int64_t n_edges, simplex **columns, int64_t *n_cols)
{
    int64_t *up = malloc((size_t)r->n * sizeof *up);
    *columns = malloc((size_t)(n_edges + 1) * sizeof **columns);
    if (!up || !*columns) {
        free(up);
        return -1;
    }
    for (int64_t i = 0; i < r->n; i++)
        up[i] = i;
    *n_cols = 0;
    for (int64_t e = 0; e < n_edges; e++) {
        int64_t v[2];
        vertices(r, edges[e].index, 1, v);
        int64_t a = find_root(up, v[0]), b = find_root(up, v[1]);
        if (a == b) {
            (*columns)[(*n_cols)++] = edges[e];
            continue;
        }
        up[a > b ? a : b] = a < b ? a : b;
        if (edges[e].diam > 0 && pairs_push(p, 0, edges[e].diam) < 0) {
            free(up);
            return -1;
        }
    }
    for (int64_t i = 0; i < r->n; i++)
        if (find_root(up, i) == i && pairs_push(p, 0, INFINITY) < 0) {
            free(up);
            return -1;
        }
    free(up);
    /* Columns in decreasing filtration order. */
    for (int64_t a = 0, b = *n_cols - 1; a < b; a++, b--) {
        simplex t = (*columns)[a];
        (*columns)[a] = (*columns)[b];
        (*columns)[b] = t;
    }
    return 0;
}

/* ---- a column under reduction: a binary heap of cofaces ----------------- */

/* The pivot is the coface first in filtration order among those present an
 * odd number of times: smallest diameter, then largest index. */
static int before(const simplex *a, const simplex *b)
{
    return a->diam < b->diam || (a->diam == b->diam && a->index > b->index);
}

typedef struct heap {
    simplex *h;
    int64_t  n, cap;
} heap;

static int heap_push(heap *q, simplex s)
{
    if (q->n == q->cap) {
        int64_t cap = q->cap ? 2 * q->cap : 256;
        simplex *nh = realloc(q->h, (size_t)cap * sizeof *nh);
        if (!nh)
            return -1;
        q->h = nh;
        q->cap = cap;
    }
    int64_t i = q->n++;
    while (i > 0 && before(&s, &q->h[(i - 1) / 2])) {
        q->h[i] = q->h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->h[i] = s;
    return 0;
}

static simplex heap_pop(heap *q)
{
    simplex top = q->h[0], last = q->h[--q->n];
    int64_t i = 0;
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        const simplex *best = &last;
        if (l < q->n && before(&q->h[l], best)) {
            m = l;
            best = &q->h[l];
        }
        if (r < q->n && before(&q->h[r], best))
            m = r;
        if (m == i)
            break;
        q->h[i] = q->h[m];
        i = m;
    }
    if (q->n > 0)
        q->h[i] = last;
    return top;
}

/* The pivot: pops pairs of equal entries (Z/2); -1 index if none. */
static simplex pivot(heap *q)
{
    while (q->n > 0) {
        simplex top = heap_pop(q);
        if (q->n > 0 && q->h[0].index == top.index) {
            heap_pop(q);
            continue;
        }
        heap_push(q, top);   /* stays in the column */
        return top;
    }
    return (simplex){ -1, 0 };
}

/* ---- a map from pivot index to the column that owns it ------------------ */

typedef struct pivot_map {
    int64_t *key, *value;
    int64_t  cap, n;
} pivot_map;

static uint64_t mix(int64_t k)
{
    uint64_t z = (uint64_t)k + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    return z ^ (z >> 27);
}

static int map_grow(pivot_map *m)
{
    int64_t cap = m->cap ? 2 * m->cap : 1024, *key = malloc((size_t)cap * sizeof *key),
            *value = malloc((size_t)cap * sizeof *value);
    if (!key || !value) {
        free(key);
        free(value);
        return -1;
    }
    for (int64_t i = 0; i < cap; i++)
        key[i] = -1;
    for (int64_t i = 0; i < m->cap; i++)
        if (m->key[i] >= 0) {
            int64_t at = (int64_t)(mix(m->key[i]) & (uint64_t)(cap - 1));
            while (key[at] >= 0)
                at = (at + 1) & (cap - 1);
            key[at] = m->key[i];
            value[at] = m->value[i];
        }
    free(m->key);
    free(m->value);
    m->key = key;
    m->value = value;
    m->cap = cap;
    return 0;
}

static int64_t map_get(const pivot_map *m, int64_t k)
{
    if (!m->cap)
        return -1;
    for (int64_t at = (int64_t)(mix(k) & (uint64_t)(m->cap - 1));; at = (at + 1) & (m->cap - 1)) {
        if (m->key[at] < 0)
            return -1;
        if (m->key[at] == k)
            return m->value[at];
    }
}

static int map_put(pivot_map *m, int64_t k, int64_t v)
{
    if (2 * (m->n + 1) > m->cap && map_grow(m) < 0)
        return -1;
    int64_t at = (int64_t)(mix(k) & (uint64_t)(m->cap - 1));
    while (m->key[at] >= 0)
        at = (at + 1) & (m->cap - 1);
    m->key[at] = k;
    m->value[at] = v;
    m->n++;
    return 0;
}

static void map_free(pivot_map *m)
{
    free(m->key);
    free(m->value);
    memset(m, 0, sizeof *m);
}

/* ---- one dimension's reduction ------------------------------------------ */

/* The reduction matrix's columns: which simplices' coboundaries were summed
 * into column j besides its own simplex (items[start[j] .. start[j + 1])),
 * stored once reduced; an emergent pair's column stores none. */
typedef struct reduction {
    int64_t *start, *items;
    int64_t  n_items, cap_items, n_cols;
    double  *diam;   /* the simplices of items, diameters alongside */
} reduction;

static int reduction_add(reduction *red, const simplex *s, int64_t count)
{
    if (red->n_items + count > red->cap_items) {
        int64_t cap = red->cap_items ? 2 * red->cap_items : 4096;
        while (cap < red->n_items + count)
            cap *= 2;
        int64_t *items = realloc(red->items, (size_t)cap * sizeof *items);
        double *diam = realloc(red->diam, (size_t)cap * sizeof *diam);
        if (!items || !diam) {
            free(items ? NULL : diam);
            if (items)
                red->items = items;
            if (diam)
                red->diam = diam;
            return -1;
        }
        red->items = items;
        red->diam = diam;
        red->cap_items = cap;
    }
    for (int64_t i = 0; i < count; i++) {
        red->items[red->n_items] = s[i].index;
        red->diam[red->n_items++] = s[i].diam;
    }
    return 0;
}

typedef struct work {
    simplex *buf;      /* cofaces of one simplex */
    heap     column;   /* the coboundary under reduction */
    heap     chain;    /* the simplices summed into it (Z/2, duplicates cancel) */
} work;

/* Adds simplex s to the chain and its coboundary to the column. */
static int add_simplex(work *w, const rips *r, simplex s, int dim)
{
    if (heap_push(&w->chain, s) < 0)
        return -1;
    int64_t count = cofaces(r, s.index, dim, s.diam, w->buf);
    for (int64_t i = 0; i < count; i++)
        if (heap_push(&w->column, w->buf[i]) < 0)
            return -1;
    return 0;
}

/* The chain's simplices with odd multiplicity but the column's own (which
 * always is: the columns added hold only earlier ones), into out (n
 * returned). */
static int64_t drain_chain(heap *chain, simplex *out, int64_t own)
{
    int64_t n = 0;
    while (chain->n > 0) {
        simplex s = heap_pop(chain);
        if (chain->n > 0 && chain->h[0].index == s.index) {
            heap_pop(chain);
            continue;
        }
        if (s.index != own)
            out[n++] = s;
    }
    return n;
}

enum { EMERGENT_CHUNK = 1 << 14 };

/* For each column, the first coface of equal diameter (or index -1): the
 * pivot if no earlier column owns it. It depends on the column alone, so a
 * chunk of columns is searched in parallel ahead of the sequential
 * reduction; the result is the same at any thread count. */
static void find_emergent(simplex *out, const rips *r, int dim, const simplex *cols, int64_t n)
{
    #pragma omp parallel for schedule(dynamic, 256)
    for (int64_t j = 0; j < n; j++) {
        simplex e = { -1, 0 };
        if (enumerate_cofaces(r, cols[j].index, dim, cols[j].diam, &e, 1, 0) == 0)
            e.index = -1;
        out[j] = e;
    }
}

/* Reduces the columns (dim-simplices, decreasing filtration order); pairs
 * go to p; the pivots (dim + 1 simplices) that get paired are returned as
 * the clearing set for the next dimension, in *paired. */
static int reduce_dimension(pairs *p, const rips *r, int dim, const simplex *cols, int64_t n_cols, pivot_map *paired)
{
    work w = { malloc((size_t)r->n * sizeof *w.buf), { 0 }, { 0 } };
    reduction red = { malloc((size_t)(n_cols + 1) * sizeof *red.start), NULL, 0, 0, 0, NULL };
    simplex *chain_out = NULL, *emergent_of = malloc(EMERGENT_CHUNK * sizeof *emergent_of);
    int64_t chain_cap = 0;
    int rc = w.buf && red.start && emergent_of ? 0 : -1;
    for (int64_t j = 0; j < n_cols && rc == 0; j++) {
        w.column.n = w.chain.n = 0;
        red.start[j] = red.n_items;
        if (j % EMERGENT_CHUNK == 0)
            find_emergent(emergent_of, r, dim, cols + j, n_cols - j < EMERGENT_CHUNK ? n_cols - j : EMERGENT_CHUNK);
        simplex emergent = emergent_of[j % EMERGENT_CHUNK];
        if (emergent.index >= 0 && map_get(paired, emergent.index) < 0) {
            /* An emergent pair: the coboundary's pivot is this coface of the
             * same diameter, which no column owns; zero persistence. */
            if (map_put(paired, emergent.index, j) < 0)
                rc = -1;
            red.start[j + 1] = red.n_items;
            continue;
        }
        if (add_simplex(&w, r, cols[j], dim) < 0) {
            rc = -1;
            break;
        }
        simplex piv = pivot(&w.column);
        int64_t owner;
        while (piv.index >= 0 && (owner = map_get(paired, piv.index)) >= 0) {
            /* Add column owner: its own simplex and chain, and their coboundaries. */
            rc = add_simplex(&w, r, cols[owner], dim);
            for (int64_t e = red.start[owner]; e < red.start[owner + 1] && rc == 0; e++)
                rc = add_simplex(&w, r, (simplex){ red.items[e], red.diam[e] }, dim);
            piv = pivot(&w.column);
        }
        if (rc < 0)
            break;
        if (piv.index < 0) {
            if (pairs_push(p, cols[j].diam, INFINITY) < 0)
                rc = -1;
            red.start[j + 1] = red.n_items;
            continue;
        }
        if (piv.diam > cols[j].diam && pairs_push(p, cols[j].diam, piv.diam) < 0)
            rc = -1;
        if (rc == 0 && map_put(paired, piv.index, j) < 0)
            rc = -1;
        if (rc == 0 && w.chain.n > chain_cap) {
            chain_cap = w.chain.n;
            simplex *nc = realloc(chain_out, (size_t)chain_cap * sizeof *nc);
            if (!nc)
                rc = -1;
            else
                chain_out = nc;
        }
        if (rc == 0 && reduction_add(&red, chain_out, drain_chain(&w.chain, chain_out, cols[j].index)) < 0)
            rc = -1;
        red.start[j + 1] = red.n_items;
    }
    free(w.buf);
    free(w.column.h);
    free(w.chain.h);
    free(red.start);
    free(red.items);
    free(red.diam);
    free(chain_out);
    free(emergent_of);
    return rc;
}

/* The dim-simplices within the threshold, from the (dim - 1)-simplices
 * within it (faces): each is made once, from its facet without its largest
 * vertex (the cofaces whose new vertex tops all others). Into *all: every
 * one, by increasing index order of faces; into *cols: those not paired
 * (cleared) in the dimension below, in decreasing filtration order. */
static int next_simplices(const rips *r, int dim, const simplex *faces, int64_t n_faces, const pivot_map *paired,
                          simplex **all, int64_t *n_all, simplex **cols, int64_t *n_cols)
{
    int64_t cap = n_faces + 1024, count = 0;
    simplex *buf = malloc((size_t)r->n * sizeof *buf);
    *all = malloc((size_t)cap * sizeof **all);
    if (!buf || !*all) {
        free(buf);
        return -1;
    }
    for (int64_t f = 0; f < n_faces; f++) {
        int64_t got = enumerate_cofaces(r, faces[f].index, dim - 1, faces[f].diam, buf, 0, 1);
        if (count + got > cap) {
            while (count + got > cap)
                cap *= 2;
            simplex *grown = realloc(*all, (size_t)cap * sizeof *grown);
            if (!grown) {
                free(buf);
                return -1;
            }
            *all = grown;
        }
        memcpy(*all + count, buf, (size_t)got * sizeof *buf);
        count += got;
    }
    free(buf);
    *n_all = count;
    *cols = malloc((size_t)(count + 1) * sizeof **cols);
    if (!*cols)
        return -1;
    *n_cols = 0;
    for (int64_t i = 0; i < count; i++)
        if (map_get(paired, (*all)[i].index) < 0)
            (*cols)[(*n_cols)++] = (*all)[i];
    if (sort_filtration(*cols, *n_cols) < 0)
        return -1;
    for (int64_t a = 0, b = *n_cols - 1; a < b; a++, b--) {
        simplex t = (*cols)[a];
        (*cols)[a] = (*cols)[b];
        (*cols)[b] = t;
    }
    return 0;
}

/* ---- the whole computation ---------------------------------------------- */

static int make_binomials(rips *r, int max_dim)
{
    r->binom = malloc((size_t)(r->n + 1) * sizeof *r->binom);
    if (!r->binom)
        return -1;
    for (int64_t v = 0; v <= r->n; v++)
        for (int k = 0; k <= NERVE_PH_MAX_DIM + 2; k++)
            r->binom[v][k] = k == 0 ? 1 : v == 0 ? 0 : r->binom[v - 1][k - 1] + r->binom[v - 1][k];
    /* The largest index must fit: C(n, max_dim + 2) < 2^62. */
    double largest = 1;
    for (int k = 0; k < max_dim + 2; k++)
        largest *= (double)(r->n - k) / (double)(k + 1);
    return largest < 4.6e18 ? 0 : -2;
}

static int keep_pairs(nerve_diagram *d, pairs *p)
{
    d->n = p->n;
    d->birth = p->birth ? p->birth : malloc(sizeof(double));
    d->death = p->death ? p->death : malloc(sizeof(double));
    memset(p, 0, sizeof *p);
    return d->birth && d->death ? 0 : -1;
}

/* The enclosing radius, min over points of the largest distance from it:
 * past it the complex is a cone over that point, so nothing more happens.
 * Ripser stops there when no threshold is given, and so does nerve. */
static double enclosing_radius(const float *dist, int64_t n)
{
    double r = INFINITY;
    for (int64_t i = 0; i < n; i++) {
        float far = 0;
        for (int64_t j = 0; j < n; j++)
            far = dist[i * n + j] > far ? dist[i * n + j] : far;
        r = far < r ? far : r;
    }
    return r;
}

/* Whether points i and j are the same point: at distance 0 and at the same
 * distance from every other. */
static int same_point(const float *dist, int64_t n, int64_t i, int64_t j)
{
    if (dist[i * n + j] != 0)
        return 0;
    for (int64_t k = 0; k < n; k++)
        if (dist[i * n + k] != dist[j * n + k])
            return 0;
    return 1;
}

/* Exact duplicates only add H0 bars of length 0, which are not reported,
 * but their ties make the reduction crawl (170 duplicates among 600 ReLU
 * vectors: minutes instead of 0.1 s). The matrix of the distinct points
 * (malloc'd), or NULL when there are no duplicates or no memory (*m < 0). */
static float *without_duplicates(const float *dist, int64_t n, int64_t *m)
{
    int64_t *keep = malloc((size_t)n * sizeof *keep);
    *m = -1;
    if (!keep)
        return NULL;
    int64_t kept = 0;
    for (int64_t j = 0; j < n; j++) {
        int dup = 0;
        for (int64_t a = 0; a < kept && !dup; a++)
            dup = same_point(dist, n, keep[a], j);
        if (!dup)
            keep[kept++] = j;
    }
    float *out = NULL;
    *m = kept;
    if (kept < n && (out = malloc((size_t)(kept * kept) * sizeof *out)) != NULL) {
        for (int64_t a = 0; a < kept; a++)
            for (int64_t b = 0; b < kept; b++)
                out[a * kept + b] = dist[keep[a] * n + keep[b]];
    } else if (kept < n) {
        *m = -1;
    }
    free(keep);
    return out;
}

/* The barcodes of a float distance matrix of distinct points. */
static int compute_distinct(nerve_ph *out, const float *dist, int64_t n, const nerve_ph_options *o)
{
    memset(out, 0, sizeof *out);
    if (o->max_dim < 0 || o->max_dim > NERVE_PH_MAX_DIM)
        return nerve_error_set(NERVE_EINPUT, "persistence: dimension %d asked, 0 to %d are computed", o->max_dim,
                               NERVE_PH_MAX_DIM);
    if (n < 2)
        return nerve_error_set(NERVE_EINPUT, "persistence: %lld point%s; at least 2 are needed", (long long)n,
                               n == 1 ? "" : "s");
    if (!(o->threshold > 0))
        return nerve_error_set(NERVE_EINPUT, "persistence: the threshold must be > 0, not %g", o->threshold);
    rips r = { .n = n, .dist = dist, .threshold = isinf(o->threshold) ? enclosing_radius(dist, n) : o->threshold };
    int brc = make_binomials(&r, o->max_dim);
    if (brc < 0) {
        free(r.binom);
        return brc == -2 ? nerve_error_set(NERVE_EINPUT, "persistence: %lld points are too many for dimension %d "
                                           "(simplex indices overflow 64 bits)", (long long)n, o->max_dim)
                         : nerve_error_set(NERVE_ENOMEM, "persistence: out of memory");
    }
    out->max_dim = o->max_dim;
    out->points = n;
    simplex *edges = NULL, *cols = NULL;
    pairs p = { 0 };
    pivot_map paired = { 0 };
    int64_t n_edges = all_edges(&r, &edges), n_cols = 0, n_faces = n_edges;
    int rc = n_edges >= 0 && dimension_zero(&p, &r, edges, n_edges, &cols, &n_cols) == 0 ? 0 : -1;
    simplex *faces = edges;   /* every simplex of the dimension below, within the threshold */
    if (rc == 0)
        rc = keep_pairs(&out->dgm[0], &p);
    if (o->max_dim < 2) {   /* the edges are faces of nothing to come */
        free(faces);
        faces = NULL;
    }
    for (int dim = 1; dim <= o->max_dim && rc == 0; dim++) {
        if (dim > 1) {
            simplex *next = NULL;
            free(cols);
            cols = NULL;
            rc = next_simplices(&r, dim, faces, n_faces, &paired, &next, &n_faces, &cols, &n_cols);
            free(faces);
            faces = next;
        }
        map_free(&paired);
        if (rc == 0)
            rc = reduce_dimension(&p, &r, dim, cols, n_cols, &paired);
        if (rc == 0)
            rc = keep_pairs(&out->dgm[dim], &p);
    }
    free(cols);
    free(faces);
    free(p.birth);
    free(p.death);
    map_free(&paired);
    free(r.binom);
    if (rc < 0) {
        nerve_ph_free(out);
        return nerve_error_set(NERVE_ENOMEM, "persistence: out of memory");
    }
    return 0;
}

/* All points the same: one class that never dies. */
static int one_point(nerve_ph *out, int max_dim)
{
    for (int d = 0; d <= max_dim; d++) {
        out->dgm[d].birth = malloc(sizeof(double));
        out->dgm[d].death = malloc(sizeof(double));
        if (!out->dgm[d].birth || !out->dgm[d].death)
            return -1;
    }
    out->dgm[0].n = 1;
    out->dgm[0].birth[0] = 0;
    out->dgm[0].death[0] = INFINITY;
    return 0;
}

/* The barcodes of a float distance matrix. */
static int compute(nerve_ph *out, const float *dist, int64_t n, const nerve_ph_options *o)
{
    int64_t m = n;
    float *distinct = n >= 2 ? without_duplicates(dist, n, &m) : NULL;
    if (m < 0)
        return nerve_error_set(NERVE_ENOMEM, "persistence: out of memory");
    int rc;
    if (m == 1 && o->max_dim >= 0 && o->max_dim <= NERVE_PH_MAX_DIM && o->threshold > 0) {
        memset(out, 0, sizeof *out);
        out->max_dim = o->max_dim;
        if ((rc = one_point(out, o->max_dim)) < 0) {
            nerve_ph_free(out);
            rc = nerve_error_set(NERVE_ENOMEM, "persistence: out of memory");
        }
    } else {
        rc = compute_distinct(out, distinct ? distinct : dist, m, o);
    }
    free(distinct);
    if (rc == 0)
        out->points = n;
    return rc;
}

int nerve_ph_distances(nerve_ph *out, const double *dist, int64_t n, const nerve_ph_options *o)
{
    memset(out, 0, sizeof *out);
    if (n < 2)
        return nerve_error_set(NERVE_EINPUT, "persistence: %lld point%s; at least 2 are needed", (long long)n,
                               n == 1 ? "" : "s");
    float *f = malloc((size_t)(n * n) * sizeof *f);
    if (!f)
        return nerve_error_set(NERVE_ENOMEM, "persistence: out of memory for %lld x %lld distances", (long long)n,
                               (long long)n);
    for (int64_t i = 0; i < n * n; i++)
        f[i] = (float)dist[i];
    int rc = compute(out, f, n, o);
    free(f);
    return rc;
}

int nerve_ph_check_distances(const double *dist, int64_t n, const char *label)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double v = dist[i * n + j];
            if (!isfinite(v))
                return nerve_error_set(NERVE_EINPUT, "%s: row %lld, column %lld is %g", label, (long long)i,
                                       (long long)j, v);
            if (v < 0)
                return nerve_error_set(NERVE_EINPUT, "%s: row %lld, column %lld is negative (%g)", label,
                                       (long long)i, (long long)j, v);
            if (i == j && v != 0)
                return nerve_error_set(NERVE_EINPUT, "%s: the diagonal at %lld is %g, not 0", label, (long long)i, v);
            if (v != dist[j * n + i])
                return nerve_error_set(NERVE_EINPUT, "%s: not symmetric: [%lld][%lld] = %g but [%lld][%lld] = %g",
                                       label, (long long)i, (long long)j, v, (long long)j, (long long)i,
                                       dist[j * n + i]);
        }
    return 0;
}

int nerve_ph_points(nerve_ph *out, const nerve_mat *points, const nerve_ph_options *o)
{
    memset(out, 0, sizeof *out);
    int64_t n = points->rows, d = points->cols;
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(points->data[i]))
            return nerve_error_set(NERVE_EINPUT, "persistence: row %lld, column %lld is %g", (long long)(i / d),
                                   (long long)(i % d), points->data[i]);
    if (n < 2)
        return nerve_error_set(NERVE_EINPUT, "persistence: %lld point%s; at least 2 are needed", (long long)n,
                               n == 1 ? "" : "s");
    float *dist = malloc((size_t)(n * n) * sizeof *dist);
    if (!dist)
        return nerve_error_set(NERVE_ENOMEM, "persistence: out of memory for %lld x %lld distances", (long long)n,
                               (long long)n);
    /* In float, as ripser computes them (and much faster than in double). */
    #pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            dist[i * n + j] = i == j ? 0 : nerve_knn_distance_float(points->data + i * d, points->data + j * d, d, o->metric);
    int rc = compute(out, dist, n, o);
    free(dist);
    return rc;
}
