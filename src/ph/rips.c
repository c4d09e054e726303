/*
 * rips.c — Vietoris-Rips persistence barcodes with Z/2 coefficients, by
 * the method of Bauer's ripser: dimension 0 from the minimum spanning
 * forest; each higher dimension by reducing the coboundary matrix
 * (persistent cohomology), columns taken in decreasing filtration order,
 * with clearing (simplices paired in the dimension below are not columns),
 * simplices named by their index in the combinatorial number system and
 * their cofaces enumerated from it, never stored.
 *
 * Zero-apparent pairs (a simplex and a coface of the same diameter that
 * are each other's pivot, found by looking at the two alone) are never
 * stored: the simplex is not a column and the pair not in the pivot map;
 * when the reduction meets such a coface as its pivot it adds the
 * simplex's coboundary. Most pairs are apparent, so this keeps both the
 * memory and the reduction small.
 *
 * The filtration order of simplices: by diameter, then the larger index
 * first, ripser's; the same order everywhere (the tree, the pivots, the
 * columns, clearing), so the pairs are ripser's.
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

static const simplex NO_SIMPLEX = { -1, 0 };

/* Whether a comes before b in the filtration: the smaller diameter, then
 * the larger index. */
static int before(const simplex *a, const simplex *b)
{
    return a->diam < b->diam || (a->diam == b->diam && a->index > b->index);
}

/* The vertices of a dim-simplex, largest first (combinatorial number
 * system: index = sum_i C(v_i, dim + 1 - i)): each the largest v with
 * C(v, k) <= what is left of the index, by binary search. */
static void vertices(const rips *r, int64_t index, int dim, int64_t *v)
{
    int64_t top = r->n - 1;
    for (int k = dim + 1; k >= 2; k--) {
        int64_t lo = k - 1, hi = top;   /* C(k - 1, k) = 0 <= index */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo + 1) / 2;
            if (r->binom[mid][k] <= index)
                lo = mid;
            else
                hi = mid - 1;
        }
        v[dim + 1 - k] = lo;
        index -= r->binom[lo][k];
        top = lo - 1;
    }
    v[dim] = index;   /* C(v, 1) = v */
}

static double larger(double a, double b)
{
    return a > b ? a : b;
}

static int64_t simplex_index(const rips *r, const int64_t *v, int dim)
{
    int64_t index = 0;
    for (int i = 0; i <= dim; i++)
        index += r->binom[v[i]][dim + 1 - i];
    return index;
}

/* Enumerates the cofaces of a dim-simplex within the threshold in
 * decreasing index order, as (index, diameter), into out; returns the
 * count. With first_equal it stops at the first coface of the simplex's own
 * diameter, writes only that one and returns 1 (0 if there is none). The
 * rows of the simplex's vertices are read along w, contiguously. */
static int64_t enumerate_cofaces(const rips *r, simplex s, int dim, simplex *out, int first_equal)
{
    int64_t v[NERVE_PH_MAX_DIM + 2], count = 0;
    const float *row[NERVE_PH_MAX_DIM + 2] = { 0 };
    vertices(r, s.index, dim, v);
    for (int a = 0; a <= dim; a++)
        row[a] = r->dist + v[a] * r->n;
    /* The coface's index inserts w among the vertices: those above w move
     * up one binomial, those below keep theirs. */
    int64_t above = 0, below = s.index;
    int k = 0;                          /* vertices of the simplex above w */
    for (int64_t w = r->n - 1; w >= 0; w--) {
        if (k <= dim && v[k] == w) {
            above += r->binom[w][dim + 2 - k];
            below -= r->binom[w][dim + 1 - k];
            k++;
            continue;
        }
        double d = s.diam;
        for (int a = 0; a <= dim; a++)
            d = row[a][w] > d ? row[a][w] : d;
        if (d > r->threshold)
            continue;
        simplex c = { above + r->binom[w][dim + 2 - k] + below, d };
        if (first_equal) {
            if (d == s.diam) {
                out[0] = c;
                return 1;
            }
            continue;
        }
        out[count++] = c;
    }
    return first_equal ? 0 : count;
}

