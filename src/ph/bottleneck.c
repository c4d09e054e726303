/*
 * bottleneck.c — the exact bottleneck distance between the finite parts of
 * two persistence diagrams, fast enough for diagrams of 10,000 points.
 *
 * The decision "is there a matching of cost <= t" usually takes a bipartite
 * graph with diagonal copies of every point. Diagonal copies match each
 * other for free, so a perfect matching exists iff there is a matching
 * between A and B (edges: L-infinity distance <= t) that covers every
 * point farther than t from the diagonal (the "must" points; the others
 * may go to the diagonal). By the Mendelsohn-Dulmage theorem such a
 * matching exists iff one covers A's must points and another covers B's,
 * so the decision is two plain matchings, each from one side's must points
 * into all the other side's points: no diagonal copies, no dense block.
 *
 * Each matching is Hopcroft-Karp where an augmenting path may also end by
 * unmatching a left point that is not a must (the symmetric difference
 * with a covering matching gives such a path). Neighbours come from a
 * box index: the right side's points in columns of birth, sorted by
 * death, so the points within t of a query are a few contiguous runs; each
 * search phase removes a right point once it is reached (a union-find of
 * "next live point"), which keeps a phase near O(n log n) however dense
 * the graph.
 *
 * The distance is the smallest t whose decision holds; it is one of the
 * computed costs, so a bisection over the bit patterns of non-negative
 * doubles (ordered as integers) lands on it exactly. Each test starts
 * from the matching of the largest t that failed (still valid at any
 * larger t), so late tests only add a few paths.
 */
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "ph_internal.h"

/* Columns per t of birth: a query reads 2 K + 1 columns, of which K / (2 K + 1)
 * of the width lies inside the box. */
enum { COLUMNS_PER_T = 2 };

/* ---- the box index -------------------------------------------------------- */

/* A point's place in the index: its column, then its death. */
typedef struct box_key {
    int64_t col, id;
    double  death;
} box_key;

typedef struct box_index {
    int64_t  n;
    double   t, width;     /* the box half-side, the column width */
    int64_t *id;           /* sorted position -> point */
    int64_t *col;          /* column of each sorted position */
    double  *birth, *death;/* by sorted position */
    int64_t *live;         /* union-find: the next live position at or after i (n: none) */
    box_key *keys;         /* scratch for sorting */
} box_index;

typedef struct box_cursor {
    int64_t col, last_col; /* the column read now, the last to read */
    int64_t at, end;       /* the run of that column within t of the query's death */
    double  b, d;          /* the query */
} box_cursor;

static int by_column_death(const void *x, const void *y)
{
    const box_key *p = x, *q = y;
    if (p->col != q->col)
        return (p->col > q->col) - (p->col < q->col);
    return (p->death > q->death) - (p->death < q->death);
}

static void box_index_free(box_index *x)
{
    free(x->id);
    free(x->col);
    free(x->birth);
    free(x->death);
    free(x->live);
    free(x->keys);
    memset(x, 0, sizeof *x);
}

static int box_index_alloc(box_index *x, int64_t n)
{
    memset(x, 0, sizeof *x);
    x->n = n;
    size_t m = (size_t)n + 1;
    x->id = malloc(m * sizeof *x->id);
    x->col = malloc(m * sizeof *x->col);
    x->birth = malloc(m * sizeof *x->birth);
    x->death = malloc(m * sizeof *x->death);
    x->live = malloc(m * sizeof *x->live);
    x->keys = malloc(m * sizeof *x->keys);
    if (x->id && x->col && x->birth && x->death && x->live && x->keys)
        return 0;
    box_index_free(x);
    return -1;
}

/* Sorts the points into columns of width t / COLUMNS_PER_T (never so narrow
 * that a column number overflows: at least span * 1e-9). */
static void box_index_build(box_index *x, const ph_point *p, double t, double span)
{
    x->t = t;
    x->width = fmax(t / COLUMNS_PER_T, span * 1e-9);
    if (!(x->width > 0))
        x->width = 1;
    for (int64_t i = 0; i < x->n; i++)
        x->keys[i] = (box_key){ (int64_t)floor(p[i].b / x->width), i, p[i].d };
    qsort(x->keys, (size_t)x->n, sizeof *x->keys, by_column_death);
    for (int64_t s = 0; s < x->n; s++) {
        int64_t i = x->keys[s].id;
        x->id[s] = i;
        x->birth[s] = p[i].b;
        x->death[s] = p[i].d;
        x->col[s] = x->keys[s].col;
    }
}

static void box_revive(box_index *x)
{
    for (int64_t i = 0; i <= x->n; i++)
        x->live[i] = i;
}

