/*
 * cover.c — overlapping covers of the lens's range. Each lens dimension gets
 * a list of intervals; the cover's elements are their products, in
 * KeplerMapper's order (itertools.product: the first dimension slowest), and
 * an element keeps the points inside it in every dimension. The interval
 * arithmetic repeats KeplerMapper's and giotto-tda's float64 operations in
 * the same order, so borderline points fall on the same side.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mapper_internal.h"

const char *nerve_cover_name(nerve_cover_kind k)
{
    return k == NERVE_COVER_GIOTTO ? "giotto" : k == NERVE_COVER_BALANCED ? "balanced" : "kmapper";
}

int nerve_cover_parse(const char *s, nerve_cover_kind *k)
{
    for (int i = NERVE_COVER_KMAPPER; i <= NERVE_COVER_BALANCED; i++)
        if (strcmp(s, nerve_cover_name((nerve_cover_kind)i)) == 0) {
            *k = (nerve_cover_kind)i;
            return 0;
        }
    return -1;
}

void nerve_cover_free(nerve_cover *c)
{
    free(c->start);
    free(c->points);
    free(c->grid);
    memset(c, 0, sizeof *c);
}

/* One dimension's intervals: lo[i] <= v <= hi[i] (closed) or lo < v < hi. */
typedef struct intervals {
    int64_t n;
    double *lo, *hi;
    int     open;
} intervals;

/* numpy.linspace(start, stop, num)[i], operation for operation. */
static double linspace_at(double start, double stop, int64_t num, int64_t i)
{
    if (num == 1)
        return start;
    if (i == num - 1)
        return stop;
    double delta = stop - start, step = delta / (double)(num - 1);
    if (step == 0)
        return (double)i / (double)(num - 1) * delta + start;
    return (double)i * step + start;
}

/* KeplerMapper 2.1's Cover.fit for one dimension. A constant dimension gets
 * one interval (KeplerMapper would repeat the same one n times). */
static void kmapper_intervals(intervals *iv, double min, double max, int64_t n, double p)
{
    double range = max - min;
    if (range == 0)
        n = 1;
    double inner_range = ((double)(n - 1) / (double)n) * range;
    double inset = (range - inner_range) / 2;
    double radius = range / ((double)(2 * n) * (1 - p));
    iv->n = n;
    iv->open = 0;
    for (int64_t i = 0; i < n; i++) {
        double c = linspace_at(min + inset, max - inset, n, i);
        iv->lo[i] = c - radius;
        iv->hi[i] = c + radius;
    }
}

/* giotto-tda's OneDimensionalCover(kind='uniform'): open intervals of length
 * range / (n (1 - p) + p), the outer ends unbounded. */
static void giotto_intervals(intervals *iv, double min, double max, int64_t n, double p)
{
    double range = max - min;
    if (range == 0)
        n = 1;
    double l = range / ((double)n * (1 - p) + p);
    double last = min + (double)(n - 1) * (1 - p) * l;
    iv->n = n;
    iv->open = 1;
    for (int64_t i = 0; i < n; i++) {
        iv->lo[i] = i == 0 ? -INFINITY : linspace_at(min, last, n, i);
        iv->hi[i] = i == n - 1 ? INFINITY : linspace_at(min, last, n, i) + l;
    }
}

static int inside(const intervals *iv, int64_t i, double v)
{
    return iv->open ? v > iv->lo[i] && v < iv->hi[i] : v >= iv->lo[i] && v <= iv->hi[i];
}

/* The lens's column dim, or its ranks (ties share the smallest) for the
 * balanced cover. */
typedef struct ranked {
    double  v;
    int64_t i;
} ranked;

static int by_value(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v ? 1 : (x->i > y->i) - (x->i < y->i);
}

static int column_values(double *out, const nerve_lens *lens, int64_t dim, int balanced)
{
    int64_t n = lens->n;
    if (!balanced) {
        for (int64_t i = 0; i < n; i++)
            out[i] = lens->values[i * lens->dims + dim];
        return 0;
    }
    ranked *r = malloc((size_t)n * sizeof *r + 1);
    if (!r)
        return -1;
    for (int64_t i = 0; i < n; i++)
        r[i] = (ranked){ lens->values[i * lens->dims + dim], i };
    qsort(r, (size_t)n, sizeof *r, by_value);
    for (int64_t s = 0; s < n; s++)
        out[r[s].i] = s > 0 && r[s].v == r[s - 1].v ? out[r[s - 1].i] : (double)s;
    free(r);
    return 0;
}

/* Per point and dimension, the first and last interval holding it
 * (intervals are sorted and overlap only neighbours, so those between hold
 * it too); first > last when none does. */
static int dimension_ranges(int64_t *first, int64_t *last, intervals *iv, const nerve_lens *lens, int64_t dim,
                            nerve_cover_kind kind, int64_t n_intervals, double overlap)
{
    int64_t n = lens->n;
    double *v = malloc((size_t)n * sizeof *v + 1);
    if (!v || column_values(v, lens, dim, kind == NERVE_COVER_BALANCED) < 0) {
        free(v);
        return -1;
    }
    double min = INFINITY, max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        min = v[i] < min ? v[i] : min;
        max = v[i] > max ? v[i] : max;
    }
    if (kind == NERVE_COVER_GIOTTO)
        giotto_intervals(iv, min, max, n_intervals, overlap);
    else
        kmapper_intervals(iv, min, max, n_intervals, overlap);
    for (int64_t i = 0; i < n; i++) {
        first[i] = iv->n;
        last[i] = -1;
        for (int64_t c = 0; c < iv->n; c++)
            if (inside(iv, c, v[i])) {
                first[i] = c < first[i] ? c : first[i];
                last[i] = c;
            }
    }
    free(v);
    return 0;
}

