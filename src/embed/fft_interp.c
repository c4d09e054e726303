/*
 * fft_interp.c — t-SNE's repulsive forces by FFT-accelerated
 * interpolation (Linderman et al., 2019, FIt-SNE), in 2-D: the embedding's
 * square is cut into boxes, each with p x p equispaced interpolation nodes;
 * every point spreads four charges (1, x, y, x^2 + y^2) onto its box's
 * nodes with Lagrange weights; the nodes' potentials under the squared
 * Cauchy kernel 1 / (1 + d^2)^2 are one circulant convolution, done by
 * FFT; and the potentials are interpolated back to the points. From the
 * four potentials come both sum_j q_ij^2 (y_i - y_j) and sum_j q_ij.
 *
 * The spreading and the sums run in a fixed order (FFTW on one thread), so
 * the result does not depend on the thread count.
 */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed_internal.h"

enum { NODES = 3, MIN_BOXES = 50 };

struct tsne_fft {
    int64_t       n_fft;                 /* 2 x nodes per side */
    double       *grid;                  /* n_fft^2 real */
    fftw_complex *freq, *kernel;         /* n_fft x (n_fft / 2 + 1) */
    fftw_plan     forward, inverse, kernel_plan;
    double       *charges, *potentials;  /* 4 x nodes^2 */
};

void tsne_fft_free(tsne_fft *f)
{
    if (!f)
        return;
    if (f->forward) {
        fftw_destroy_plan(f->forward);
        fftw_destroy_plan(f->inverse);
        fftw_destroy_plan(f->kernel_plan);
    }
    fftw_free(f->grid);
    fftw_free(f->freq);
    fftw_free(f->kernel);
    free(f->charges);
    free(f->potentials);
    free(f);
}

/* Box counts FIt-SNE rounds up to (sizes FFTs like). */
static int64_t box_count(double span)
{
    static const int64_t nice[] = { 25, 36, 50, 55, 60, 65, 70, 75, 80, 85, 90, 96, 100, 110, 120, 130, 140, 150, 175, 200 };
    int64_t want = (int64_t)ceil(span);
    if (want < MIN_BOXES)
        want = MIN_BOXES;
    for (size_t i = 0; i < sizeof nice / sizeof nice[0]; i++)
        if (nice[i] >= want)
            return nice[i];
    return want;
}

/* (Re)makes the buffers and plans for a grid of m nodes per side. */
static int prepare(tsne_fft **pf, int64_t m)
{
    tsne_fft *f = *pf;
    if (f && f->n_fft == 2 * m)
        return 0;
    tsne_fft_free(f);
    *pf = f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    int64_t n = 2 * m, half = n / 2 + 1;
    f->n_fft = n;
    f->grid = fftw_malloc((size_t)(n * n) * sizeof *f->grid);
    f->freq = fftw_malloc((size_t)(n * half) * sizeof *f->freq);
    f->kernel = fftw_malloc((size_t)(n * half) * sizeof *f->kernel);
    f->charges = malloc((size_t)(4 * m * m) * sizeof *f->charges);
    f->potentials = malloc((size_t)(4 * m * m) * sizeof *f->potentials);
    if (!f->grid || !f->freq || !f->kernel || !f->charges || !f->potentials)
        return -1;
    f->forward = fftw_plan_dft_r2c_2d((int)n, (int)n, f->grid, f->freq, FFTW_ESTIMATE);
    f->kernel_plan = fftw_plan_dft_r2c_2d((int)n, (int)n, f->grid, f->kernel, FFTW_ESTIMATE);
    f->inverse = fftw_plan_dft_c2r_2d((int)n, (int)n, f->freq, f->grid, FFTW_ESTIMATE);
    return f->forward && f->kernel_plan && f->inverse ? 0 : -1;
}

/* The kernel at every node offset, laid out circulantly, transformed. */
static void kernel_transform(tsne_fft *f, int64_t m, double spacing)
{
    int64_t n = f->n_fft;
    memset(f->grid, 0, (size_t)(n * n) * sizeof *f->grid);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < m; j++) {
            double dx = (double)i * spacing, dy = (double)j * spacing, q = 1 / (1 + dx * dx + dy * dy);
            double v = q * q;
            f->grid[(m + i) * n + (m + j)] = v;
            f->grid[(m - i) * n + (m + j)] = v;
            f->grid[(m + i) * n + (m - j)] = v;
            f->grid[(m - i) * n + (m - j)] = v;
        }
    fftw_execute(f->kernel_plan);
}