/* The first live position at or after i (path halving). */
static int64_t box_live(box_index *x, int64_t i)
{
    while (x->live[i] != i) {
        x->live[i] = x->live[x->live[i]];
        i = x->live[i];
    }
    return i;
}

static void box_kill(box_index *x, int64_t s)
{
    x->live[s] = s + 1;
}

/* The first sorted position at or after (column c, death d). */
static int64_t box_lower(const box_index *x, int64_t c, double d)
{
    int64_t lo = 0, hi = x->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (x->col[mid] < c || (x->col[mid] == c && x->death[mid] < d))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first sorted position after (column c, death d). */
static int64_t box_upper(const box_index *x, int64_t c, double d)
{
    int64_t lo = 0, hi = x->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (x->col[mid] < c || (x->col[mid] == c && x->death[mid] <= d))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The run is widened by a rounding margin; box_next then tests exactly
 * what the costs are, fabs of differences. */
static void box_column(const box_index *x, box_cursor *c)
{
    double margin = 1e-9 * (fabs(c->d) + x->t);
    c->at = box_lower(x, c->col, c->d - x->t - margin);
    c->end = box_upper(x, c->col, c->d + x->t + margin);
}

static void box_query(const box_index *x, box_cursor *c, ph_point q)
{
    int64_t qc = (int64_t)floor(q.b / x->width);
    c->b = q.b;
    c->d = q.d;
    c->col = qc - COLUMNS_PER_T - 1;
    c->last_col = qc + COLUMNS_PER_T + 1;
    box_column(x, c);
}

/* The next live point within t of the query at or after the cursor, or -1.
 * It stays live and the cursor stays on it: the caller kills what it takes
 * and moves on. */
static int64_t box_next(box_index *x, box_cursor *c)
{
    for (;;) {
        c->at = box_live(x, c->at);
        if (c->at < c->end) {
            if (fabs(x->birth[c->at] - c->b) <= x->t && fabs(x->death[c->at] - c->d) <= x->t)
                return c->at;
            c->at++;
            continue;
        }
        if (++c->col > c->last_col)
            return -1;
        box_column(x, c);
    }
}

/* ---- covering the must points: Hopcroft-Karp ------------------------------ */

/* Left: one diagram's points; right: the other's, in a box index. mate_l
 * and mate_r hold point ids (-1: free) so that they survive re-indexing. */
typedef struct cover_problem {
    int64_t        nl;
    const ph_point *left;
    box_index      right;
    int64_t       *mate_l, *mate_r;   /* the matching being grown */
    int64_t       *kept_l, *kept_r;   /* the matching of the largest t that failed */
    char          *must;
    int64_t       *dist, *queue;
    box_cursor    *cursor;            /* per left point, for the depth-first search */
    int64_t       *stack, *took;      /* the search path: left points and the right position each took */
} cover_problem;

static void cover_free(cover_problem *p)
{
    box_index_free(&p->right);
    free(p->mate_l);
    free(p->mate_r);
    free(p->kept_l);
    free(p->kept_r);
    free(p->must);
    free(p->dist);
    free(p->queue);
    free(p->cursor);
    free(p->stack);
    free(p->took);
}

static int cover_init(cover_problem *p, const ph_point *left, int64_t nl, int64_t nr)
{
    memset(p, 0, sizeof *p);
    p->nl = nl;
    p->left = left;
    size_t ml = (size_t)nl + 1, mr = (size_t)nr + 1;
    int rc = box_index_alloc(&p->right, nr);
    p->mate_l = malloc(ml * sizeof *p->mate_l);
    p->kept_l = malloc(ml * sizeof *p->kept_l);
    p->mate_r = malloc(mr * sizeof *p->mate_r);
    p->kept_r = malloc(mr * sizeof *p->kept_r);
    p->must = malloc(ml);
    p->dist = malloc(ml * sizeof *p->dist);
    p->queue = malloc(ml * sizeof *p->queue);
    p->cursor = malloc(ml * sizeof *p->cursor);
    p->stack = malloc(ml * sizeof *p->stack);
    p->took = malloc(ml * sizeof *p->took);
    if (rc < 0 || !p->mate_l || !p->kept_l || !p->mate_r || !p->kept_r || !p->must || !p->dist || !p->queue ||
        !p->cursor || !p->stack || !p->took) {
        cover_free(p);
        return -1;
    }
    for (int64_t i = 0; i < nl; i++)
        p->kept_l[i] = -1;
    for (int64_t j = 0; j < nr; j++)
        p->kept_r[j] = -1;
    return 0;
}

/* Whether v's mate is no obstacle: v free, or matched to a point that may
 * go to the diagonal instead. */
static int ends_path(const cover_problem *p, int64_t v_id)
{
    int64_t w = p->mate_r[v_id];
    return w < 0 || !p->must[w];
}

/* Breadth-first layers from the free must points; whether a path exists. */
static int cover_layers(cover_problem *p)
{
    enum { UNSEEN = INT64_MAX };
    box_index *x = &p->right;
    int64_t head = 0, tail = 0, limit = UNSEEN;
    for (int64_t u = 0; u < p->nl; u++) {
        p->dist[u] = UNSEEN;
        if (p->must[u] && p->mate_l[u] < 0) {
            p->dist[u] = 0;
            p->queue[tail++] = u;
        }
    }
    box_revive(x);
    while (head < tail) {
        int64_t u = p->queue[head++];
        if (p->dist[u] >= limit)
            break;
        box_cursor c;
        box_query(x, &c, p->left[u]);
        for (int64_t s; (s = box_next(x, &c)) >= 0;) {
            box_kill(x, s);
            int64_t v = x->id[s], w = p->mate_r[v];
            if (ends_path(p, v))
                limit = p->dist[u] + 1;
            else if (p->dist[w] == UNSEEN) {
                p->dist[w] = p->dist[u] + 1;
                p->queue[tail++] = w;
            }
        }
    }
    return limit != UNSEEN;
}

/* Flips the path on the stack: each left point takes the right point it
 * chose; a non-must left point displaced at the end goes to the diagonal. */
static void cover_augment(cover_problem *p, int64_t depth)
{
    int64_t last = p->right.id[p->took[depth]], dropped = p->mate_r[last];
    if (dropped >= 0)
        p->mate_l[dropped] = -1;
    for (int64_t k = depth; k >= 0; k--) {
        int64_t u = p->stack[k], v = p->right.id[p->took[k]];
        p->mate_l[u] = v;
        p->mate_r[v] = u;
    }
}

/* Depth-first search for one path from the free must point root along the
 * layers, with an explicit stack; every right point is taken once a phase
 * (on a path found, or leading to a dead end). */
static int cover_path(cover_problem *p, int64_t root)
{
    box_index *x = &p->right;
    int64_t depth = 0;
    p->stack[0] = root;
    box_query(x, &p->cursor[0], p->left[root]);
    while (depth >= 0) {
        int64_t u = p->stack[depth], s = box_next(x, &p->cursor[depth]);
        if (s < 0) {
            p->dist[u] = INT64_MAX;   /* a dead end for the rest of the phase */
            depth--;
            continue;
        }
        p->cursor[depth].at = s + 1;
        int64_t v = x->id[s], w = p->mate_r[v];
        int ends = ends_path(p, v);
        if (!ends && p->dist[w] != p->dist[u] + 1)
            continue;   /* not an edge of the layered graph: leave v to others */
        box_kill(x, s);
        p->took[depth] = s;
        if (ends) {
            cover_augment(p, depth);
            return 1;
        }
        {
            p->stack[++depth] = w;
            box_query(x, &p->cursor[depth], p->left[w]);
        }
    }
    return 0;
}

/* Whether every left point farther than t from the diagonal can be matched
 * within t. On failure the grown matching is kept for larger t. */
static int cover_decide(cover_problem *p, const ph_point *right_points, double t, double span)
{
    int64_t missing = 0;
    for (int64_t u = 0; u < p->nl; u++) {
        p->must[u] = ph_to_diagonal(p->left[u]) > t;
        missing += p->must[u];
    }
    if (missing > p->right.n)
        return 0;
    if (missing == 0)
        return 1;
    memcpy(p->mate_l, p->kept_l, (size_t)p->nl * sizeof *p->mate_l);
    memcpy(p->mate_r, p->kept_r, (size_t)p->right.n * sizeof *p->mate_r);
    box_index_build(&p->right, right_points, t, span);
    while (cover_layers(p)) {
        box_revive(&p->right);
        for (int64_t u = 0; u < p->nl; u++)
            if (p->must[u] && p->mate_l[u] < 0 && p->dist[u] == 0)
                cover_path(p, u);
    }
    int covered = 1;
    for (int64_t u = 0; u < p->nl && covered; u++)
        covered = !p->must[u] || p->mate_l[u] >= 0;
    if (!covered) {
        memcpy(p->kept_l, p->mate_l, (size_t)p->nl * sizeof *p->mate_l);
        memcpy(p->kept_r, p->mate_r, (size_t)p->right.n * sizeof *p->mate_r);
    }
    return covered;
}

/* ---- the search ------------------------------------------------------------ */

/* Non-negative doubles are ordered as their bit patterns. */
static uint64_t bits_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double double_of(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static double farthest_from_diagonal(const ph_point *p, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, ph_to_diagonal(p[i]));
    return m;
}

static double birth_span(const ph_point *a, int64_t n1, const ph_point *b, int64_t n2)
{
    double m = 0;
    for (int64_t i = 0; i < n1; i++)
        m = fmax(m, fabs(a[i].b));
    for (int64_t j = 0; j < n2; j++)
        m = fmax(m, fabs(b[j].b));
    return m;
}

int ph_bottleneck_finite(double *out, const ph_point *a, int64_t n1, const ph_point *b, int64_t n2)
{
    /* Every point to the diagonal always works. */
    double hi = fmax(farthest_from_diagonal(a, n1), farthest_from_diagonal(b, n2));
    double span = birth_span(a, n1, b, n2);
    cover_problem pa, pb;
    if (cover_init(&pa, a, n1, n2) < 0)
        return -1;
    if (cover_init(&pb, b, n2, n1) < 0) {
        cover_free(&pa);
        return -1;
    }
    uint64_t lo_bits = 0, hi_bits = bits_of(hi);
    if (cover_decide(&pa, b, 0, span) && cover_decide(&pb, a, 0, span))
        hi_bits = 0;
    while (hi_bits - lo_bits > 1) {   /* decide(lo) fails, decide(hi) holds */
        uint64_t mid = lo_bits + (hi_bits - lo_bits) / 2;
        double t = double_of(mid);
        if (cover_decide(&pa, b, t, span) && cover_decide(&pb, a, t, span))
            hi_bits = mid;
        else
            lo_bits = mid;
    }
    *out = double_of(hi_bits);
    cover_free(&pa);
    cover_free(&pb);
    return 0;
}

/* ---- the naive twin --------------------------------------------------------- */

/* The (n1 + n2)-square graph: left 0..n1-1 are A's points, n1.. diagonal
 * copies of B's; right 0..n2-1 are B's points, n2.. diagonal copies of A's. */
typedef struct bipartite {
    int64_t n1, n2, size;
    const ph_point *a, *b;
} bipartite;

static int edge_ok(const bipartite *g, int64_t u, int64_t v, double t)
{
    int ua = u < g->n1, vb = v < g->n2;
    if (ua && vb)
        return ph_linf(g->a[u], g->b[v]) <= t;
    if (ua)
        return v - g->n2 == u && ph_to_diagonal(g->a[u]) <= t;
    if (vb)
        return u - g->n1 == v && ph_to_diagonal(g->b[v]) <= t;
    return 1;
}

/* Kuhn's augmenting paths, one recursive search per left vertex. */
static int kuhn(const bipartite *g, int64_t u, double t, int64_t *mate_r, char *seen)
{
    for (int64_t v = 0; v < g->size; v++) {
        if (seen[v] || !edge_ok(g, u, v, t))
            continue;
        seen[v] = 1;
        if (mate_r[v] < 0 || kuhn(g, mate_r[v], t, mate_r, seen)) {
            mate_r[v] = u;
            return 1;
        }
    }
    return 0;
}

static int perfect_at(const bipartite *g, double t, int64_t *mate_r, char *seen)
{
    for (int64_t v = 0; v < g->size; v++)
        mate_r[v] = -1;
    for (int64_t u = 0; u < g->size; u++) {
        memset(seen, 0, (size_t)g->size);
        if (!kuhn(g, u, t, mate_r, seen))
            return 0;
    }
    return 1;
}

int ph_bottleneck_naive(double *out, const ph_point *a, int64_t n1, const ph_point *b, int64_t n2)
{
    int64_t n = n1 + n2, nc = n1 * n2 + n1 + n2 + 1, k = 0;
    double *cand = malloc((size_t)nc * sizeof *cand);
    int64_t *mate_r = malloc((size_t)(n + 1) * sizeof *mate_r);
    char *seen = malloc((size_t)n + 1);
    if (!cand || !mate_r || !seen) {
        free(cand);
        free(mate_r);
        free(seen);
        return -1;
    }
    cand[k++] = 0;
    for (int64_t i = 0; i < n1; i++) {
        cand[k++] = ph_to_diagonal(a[i]);
        for (int64_t j = 0; j < n2; j++)
            cand[k++] = ph_linf(a[i], b[j]);
    }
    for (int64_t j = 0; j < n2; j++)
        cand[k++] = ph_to_diagonal(b[j]);
    qsort(cand, (size_t)nc, sizeof *cand, nerve_compare_doubles);
    bipartite g = { n1, n2, n, a, b };
    int64_t lo = 0, hi = nc - 1;   /* the largest candidate always works */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (perfect_at(&g, cand[mid], mate_r, seen))
            hi = mid;
        else
            lo = mid + 1;
    }
    *out = cand[lo];
    free(cand);
    free(mate_r);
    free(seen);
    return 0;
}