/* Calls visit(element, point) for every grid element holding the point,
 * in ascending element order. */
static void for_each_element(const int64_t *first, const int64_t *last, const int64_t *size, int64_t dims,
                             int64_t n, int64_t point, void (*visit)(void *, int64_t, int64_t), void *ctx)
{
    int64_t at[NERVE_LENS_MAX_DIMS];
    for (int64_t k = 0; k < dims; k++) {
        at[k] = first[k * n + point];
        if (at[k] > last[k * n + point])
            return;
    }
    for (;;) {
        int64_t e = 0;
        for (int64_t k = 0; k < dims; k++)
            e = e * size[k] + at[k];
        visit(ctx, e, point);
        int64_t k = dims - 1;
        while (k >= 0 && at[k] == last[k * n + point]) {
            at[k] = first[k * n + point];
            k--;
        }
        if (k < 0)
            return;
        at[k]++;
    }
}

typedef struct fill_ctx {
    int64_t *count;      /* per grid element */
    int64_t *points;     /* NULL while counting */
} fill_ctx;

static void count_or_fill(void *ctx, int64_t e, int64_t point)
{
    fill_ctx *f = ctx;
    if (f->points)
        f->points[f->count[e]++] = point;
    else
        f->count[e]++;
}

/* Lays out the non-empty grid elements' point lists. */
static int gather_elements(nerve_cover *out, const int64_t *first, const int64_t *last, const int64_t *size,
                           int64_t dims, int64_t n, int64_t grid)
{
    fill_ctx f = { calloc((size_t)grid + 1, sizeof *f.count), NULL };
    if (!f.count)
        return -1;
    for (int64_t i = 0; i < n; i++)
        for_each_element(first, last, size, dims, n, i, count_or_fill, &f);
    int64_t used = 0, total = 0;
    for (int64_t e = 0; e < grid; e++) {
        used += f.count[e] > 0;
        total += f.count[e];
    }
    out->n_elements = used;
    out->start = malloc((size_t)(used + 1) * sizeof *out->start);
    out->grid = malloc((size_t)used * sizeof *out->grid + 1);
    out->points = malloc((size_t)total * sizeof *out->points + 1);
    if (!out->start || !out->grid || !out->points) {
        free(f.count);
        return -1;
    }
    /* count[e] becomes the element's write position. */
    int64_t at = 0, k = 0;
    for (int64_t e = 0; e < grid; e++) {
        int64_t c = f.count[e];
        if (c > 0) {
            out->grid[k] = e;
            out->start[k++] = at;
        }
        f.count[e] = at;
        at += c;
    }
    out->start[used] = total;
    f.points = out->points;
    for (int64_t i = 0; i < n; i++)
        for_each_element(first, last, size, dims, n, i, count_or_fill, &f);
    free(f.count);
    return 0;
}

int nerve_cover_build(nerve_cover *out, const nerve_lens *lens, nerve_cover_kind kind, int64_t n_intervals,
                      double overlap)
{
    memset(out, 0, sizeof *out);
    int64_t n = lens->n, dims = lens->dims;
    if (n_intervals < 1)
        return nerve_error_set(NERVE_EINPUT, "cover: intervals must be >= 1, not %lld", (long long)n_intervals);
    if (!(overlap >= 0 && overlap < 1))
        return nerve_error_set(NERVE_EINPUT, "cover: overlap must be in [0, 1), not %g", overlap);
    if (dims < 1 || dims > NERVE_LENS_MAX_DIMS)
        return nerve_error_set(NERVE_EINPUT, "cover: the lens has %lld dimensions, 1 to %d are supported",
                               (long long)dims, NERVE_LENS_MAX_DIMS);
    int64_t grid = 1, size[NERVE_LENS_MAX_DIMS];
    for (int64_t k = 0; k < dims; k++) {
        grid *= n_intervals;
        if (grid > (int64_t)1 << 26)
            return nerve_error_set(NERVE_EINPUT, "cover: %lld intervals in %lld dimensions is too many elements",
                                   (long long)n_intervals, (long long)dims);
    }
    int64_t *first = malloc((size_t)(n * dims) * sizeof *first + 1);
    int64_t *last = malloc((size_t)(n * dims) * sizeof *last + 1);
    double *bounds = malloc((size_t)(2 * n_intervals) * sizeof *bounds);
    int rc = first && last && bounds ? 0 : -1;
    grid = 1;
    for (int64_t k = 0; rc == 0 && k < dims; k++) {
        intervals iv = { .lo = bounds, .hi = bounds + n_intervals };
        rc = dimension_ranges(first + k * n, last + k * n, &iv, lens, k, kind, n_intervals, overlap);
        size[k] = iv.n;
        grid *= iv.n;
    }
    if (rc == 0)
        rc = gather_elements(out, first, last, size, dims, n, grid);
    free(first);
    free(last);
    free(bounds);
    if (rc < 0) {
        nerve_cover_free(out);
        return nerve_error_set(NERVE_ENOMEM, "cover: out of memory");
    }
    return 0;
}
