/*
 * diagram_distance.c — distances between persistence diagrams, as gudhi
 * defines them: points cost their L-infinity distance to each other, or
 * their distance (death - birth) / 2 to the diagonal; the bottleneck
 * distance is the smallest possible largest cost of a matching, the
 * q-Wasserstein distance the q-th root of the smallest sum of q-th powers.
 * Points on the diagonal cost nothing. Essential points (infinite death)
 * can only meet essential points: if the counts differ the distance is
 * infinite, else they are matched in order of birth.
 *
 * The bottleneck distance (exact) is in bottleneck.c; the Wasserstein
 * distance is here by the Hungarian method on the (n1 + n2)-square cost
 * matrix (exact), or in auction.c within a relative error.
 */
#define _DEFAULT_SOURCE   /* M_PI */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"
#include "ph_internal.h"

typedef ph_point point;

/* A diagram's finite, off-diagonal points and its essential births. */
typedef struct parts {
    point   *fin;
    double  *ess;
    int64_t  n_fin, n_ess;
} parts;

static void parts_free(parts *p)
{
    free(p->fin);
    free(p->ess);
}

static int split(const nerve_diagram *g, parts *p)
{
    p->fin = malloc((size_t)(g->n + 1) * sizeof *p->fin);
    p->ess = malloc((size_t)(g->n + 1) * sizeof *p->ess);
    if (!p->fin || !p->ess)
        return -1;
    for (int64_t i = 0; i < g->n; i++) {
        if (isinf(g->death[i]))
            p->ess[p->n_ess++] = g->birth[i];
        else if (g->death[i] != g->birth[i])
            p->fin[p->n_fin++] = (point){ g->birth[i], g->death[i] };
    }
    return 0;
}

/* Both diagrams' parts; on failure (out of memory) both are still safe to
 * free and hold no points, whichever allocation failed. */
static int split_both(const nerve_diagram *x, const nerve_diagram *y, parts *a, parts *b)
{
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    return split(x, a) == 0 && split(y, b) == 0 ? 0 : -1;
}

int nerve_diagram_check(const nerve_diagram *g, const char *label)
{
    for (int64_t i = 0; i < g->n; i++) {
        if (isnan(g->birth[i]) || isnan(g->death[i]) || isinf(g->birth[i]))
            return nerve_error_set(NERVE_EINPUT, "%s: point %lld is (%g, %g)", label, (long long)i, g->birth[i],
                                   g->death[i]);
        if (g->death[i] < g->birth[i])
            return nerve_error_set(NERVE_EINPUT, "%s: point %lld dies (%g) before it is born (%g)", label,
                                   (long long)i, g->death[i], g->birth[i]);
    }
    return 0;
}

/* ---- the essential parts ------------------------------------------------ */

/* Essential points matched in order of birth: their costs, or INFINITY when
 * the counts differ. For the bottleneck the largest cost, for q the sum of
 * q-th powers. */
static double essential_part(double *e1, int64_t n1, double *e2, int64_t n2, double q)
{
    if (n1 != n2)
        return INFINITY;
    qsort(e1, (size_t)n1, sizeof *e1, nerve_compare_doubles);
    qsort(e2, (size_t)n2, sizeof *e2, nerve_compare_doubles);
    double acc = 0;
    for (int64_t i = 0; i < n1; i++) {
        double c = fabs(e1[i] - e2[i]);
        acc = q <= 0 ? fmax(acc, c) : acc + pow(c, q);
    }
    return acc;
}

/* ---- Wasserstein: the Hungarian method ---------------------------------- */

/* Minimum-cost perfect assignment of an n x n cost matrix (Jonker-Volgenant
 * style potentials, O(n^3)); returns the total cost. */