static int64_t cofaces(const rips *r, simplex s, int dim, simplex *out)
{
    return enumerate_cofaces(r, s, dim, out, 0);
}

/* The coface of equal diameter first in the filtration (the largest index):
 * the pivot of the simplex's coboundary when it has zero persistence. */
static simplex zero_pivot_cofacet(const rips *r, simplex s, int dim)
{
    simplex c;
    return enumerate_cofaces(r, s, dim, &c, 1) ? c : NO_SIMPLEX;
}

/* The facet of equal diameter last in the filtration (the smallest index;
 * dropping the largest vertex first gives the facets by increasing index):
 * the pivot of the simplex's boundary when it has zero persistence. */
static simplex zero_pivot_facet(const rips *r, simplex s, int dim)
{
    int64_t v[NERVE_PH_MAX_DIM + 2], f[NERVE_PH_MAX_DIM + 1];
    vertices(r, s.index, dim, v);
    for (int drop = 0; drop <= dim; drop++) {
        int k = 0;
        for (int i = 0; i <= dim; i++)
            if (i != drop)
                f[k++] = v[i];
        double d = 0;
        for (int a = 0; a < dim; a++)
            for (int b = a + 1; b < dim; b++)
                d = larger(d, r->dist[f[a] * r->n + f[b]]);
        if (d == s.diam)
            return (simplex){ simplex_index(r, f, dim - 1), d };
    }
    return NO_SIMPLEX;
}

/* The zero-apparent pair a dim-simplex is in as the coface: its facet, or
 * NO_SIMPLEX. */
static simplex apparent_facet(const rips *r, simplex s, int dim)
{
    simplex f = zero_pivot_facet(r, s, dim);
    return f.index >= 0 && zero_pivot_cofacet(r, f, dim - 1).index == s.index ? f : NO_SIMPLEX;
}

/* ---- the bars found ----------------------------------------------------- */

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

/* ---- dimension 0 -------------------------------------------------------- */

/* The minimum spanning forest of the edges within the threshold, by Prim's
 * method on the distance matrix (no list of edges), ties broken by the
 * filtration order: the one forest union-find over the sorted edges makes.
 * Its edges are the deaths of H0 (pushed in increasing order, as ripser
 * prints them) and go into *tree, the edges cleared in dimension 1. */
static int dimension_zero(pairs *p, const rips *r, pivot_map *tree)
{
    int64_t n = r->n, n_deaths = 0, components = 0;
    simplex *best = malloc((size_t)n * sizeof *best);   /* the first edge from the forest to v */
    double *deaths = malloc((size_t)n * sizeof *deaths);
    char *done = calloc((size_t)n, 1);
    int rc = best && deaths && done ? 0 : -1;
    for (int64_t v = 0; v < n && rc == 0; v++)
        best[v] = NO_SIMPLEX;
    for (int64_t step = 0; step < n && rc == 0; step++) {
        int64_t u = -1;
        for (int64_t v = 0; v < n; v++)
            if (!done[v] && best[v].index >= 0 && (u < 0 || before(&best[v], &best[u])))
                u = v;
        if (u < 0) {   /* nothing reachable: a new component from the first vertex left */
            for (u = 0; done[u]; u++)
                ;
            components++;
        } else {
            rc = map_put(tree, best[u].index, 0);
            if (best[u].diam > 0)
                deaths[n_deaths++] = best[u].diam;
        }
        done[u] = 1;
        const float *row = r->dist + u * n;
        for (int64_t v = 0; v < n; v++) {
            if (done[v] || row[v] > r->threshold)
                continue;
            simplex e = { u > v ? r->binom[u][2] + v : r->binom[v][2] + u, row[v] };
            if (best[v].index < 0 || before(&e, &best[v]))
                best[v] = e;
        }
    }
    if (rc == 0)
        qsort(deaths, (size_t)n_deaths, sizeof *deaths, nerve_compare_doubles);
    for (int64_t i = 0; i < n_deaths && rc == 0; i++)
        rc = pairs_push(p, 0, deaths[i]);
    for (int64_t i = 0; i < components && rc == 0; i++)
        rc = pairs_push(p, 0, INFINITY);
    free(best);
    free(deaths);
    free(done);
    return rc;
}

