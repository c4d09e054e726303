/*
 * ph_internal.h — what the ph room's diagram-distance files share.
 */
#ifndef NERVE_PH_INTERNAL_H
#define NERVE_PH_INTERNAL_H

#include <math.h>
#include <stdint.h>

/* A finite, off-diagonal point of a diagram. */
typedef struct ph_point {
    double b, d;
} ph_point;

static inline double ph_linf(ph_point p, ph_point q)
{
    return fmax(fabs(p.b - q.b), fabs(p.d - q.d));
}

/* The L-infinity distance to the diagonal. */
static inline double ph_to_diagonal(ph_point p)
{
    return (p.d - p.b) / 2;
}

/* The bottleneck distance between two sets of finite points (gudhi's
 * costs; the diagonal free). Exact. -1 when out of memory. */
int ph_bottleneck_finite(double *out, const ph_point *a, int64_t n1, const ph_point *b, int64_t n2);
/* Its naive twin, for the tests: a search over every candidate cost with
 * Kuhn's matching on the (n1 + n2)-square graph; O(n^3 log n). */
int ph_bottleneck_naive(double *out, const ph_point *a, int64_t n1, const ph_point *b, int64_t n2);

/* The q-Wasserstein cost (the sum of q-th powers) of the finite parts by
 * the auction algorithm, at most (1 + delta) times the optimum. */
int ph_wasserstein_auction(double *out, const ph_point *a, int64_t n1, const ph_point *b, int64_t n2, double q,
                           double delta);

#endif
