/*
 * auction.c — the q-Wasserstein cost between the finite parts of two large
 * diagrams by Bertsekas' auction algorithm with epsilon scaling, stopped
 * when the matching's cost is within a relative error of the optimum
 * (Kerber, Morozov, Nigmetov, "Geometry helps to compare persistence
 * diagrams", 2017, use the same bound).
 *
 * The assignment problem is the usual square one: bidders are A's points
 * and diagonal copies of B's, items are B's points and diagonal copies of
 * A's. A point of A may take any point of B or its own diagonal copy; a
 * diagonal copy of B's point j may take point j or any diagonal copy of A,
 * for free. The free block is never scanned: the diagonal items sit in a
 * min-heap by price, whose top two are a diagonal bidder's best choices.
 *
 * Stopping: for any prices p, sum over bidders of min_j (c_ij + p_j)
 * minus the sum of prices is at most the optimum (weak duality), so once
 * the matching's cost is at most (1 + delta) times that bound it is at most
 * (1 + delta) times the optimum.
 *
 * A bidder from A scans all of B's points (a tight loop the compiler
 * vectorises): diagrams of a few thousand points take well under a second,
 * 10,000 points about 12 s (gudhi.hera's k-d trees: 5 s).
 */
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "nerve/internal/simd.h"
#include "ph_internal.h"

/* eps scaling stops at this fraction of the largest cost: a price (a few
 * times that cost at most) still rises by eps in double, so a bidding war
 * among equal choices (equal diagrams, repeated points) ends, where a
 * smaller eps would leave the prices as they are and the war endless. */
static const double EPS_FLOOR = 1e-13;

/* ---- heaps of items by price ---------------------------------------------- */

/* Items first .. first + n - 1 in a min-heap by price; prices only rise. */
typedef struct price_heap {
    int64_t       n, first;
    int64_t      *item, *at;   /* (n) heap slot -> item offset, offset -> slot */
    const double *price;
} price_heap;

static double heap_price(const price_heap *h, int64_t k)
{
    return h->price[h->first + h->item[k]];
}

/* The k-th slot's item, as an item number. */
static int64_t heap_item(const price_heap *h, int64_t k)
{
    return h->first + h->item[k];
}

static void heap_swap(price_heap *h, int64_t i, int64_t j)
{
    int64_t t = h->item[i];
    h->item[i] = h->item[j];
    h->item[j] = t;
    h->at[h->item[i]] = i;
    h->at[h->item[j]] = j;
}

/* An item's price rose: move it down. */
static void heap_rose(price_heap *h, int64_t item)
{
    int64_t k = h->at[item - h->first];
    for (;;) {
        int64_t l = 2 * k + 1, r = l + 1, m = k;
        if (l < h->n && heap_price(h, l) < heap_price(h, m))
            m = l;
        if (r < h->n && heap_price(h, r) < heap_price(h, m))
            m = r;
        if (m == k)
            return;
        heap_swap(h, k, m);
        k = m;
    }
}

/* All prices equal (zero) at the start: any order is a heap. */
static int heap_init(price_heap *h, int64_t first, int64_t n, const double *price)
{
    h->n = n;
    h->first = first;
    h->price = price;
    h->item = malloc(((size_t)n + 1) * sizeof *h->item);
    h->at = malloc(((size_t)n + 1) * sizeof *h->at);
    if (!h->item || !h->at)
        return -1;
    for (int64_t i = 0; i < n; i++)
        h->item[i] = h->at[i] = i;
    return 0;
}

static void heap_free(price_heap *h)
{
    free(h->item);
    free(h->at);
}

typedef struct auction {
    int64_t  n1, n2, n;         /* n = n1 + n2 bidders and items */
    const ph_point *a, *b;
    double   q;
    double  *price;             /* (n) items: B's points, then A's diagonal copies */
    int64_t *owner;             /* (n) bidder holding each item, -1: none */
    int64_t *holds;             /* (n) item each bidder holds, -1: none */
    price_heap diagonal;        /* A's diagonal copies by price */
    int64_t *queue;             /* (n) unassigned bidders, a ring */
    double  *scratch;           /* (n2) a bidder's values of B's points */
} auction;

static double power(double x, double q)
{
    return q == 1 ? x : q == 2 ? x * x : pow(x, q);
}