/* Lagrange weights of the NODES equispaced nodes at (k + 0.5) / NODES. */
static void lagrange(double *w, double t)
{
    for (int j = 0; j < NODES; j++) {
        double sj = (j + 0.5) / NODES, v = 1;
        for (int k = 0; k < NODES; k++)
            if (k != j)
                v *= (t - (k + 0.5) / NODES) / (sj - (k + 0.5) / NODES);
        w[j] = v;
    }
}

/* A point's box and weights along one axis. */
static void locate(int64_t *box, double *w, double v, double lo, double width, int64_t boxes)
{
    int64_t b = (int64_t)((v - lo) / width);
    b = b < 0 ? 0 : b >= boxes ? boxes - 1 : b;
    *box = b;
    lagrange(w, (v - lo - (double)b * width) / width);
}

/* Convolves one charge plane (m x m) with the kernel, into potentials. */
static void convolve(tsne_fft *f, const double *charge, double *potential, int64_t m)
{
    int64_t n = f->n_fft, half = n / 2 + 1;
    memset(f->grid, 0, (size_t)(n * n) * sizeof *f->grid);
    for (int64_t i = 0; i < m; i++)
        memcpy(f->grid + i * n, charge + i * m, (size_t)m * sizeof *charge);
    fftw_execute(f->forward);
    for (int64_t e = 0; e < n * half; e++) {
        double re = f->freq[e][0] * f->kernel[e][0] - f->freq[e][1] * f->kernel[e][1];
        double im = f->freq[e][0] * f->kernel[e][1] + f->freq[e][1] * f->kernel[e][0];
        f->freq[e][0] = re;
        f->freq[e][1] = im;
    }
    fftw_execute(f->inverse);
    double scale = 1.0 / (double)(n * n);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < m; j++)
            potential[i * m + j] = f->grid[(m + i) * n + (m + j)] * scale;
}

int tsne_repulsive_fft(double *rep, double *z, tsne_fft **state, const double *y, int64_t n)
{
    if (nerve_fftw_require() < 0)
        return NERVE_EUNSUPPORTED;
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < 2 * n; i++) {
        lo = fmin(lo, y[i]);
        hi = fmax(hi, y[i]);
    }
    int64_t boxes = box_count(hi - lo), m = boxes * NODES;
    double width = (hi - lo) / (double)boxes;
    if (!(width > 0))
        width = 1e-12;
    if (prepare(state, m) < 0)
        return nerve_error_set(NERVE_ENOMEM, "t-SNE: out of memory");
    tsne_fft *f = *state;
    kernel_transform(f, m, width / NODES);
    memset(f->charges, 0, (size_t)(4 * m * m) * sizeof *f->charges);
    for (int64_t i = 0; i < n; i++) {   /* spread, in point order */
        int64_t bx, by;
        double wx[NODES], wy[NODES], px = y[2 * i], py = y[2 * i + 1];
        double c[4] = { 1, px, py, px * px + py * py };
        locate(&bx, wx, px, lo, width, boxes);
        locate(&by, wy, py, lo, width, boxes);
        for (int a = 0; a < NODES; a++)
            for (int b = 0; b < NODES; b++) {
                int64_t node = (bx * NODES + a) * m + by * NODES + b;
                for (int k = 0; k < 4; k++)
                    f->charges[k * m * m + node] += wx[a] * wy[b] * c[k];
            }
    }
    for (int k = 0; k < 4; k++)
        convolve(f, f->charges + k * m * m, f->potentials + k * m * m, m);
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {   /* gather */
        int64_t bx, by;
        double wx[NODES], wy[NODES], phi[4] = { 0 }, px = y[2 * i], py = y[2 * i + 1];
        locate(&bx, wx, px, lo, width, boxes);
        locate(&by, wy, py, lo, width, boxes);
        for (int a = 0; a < NODES; a++)
            for (int b = 0; b < NODES; b++) {
                int64_t node = (bx * NODES + a) * m + by * NODES + b;
                for (int k = 0; k < 4; k++)
                    phi[k] += wx[a] * wy[b] * f->potentials[k * m * m + node];
            }
        rep[2 * i] = px * phi[0] - phi[1];
        rep[2 * i + 1] = py * phi[0] - phi[2];
        /* sum_j q_ij = sum_j q_ij^2 (1 + |y_i - y_j|^2), less the point itself. */
        z[i] = (1 + px * px + py * py) * phi[0] - 2 * (px * phi[1] + py * phi[2]) + phi[3] - 1;
    }
    return 0;
}