static double hungarian(const double *cost, int64_t n, int *failed)
{
    double *u = calloc((size_t)n + 1, sizeof *u), *v = calloc((size_t)n + 1, sizeof *v);
    double *minv = malloc((size_t)(n + 1) * sizeof *minv);
    int64_t *p = calloc((size_t)n + 1, sizeof *p), *way = calloc((size_t)n + 1, sizeof *way);
    char *used = malloc((size_t)n + 1);
    if (!u || !v || !minv || !p || !way || !used) {
        *failed = 1;
        free(u), free(v), free(minv), free(p), free(way), free(used);
        return 0;
    }
    for (int64_t i = 1; i <= n; i++) {
        p[0] = i;
        int64_t j0 = 0;
        for (int64_t j = 0; j <= n; j++) {
            minv[j] = INFINITY;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            int64_t i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            for (int64_t j = 1; j <= n; j++) {
                if (used[j])
                    continue;
                double cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (int64_t j = 0; j <= n; j++)
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            int64_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    double total = 0;
    for (int64_t j = 1; j <= n; j++)
        total += cost[(p[j] - 1) * n + (j - 1)];
    free(u), free(v), free(minv), free(p), free(way), free(used);
    return total;
}

static int wasserstein_finite(double *out, const point *a, int64_t n1, const point *b, int64_t n2, double q)
{
    int64_t n = n1 + n2;
    if (n == 0) {
        *out = 0;
        return 0;
    }
    double *cost = malloc((size_t)(n * n) * sizeof *cost);
    if (!cost)
        return -1;
    /* rows: A's points, then diagonal slots for B's; columns: B's points,
     * then diagonal slots for A's. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double c;
            if (i < n1 && j < n2)
                c = pow(ph_linf(a[i], b[j]), q);
            else if (i < n1)
                c = j - n2 == i ? pow(ph_to_diagonal(a[i]), q) : INFINITY;
            else if (j < n2)
                c = i - n1 == j ? pow(ph_to_diagonal(b[j]), q) : INFINITY;
            else
                c = 0;
            cost[i * n + j] = isinf(c) ? 1e300 : c;
        }
    int failed = 0;
    *out = hungarian(cost, n, &failed);
    free(cost);
    return failed ? -1 : 0;
}

/* ---- the public distances ----------------------------------------------- */

/* q = 0: the bottleneck distance; else the q-Wasserstein distance, exact
 * when delta is 0, else within a relative error delta. */
static int distance(double *out, const nerve_diagram *x, const nerve_diagram *y, double q, double delta)
{
    parts a, b;
    int rc = split_both(x, y, &a, &b);
    double finite = 0, ess = 0;
    if (rc == 0) {
        ess = essential_part(a.ess, a.n_ess, b.ess, b.n_ess, q);
        if (!isinf(ess))
            rc = q <= 0     ? ph_bottleneck_finite(&finite, a.fin, a.n_fin, b.fin, b.n_fin)
                 : delta > 0 ? ph_wasserstein_auction(&finite, a.fin, a.n_fin, b.fin, b.n_fin, q, delta)
                             : wasserstein_finite(&finite, a.fin, a.n_fin, b.fin, b.n_fin, q);
    }
    if (rc == 0)
        *out = isinf(ess) ? INFINITY : q <= 0 ? fmax(finite, ess) : pow(finite + ess, 1 / q);
    parts_free(&a);
    parts_free(&b);
    return rc < 0 ? nerve_error_set(NERVE_ENOMEM, "diagram distance: out of memory") : 0;
}

int nerve_diagram_bottleneck(double *out, const nerve_diagram *a, const nerve_diagram *b)
{
    return distance(out, a, b, 0, 0);
}

int nerve_diagram_wasserstein(double *out, const nerve_diagram *a, const nerve_diagram *b, double q)
{
    if (!(q >= 1))
        return nerve_error_set(NERVE_EINPUT, "Wasserstein distance: the order q must be >= 1, not %g", q);
    return distance(out, a, b, q, 0);
}

double nerve_diagram_wasserstein_default_error(const nerve_diagram *a, const nerve_diagram *b)
{
    enum { EXACT_POINTS = 500 };
    return a->n + b->n <= EXACT_POINTS ? 0 : 0.001;
}

int nerve_diagram_wasserstein_within(double *out, const nerve_diagram *a, const nerve_diagram *b, double q,
                                     double relative_error)
{
    if (!(q >= 1) || isinf(q))
        return nerve_error_set(NERVE_EINPUT, "Wasserstein distance: the order q must be >= 1, not %g", q);
    if (!(relative_error >= 0) || isinf(relative_error))
        return nerve_error_set(NERVE_EINPUT, "Wasserstein distance: the relative error must be >= 0, not %g",
                               relative_error);
    /* W^q within 1 + e makes W within (1 + e)^(1/q) <= 1 + e. */
    return distance(out, a, b, q, relative_error);
}

/* ---- sliced Wasserstein ------------------------------------------------- */

/* gudhi's: the finite points of each diagram and the diagonal projections
 * of the other's, projected on `directions` lines at angles evenly spaced
 * in [-pi/2, pi/2), sorted, compared in L1, averaged over the lines. */
int nerve_diagram_sliced_wasserstein(double *out, const nerve_diagram *x, const nerve_diagram *y, int64_t directions)
{
    if (directions < 1)
        return nerve_error_set(NERVE_EINPUT, "sliced Wasserstein: %lld directions", (long long)directions);
    parts px, py;
    int rc = split_both(x, y, &px, &py);
    const point *a = px.fin, *b = py.fin;
    int64_t na = px.n_fin, nb = py.n_fin, n = na + nb;   /* 0 when the split failed */
    double *pa = rc == 0 ? malloc((size_t)(n + 1) * sizeof *pa) : NULL;
    double *pb = rc == 0 ? malloc((size_t)(n + 1) * sizeof *pb) : NULL;
    if (rc == 0 && (!pa || !pb))
        rc = -1;
    double total = 0;
    for (int64_t k = 0; rc == 0 && k < directions; k++) {
        double theta = -M_PI / 2 + M_PI * (double)k / (double)directions, c = cos(theta), s = sin(theta);
        for (int64_t i = 0; i < na; i++) {
            pa[i] = a[i].b * c + a[i].d * s;
            pb[nb + i] = (a[i].b + a[i].d) / 2 * (c + s);
        }
        for (int64_t j = 0; j < nb; j++) {
            pb[j] = b[j].b * c + b[j].d * s;
            pa[na + j] = (b[j].b + b[j].d) / 2 * (c + s);
        }
        qsort(pa, (size_t)n, sizeof *pa, nerve_compare_doubles);
        qsort(pb, (size_t)n, sizeof *pb, nerve_compare_doubles);
        for (int64_t i = 0; i < n; i++)
            total += fabs(pa[i] - pb[i]);
    }
    if (rc == 0)
        *out = total / (double)directions;
    parts_free(&px);
    parts_free(&py);
    free(pa);
    free(pb);
    return rc < 0 ? nerve_error_set(NERVE_ENOMEM, "sliced Wasserstein: out of memory") : 0;
}