/* ---- bidding ------------------------------------------------------------ */

typedef struct choice {
    int64_t best;
    double  v1, v2;   /* the lowest cost + price, the second lowest */
} choice;

static void consider(choice *c, int64_t item, double v)
{
    if (v < c->v1) {
        c->v2 = c->v1;
        c->v1 = v;
        c->best = item;
    } else if (v < c->v2) {
        c->v2 = v;
    }
}

/* cost[j] + price[j] over B's points for point p of A, in v; returns the
 * least. Branch-free loops the compiler vectorises (q = 1 and 2; pow
 * otherwise). */
NERVE_SIMD_CLONES
static double scan_values(double *restrict v, const auction *s, ph_point p)
{
    const ph_point *restrict b = s->b;
    const double *restrict price = s->price;
    const int64_t n = s->n2;
    double least = INFINITY;
    if (s->q == 1 || s->q == 2) {
        const int square = s->q == 2;
        #pragma omp simd reduction(min : least)
        for (int64_t j = 0; j < n; j++) {
            double db = fabs(p.b - b[j].b), dd = fabs(p.d - b[j].d), c = db > dd ? db : dd;
            v[j] = (square ? c * c : c) + price[j];
            least = v[j] < least ? v[j] : least;
        }
    } else {
        for (int64_t j = 0; j < n; j++) {
            v[j] = pow(ph_linf(p, b[j]), s->q) + price[j];
            least = v[j] < least ? v[j] : least;
        }
    }
    return least;
}

/* The least of v other than at `skip`. */
NERVE_SIMD_CLONES
static double least_but(const double *restrict v, int64_t n, int64_t skip)
{
    double least = INFINITY;
    #pragma omp simd reduction(min : least)
    for (int64_t j = 0; j < n; j++) {
        double x = j == skip ? INFINITY : v[j];
        least = x < least ? x : least;
    }
    return least;
}

/* A bidder's best and second best items at the current prices (the first
 * of equally good items is the best). */
static choice best_items(const auction *s, int64_t bidder)
{
    choice c = { -1, INFINITY, INFINITY };
    if (bidder < s->n1) {
        ph_point p = s->a[bidder];
        if (s->n2 > 0) {
            c.v1 = scan_values(s->scratch, s, p);
            c.best = 0;
            while (s->scratch[c.best] != c.v1)
                c.best++;
            c.v2 = least_but(s->scratch, s->n2, c.best);
        }
        consider(&c, s->n2 + bidder, power(ph_to_diagonal(p), s->q) + s->price[s->n2 + bidder]);
    } else {
        int64_t j = bidder - s->n1;
        consider(&c, j, power(ph_to_diagonal(s->b[j]), s->q) + s->price[j]);
        for (int64_t k = 0; k < 3 && k < s->n1; k++)   /* the heap's top three hold its two cheapest */
            consider(&c, heap_item(&s->diagonal, k), heap_price(&s->diagonal, k));
    }
    return c;
}

/* Bidder i takes its best item, raising the price by the margin over the
 * second best plus eps; the item's previous owner goes back in line. */
static int64_t bid(auction *s, int64_t i, double eps, double ceiling)
{
    choice c = best_items(s, i);
    double second = isinf(c.v2) ? c.v1 + ceiling : c.v2;   /* one choice only: outbid everyone */
    int64_t item = c.best, loser = s->owner[item];
    s->price[item] += second - c.v1 + eps;
    if (item >= s->n2)
        heap_rose(&s->diagonal, item);
    s->owner[item] = i;
    s->holds[i] = item;
    if (loser >= 0)
        s->holds[loser] = -1;
    return loser;
}

static void auction_round(auction *s, double eps, double ceiling)
{
    int64_t head = 0, count = 0;
    for (int64_t i = 0; i < s->n; i++) {
        s->holds[i] = s->owner[i] = -1;
        s->queue[count++] = i;
    }
    while (count > 0) {
        int64_t i = s->queue[head];
        head = (head + 1) % s->n;
        count--;
        int64_t loser = bid(s, i, eps, ceiling);
        if (loser >= 0) {
            s->queue[(head + count) % s->n] = loser;
            count++;
        }
    }
}