/* ---- the columns of one dimension --------------------------------------- */

typedef struct column {
    simplex s;
    int64_t emergent;   /* the coface that is its pivot unless an earlier column owns it, or -1 */
} column;

typedef struct column_list {
    column *c;
    int64_t n, cap;
} column_list;

static int columns_append(column_list *l, const column *c, int64_t count)
{
    if (count == 0)
        return 0;
    if (l->n + count > l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 1024;
        while (cap < l->n + count)
            cap *= 2;
        column *grown = realloc(l->c, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        l->c = grown;
        l->cap = cap;
    }
    memcpy(l->c + l->n, c, (size_t)count * sizeof *c);
    l->n += count;
    return 0;
}

/* Whether a dim-simplex is a column to reduce, into *out with its emergent
 * coface if so. Not when paired in the dimension below (in *paired, or the
 * coface of a zero-apparent pair), nor when the facet of a zero-apparent
 * pair (its zero pivot cofacet has it as zero pivot facet). The emergent
 * coface is that zero pivot cofacet, unless another zero-apparent pair
 * holds it. */
static int as_column(const rips *r, simplex s, int dim, const pivot_map *paired, column *out)
{
    if (map_get(paired, s.index) >= 0 || (dim >= 2 && apparent_facet(r, s, dim).index >= 0))
        return 0;
    simplex c = zero_pivot_cofacet(r, s, dim);
    *out = (column){ s, -1 };
    if (c.index < 0)
        return 1;
    simplex f = zero_pivot_facet(r, c, dim + 1);
    if (f.index == s.index)
        return 0;
    if (f.index < 0 || zero_pivot_cofacet(r, f, dim).index != c.index)
        out->emergent = c.index;
    return 1;
}

typedef struct gathering {
    const rips      *r;
    int              dim;
    const pivot_map *paired;
    column_list      mine;
    int              failed;
} gathering;

/* Every dim-simplex within the threshold whose largest vertices are
 * v[0 .. depth) (diameter diam so far): the next vertex below v[depth - 1],
 * within the threshold of all chosen. */
static void gather_from(gathering *g, int64_t *v, int depth, double diam)
{
    const rips *r = g->r;
    if (depth > g->dim || depth > NERVE_PH_MAX_DIM) {   /* (the second bounds v for the compiler) */
        column c;
        if (as_column(r, (simplex){ simplex_index(r, v, g->dim), diam }, g->dim, g->paired, &c) &&
            columns_append(&g->mine, &c, 1) < 0)
            g->failed = 1;
        return;
    }
    for (int64_t w = v[depth - 1] - 1; w >= g->dim - depth; w--) {
        double d = diam;
        for (int i = 0; i < depth; i++)
            d = larger(d, r->dist[v[i] * r->n + w]);
        if (d > r->threshold)
            continue;
        v[depth] = w;
        gather_from(g, v, depth + 1, d);
    }
}

/* The byte of a column's sort key a radix pass looks at: passes 0-7 the
 * index, 8-15 the diameter's bits complemented (larger first). */
static unsigned column_byte(const column *c, int pass)
{
    uint64_t key;
    if (pass < 8) {
        key = (uint64_t)c->s.index;
    } else {
        memcpy(&key, &c->s.diam, sizeof key);   /* non-negative: bits order as numbers */
        key = ~key;
    }
    return (unsigned)(key >> (8 * (pass % 8))) & 0xff;
}

/* Columns in decreasing filtration order as ripser takes them: diameter
 * descending, then index ascending. LSD radix sort, skipping the bytes all
 * columns share (the low mantissa of float diameters, high index bytes). */
static int sort_columns(column *c, int64_t n)
{
    column *tmp = malloc((size_t)(n + 1) * sizeof *tmp);
    if (!tmp)
        return -1;
    for (int pass = 0; pass < 16 && n > 1; pass++) {
        int64_t count[257] = { 0 };
        for (int64_t i = 0; i < n; i++)
            count[column_byte(&c[i], pass) + 1]++;
        if (count[column_byte(&c[0], pass) + 1] == n)
            continue;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (int64_t i = 0; i < n; i++)
            tmp[count[column_byte(&c[i], pass)]++] = c[i];
        memcpy(c, tmp, (size_t)n * sizeof *c);
    }
    free(tmp);
    return 0;
}

/* The columns of dimension dim, in decreasing filtration order, into *out;
 * the simplices are enumerated from the points (never listed) by threads
 * taking top vertices in turn. */
static int gather_columns(const rips *r, int dim, const pivot_map *paired, column_list *out)
{
    int failed = 0;
    #pragma omp parallel
    {
        gathering g = { r, dim, paired, { 0 }, 0 };
        #pragma omp for schedule(dynamic, 1) nowait
        for (int64_t top = r->n - 1; top >= dim; top--) {
            int64_t v[NERVE_PH_MAX_DIM + 2] = { top };
            gather_from(&g, v, 1, 0);
        }
        #pragma omp critical(nerve_rips_columns)
        if (g.failed || columns_append(out, g.mine.c, g.mine.n) < 0)
            failed = 1;
        free(g.mine.c);
    }
    return failed ? -1 : sort_columns(out->c, out->n);
}

/* ---- a column under reduction: a binary heap of cofaces ----------------- */

/* The pivot is the coface first in filtration order among those present an
 * odd number of times. */
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

/* The pivot: pops pairs of equal entries (Z/2); NO_SIMPLEX if none. */
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
    return NO_SIMPLEX;
}

