/*
 * vectorise.c — persistence diagrams as vectors a classifier or a plot can
 * take: Betti curves, persistence landscapes, persistence images,
 * persistent entropy and total persistence, with gudhi.representations'
 * definitions. Classes that never die are left out of all of them.
 */
#define _DEFAULT_SOURCE   /* M_PI */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"

/* The grid t_i = t0 + i (t1 - t0) / (n - 1), as numpy.linspace. */
static double grid_at(double t0, double t1, int64_t n, int64_t i)
{
    return n == 1 ? t0 : t0 + (double)i * (t1 - t0) / (double)(n - 1);
}

void nerve_diagram_betti(double *out, const nerve_diagram *g, double t0, double t1, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double t = grid_at(t0, t1, n, i);
        int64_t alive = 0;
        for (int64_t k = 0; k < g->n; k++)
            alive += !isinf(g->death[k]) && g->birth[k] <= t && t < g->death[k];
        out[i] = (double)alive;
    }
}

static int by_descending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int nerve_diagram_landscape(double *out, const nerve_diagram *g, int64_t levels, double t0, double t1, int64_t n)
{
    double *tent = malloc((size_t)(g->n + 1) * sizeof *tent);
    if (!tent)
        return nerve_error_set(NERVE_ENOMEM, "landscape: out of memory");
    for (int64_t i = 0; i < n; i++) {
        double t = grid_at(t0, t1, n, i);
        int64_t m = 0;
        for (int64_t k = 0; k < g->n; k++)
            if (!isinf(g->death[k])) {
                double h = fmin(t - g->birth[k], g->death[k] - t);
                tent[m++] = h > 0 ? M_SQRT2 * h : 0;   /* gudhi's scale: heights in the rotated frame */
            }
        qsort(tent, (size_t)m, sizeof *tent, by_descending);
        for (int64_t l = 0; l < levels; l++)
            out[l * n + i] = l < m ? tent[l] : 0;
    }
    free(tent);
    return 0;
}

void nerve_diagram_image(double *out, const nerve_diagram *g, double sigma, double b0, double b1, double p0,
                         double p1, int64_t res)
{
    /* Points as (birth, persistence); each a Gaussian of width sigma, weight 1. */
    double norm = 1 / (2 * M_PI * sigma * sigma);
    for (int64_t py = 0; py < res; py++)
        for (int64_t px = 0; px < res; px++) {
            double x = grid_at(b0, b1, res, px), y = grid_at(p0, p1, res, py), s = 0;
            for (int64_t k = 0; k < g->n; k++) {
                if (isinf(g->death[k]))
                    continue;
                double dx = x - g->birth[k], dy = y - (g->death[k] - g->birth[k]);
                s += exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
            }
            out[py * res + px] = s * norm;
        }
}

double nerve_diagram_entropy(const nerve_diagram *g)
{
    double total = 0, h = 0;
    for (int64_t k = 0; k < g->n; k++)
        if (!isinf(g->death[k]))
            total += g->death[k] - g->birth[k];
    for (int64_t k = 0; k < g->n && total > 0; k++) {
        double l = isinf(g->death[k]) ? 0 : g->death[k] - g->birth[k];
        if (l > 0)
            h -= l / total * log(l / total);
    }
    return h;
}

double nerve_diagram_total_persistence(const nerve_diagram *g, double p)
{
    double s = 0;
    for (int64_t k = 0; k < g->n; k++)
        if (!isinf(g->death[k]))
            s += pow(g->death[k] - g->birth[k], p);
    return s;
}