static double cost_of(const auction *s, int64_t bidder, int64_t item)
{
    if (bidder < s->n1)
        return item < s->n2 ? power(ph_linf(s->a[bidder], s->b[item]), s->q)
                            : power(ph_to_diagonal(s->a[bidder]), s->q);
    return item < s->n2 ? power(ph_to_diagonal(s->b[item]), s->q) : 0;
}

static double assignment_cost(const auction *s)
{
    double total = 0;
    for (int64_t i = 0; i < s->n; i++)
        total += cost_of(s, i, s->holds[i]);
    return total;
}

/* The weak-duality lower bound on the optimum at the current prices. */
static double dual_bound(const auction *s)
{
    double total = 0;
    for (int64_t i = 0; i < s->n; i++)
        total += best_items(s, i).v1;
    for (int64_t j = 0; j < s->n; j++)
        total -= s->price[j];
    return total;
}

static double largest_cost(const auction *s)
{
    double m = 0;
    for (int64_t i = 0; i < s->n1; i++)
        m = fmax(m, ph_to_diagonal(s->a[i]));
    for (int64_t j = 0; j < s->n2; j++)
        m = fmax(m, ph_to_diagonal(s->b[j]));
    return power(2 * m, s->q);   /* a matched pair costs at most twice the farther point's distance */
}

static void auction_free(auction *s)
{
    free(s->price);
    free(s->owner);
    free(s->holds);
    heap_free(&s->diagonal);
    free(s->queue);
    free(s->scratch);
}

static int by_birth_then_death(const void *x, const void *y)
{
    const ph_point *p = x, *q = y;
    return p->b < q->b ? -1 : p->b > q->b ? 1 : p->d < q->d ? -1 : p->d > q->d;
}

/* Whether a and b hold the same points, counted with multiplicity. The
 * optimum is then 0, which the relative stopping rule cannot certify: the
 * auction would run to its eps floor and answer up to n eps (about 1e-12
 * of the largest cost per point) instead. When out of memory, "no". */
static int same_points(const ph_point *a, const ph_point *b, int64_t n)
{
    ph_point *sa = malloc(((size_t)n + 1) * sizeof *sa), *sb = malloc(((size_t)n + 1) * sizeof *sb);
    int same = sa && sb;
    if (same) {
        memcpy(sa, a, (size_t)n * sizeof *sa);
        memcpy(sb, b, (size_t)n * sizeof *sb);
        qsort(sa, (size_t)n, sizeof *sa, by_birth_then_death);
        qsort(sb, (size_t)n, sizeof *sb, by_birth_then_death);
        for (int64_t i = 0; same && i < n; i++)
            same = sa[i].b == sb[i].b && sa[i].d == sb[i].d;
    }
    free(sa);
    free(sb);
    return same;
}

int ph_wasserstein_auction(double *out, const ph_point *a, int64_t n1, const ph_point *b, int64_t n2, double q,
                           double delta)
{
    auction s = { .n1 = n1, .n2 = n2, .n = n1 + n2, .a = a, .b = b, .q = q };
    if (s.n == 0 || (n1 == n2 && same_points(a, b, n1))) {
        *out = 0;
        return 0;
    }
    size_t m = (size_t)s.n + 1;
    s.price = calloc(m, sizeof *s.price);
    s.owner = malloc(m * sizeof *s.owner);
    s.holds = malloc(m * sizeof *s.holds);
    s.queue = malloc(m * sizeof *s.queue);
    s.scratch = malloc(((size_t)n2 + 1) * sizeof *s.scratch);
    int heaps = s.price ? heap_init(&s.diagonal, n2, n1, s.price) : -1;
    if (heaps < 0 || !s.price || !s.owner || !s.holds || !s.queue || !s.scratch) {
        auction_free(&s);
        return -1;
    }
    double ceiling = largest_cost(&s) + 1, eps = ceiling / 4, cost = 0;
    for (;;) {
        auction_round(&s, eps, ceiling);
        cost = assignment_cost(&s);
        double bound = dual_bound(&s);
        if (cost <= (1 + delta) * bound || eps / 5 < EPS_FLOOR * ceiling)
            break;
        eps /= 5;
    }
    *out = cost;
    auction_free(&s);
    return 0;
}