/* ---- one dimension's reduction ------------------------------------------ */

/* The reduction matrix's columns: which simplices' coboundaries were summed
 * into column j besides its own simplex (items[start[j] .. start[j + 1])),
 * stored once reduced; an emergent pair's column stores none. */
typedef struct reduction {
    int64_t *start, *items;
    int64_t  n_items, cap_items;
    double  *diam;   /* the simplices of items, diameters alongside */
} reduction;

static int reduction_add(reduction *red, const simplex *s, int64_t count)
{
    if (red->n_items + count > red->cap_items) {
        int64_t cap = red->cap_items ? 2 * red->cap_items : 4096;
        while (cap < red->n_items + count)
            cap *= 2;
        /* Each array is kept as soon as it moves (realloc freed the old
         * block), so that a failure of the other leaves both to the
         * caller's frees; the capacity grows only when both did. */
        int64_t *items = realloc(red->items, (size_t)cap * sizeof *items);
        if (!items)
            return -1;
        red->items = items;
        double *diam = realloc(red->diam, (size_t)cap * sizeof *diam);
        if (!diam)
            return -1;
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
    int64_t count = cofaces(r, s, dim, w->buf);
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

/* Reduces the column until its pivot is owned by no column: adds the owner
 * (its simplex and stored chain) or, for a pivot in a zero-apparent pair,
 * that pair's facet, whose coboundary is its reduced column. The pivot,
 * NO_SIMPLEX if the column vanishes; -1 index and rc < 0 out of memory. */
static simplex reduce_column(work *w, const rips *r, int dim, const column *cols, const reduction *red,
                             const pivot_map *paired, int *rc)
{
    simplex piv = pivot(&w->column);
    while (piv.index >= 0 && *rc == 0) {
        int64_t owner = map_get(paired, piv.index);
        if (owner >= 0) {
            *rc = add_simplex(w, r, cols[owner].s, dim);
            for (int64_t e = red->start[owner]; e < red->start[owner + 1] && *rc == 0; e++)
                *rc = add_simplex(w, r, (simplex){ red->items[e], red->diam[e] }, dim);
        } else {
            simplex facet = apparent_facet(r, piv, dim + 1);
            if (facet.index < 0)
                break;
            *rc = add_simplex(w, r, facet, dim);
        }
        piv = pivot(&w->column);
    }
    return piv;
}

/* Reduces the columns (dim-simplices, decreasing filtration order); pairs
 * go to p; the pivots (dim + 1 simplices) that get paired, but for
 * zero-apparent pairs, are returned in *paired: the clearing set for the
 * next dimension. */
static int reduce_dimension(pairs *p, const rips *r, int dim, const column *cols, int64_t n_cols, pivot_map *paired)
{
    work w = { malloc((size_t)r->n * sizeof *w.buf), { 0 }, { 0 } };
    reduction red = { malloc((size_t)(n_cols + 1) * sizeof *red.start), NULL, 0, 0, NULL };
    simplex *chain_out = NULL;
    int64_t chain_cap = 0;
    int rc = w.buf && red.start ? 0 : -1;
    if (rc == 0)
        red.start[0] = 0;
    for (int64_t j = 0; j < n_cols && rc == 0; j++) {
        simplex s = cols[j].s;
        w.column.n = w.chain.n = 0;
        red.start[j + 1] = red.n_items;   /* nothing stored unless it gets a pivot */
        if (cols[j].emergent >= 0 && map_get(paired, cols[j].emergent) < 0) {
            /* An emergent pair: the coboundary's pivot is this coface of the
             * same diameter, which no column owns; zero persistence. */
            rc = map_put(paired, cols[j].emergent, j);
            continue;
        }
        if ((rc = add_simplex(&w, r, s, dim)) < 0)
            break;
        simplex piv = reduce_column(&w, r, dim, cols, &red, paired, &rc);
        if (rc < 0)
            break;
        if (piv.index < 0) {
            rc = pairs_push(p, s.diam, INFINITY);
            continue;
        }
        if (piv.diam > s.diam)
            rc = pairs_push(p, s.diam, piv.diam);
        if (rc == 0)
            rc = map_put(paired, piv.index, j);
        if (rc == 0 && w.chain.n > chain_cap) {
            chain_cap = w.chain.n;
            simplex *nc = realloc(chain_out, (size_t)chain_cap * sizeof *nc);
            if (!nc)
                rc = -1;
            else
                chain_out = nc;
        }
        if (rc == 0)
            rc = reduction_add(&red, chain_out, drain_chain(&w.chain, chain_out, s.index));
        red.start[j + 1] = red.n_items;
    }
    free(w.buf);
    free(w.column.h);
    free(w.chain.h);
    free(red.start);
    free(red.items);
    free(red.diam);
    free(chain_out);
    return rc;
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
 * vectors: minutes instead of 0.1 s). Drops them from the matrix in place
 * (each entry moves to a place no later than its own, in reading order);
 * the count of distinct points, -1 when out of memory. */
static int64_t drop_duplicates(float *dist, int64_t n)
{
    int64_t *keep = malloc((size_t)n * sizeof *keep), kept = 0;
    if (!keep)
        return -1;
    for (int64_t j = 0; j < n; j++) {
        int dup = 0;
        for (int64_t a = 0; a < kept && !dup; a++)
            dup = same_point(dist, n, keep[a], j);
        if (!dup)
            keep[kept++] = j;
    }
    if (kept < n)
        for (int64_t a = 0; a < kept; a++)
            for (int64_t b = 0; b < kept; b++)
                dist[a * kept + b] = dist[keep[a] * n + keep[b]];
    free(keep);
    return kept;
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
    pairs p = { 0 };
    pivot_map paired = { 0 };   /* the pivots paired in the dimension below: cleared */
    int rc = dimension_zero(&p, &r, &paired);
    if (rc == 0)
        rc = keep_pairs(&out->dgm[0], &p);
    for (int dim = 1; dim <= o->max_dim && rc == 0; dim++) {
        column_list cols = { 0 };
        rc = gather_columns(&r, dim, &paired, &cols);
        map_free(&paired);
        if (rc == 0)
            rc = reduce_dimension(&p, &r, dim, cols.c, cols.n, &paired);
        if (rc == 0)
            rc = keep_pairs(&out->dgm[dim], &p);
        free(cols.c);
    }
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

/* The barcodes of a float distance matrix, which duplicates are dropped
 * from. */
static int compute(nerve_ph *out, float *dist, int64_t n, const nerve_ph_options *o)
{
    int64_t m = n >= 2 ? drop_duplicates(dist, n) : n;
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
        rc = compute_distinct(out, dist, m, o);
    }
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
