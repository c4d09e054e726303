/*
 * dft.c — CCA of whole convolutional maps through the discrete Fourier
 * transform (Raghu et al. 2017, "SVCCA", section on convolutional layers;
 * Google's dft_ccas.fourier_ccas). Every (channel, position) of a map is a
 * neuron, far too many for one CCA; when the inputs are translation
 * invariant, the 2-D DFT over positions block-diagonalises the covariances,
 * so the CCA of C*H*W neurons is one C1 x C2 CCA per frequency.
 *
 * A complex CCA is run in real arithmetic: for X = Xr + i Xi, the real
 * matrix [[Xr, -Xi], [Xi, Xr]] has the real embedding [[A, -B], [B, A]]
 * of X^H X as its Gram (A = Xr'Xr + Xi'Xi, B = Xr'Xi - Xi'Xr) and each
 * canonical correlation of the complex problem twice; the Grams of
 * [Xr | Xi] are all it takes. Real maps make the frequencies f and -f
 * conjugate, with the same correlations: one such problem stands for both.
 *
 * The DFT is done separably, along x then along y, as products with small
 * tables of cosines and sines in blocks of inputs by BLAS: only the
 * frequencies kept are computed (a 112 x 112 map against a 56 x 56 one
 * keeps 56 a side), which an FFT (and FFTW, loaded by the embed room,
 * which sim may not reach) would not save. A single table over every
 * position and frequency was H W x H W: 300 MB and 40x the work there.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/linalg.h"
#include "sim_internal.h"

/* Inputs per DFT block: enough for BLAS to run at speed, fewer when a
 * block of large maps would pass BLOCK_BYTES (a 64 x 56 x 56 map is 1.6 MB
 * an input before its coefficients). */
enum { BLOCK = 384 };
#define BLOCK_BYTES (256.0 * 1024 * 1024)

/* A frequency (u, v), and whether it also stands for its conjugate. */
typedef struct freq {
    int64_t u, v;
    int     weight;   /* 2: (-u, -v) is kept too and not computed again */
} freq;

/* One layer's part: its DFT tables, a block's buffers, and the Grams
 * accumulated per frequency. */
typedef struct side {
    const float *data;   /* (N, C, H, W) */
    int64_t c, h, w;
    int64_t hs, ws;      /* the frequencies kept along y and x: the smaller map's sizes */
    double *along_x;     /* (W, 2 ws): cos, then -sin, of 2 pi v x / W for each kept v */
    double *cos_y;       /* (hs, H): cos 2 pi u y / H for each kept u */
    double *sin_y;       /* (hs, H) */
    int64_t bn;          /* inputs per block */
    double *block;       /* (bn C H, W): a block of inputs */
    double *rows;        /* (bn C H, 2 ws): their DFT along x */
    double *by_y;        /* (H, bn C 2 ws): the same with y first */
    double *p, *q;       /* (hs, bn C 2 ws): cos_y and sin_y times by_y */
    double *wf;          /* (R, bn, 2C): [Re | Im] per frequency */
    double *sums;        /* (R, 2C) */
    double *gram;        /* (R, 2C, 2C) */
} side;

/* What each frequency's CCA works in, allocated once for all of them
 * (megabytes: allocated per frequency, they cost a page fault a page). */
typedef struct workspace {
    double  *xx, *yy, *xy;   /* (2p)^2, (2q)^2, 2p x 2q: the covariances */
    double  *m;              /* 2p x 2q: the whitened cross-covariance */
    int64_t *kx, *ky;        /* 2p, 2q: kept neurons */
} workspace;

static void workspace_free(workspace *w)
{
    free(w->xx);
    free(w->yy);
    free(w->xy);
    free(w->m);
    free(w->kx);
    free(w->ky);
    memset(w, 0, sizeof *w);
}

static int workspace_init(workspace *w, int64_t p, int64_t q)
{
    w->xx = nerve_alloc_array((size_t)(4 * p), (size_t)p * sizeof *w->xx, "DFT covariance");
    w->yy = nerve_alloc_array((size_t)(4 * q), (size_t)q * sizeof *w->yy, "DFT covariance");
    w->xy = nerve_alloc_array((size_t)(4 * p), (size_t)q * sizeof *w->xy, "DFT cross-covariance");
    w->m = nerve_alloc_array((size_t)(4 * p), (size_t)q * sizeof *w->m, "whitened cross-covariance");
    w->kx = nerve_alloc_array((size_t)(2 * p), sizeof *w->kx, "kept neurons");
    w->ky = nerve_alloc_array((size_t)(2 * q), sizeof *w->ky, "kept neurons");
    if (!w->xx || !w->yy || !w->xy || !w->m || !w->kx || !w->ky) {
        workspace_free(w);
        return NERVE_ENOMEM;
    }
    return 0;
}

/* The frequencies fft_resize keeps along an axis resized to `size`:
 * -size/2 <= f < size/2 of numpy's fftfreq(n) * n. */
static int64_t first_freq(int64_t size) { return -(size / 2); }
static int64_t last_freq(int64_t size) { return (size - 1) / 2; }

static int kept_freq(int64_t f, int64_t size)
{
    return f >= first_freq(size) && f <= last_freq(size);
}

/* The frequencies to compute: one of each conjugate pair. */
static freq *frequencies(int64_t hs, int64_t ws, int64_t *count)
{
    freq *f = nerve_alloc_array((size_t)(hs * ws), sizeof *f, "DFT frequencies");
    int64_t r = 0;
    for (int64_t u = first_freq(hs); f && u <= last_freq(hs); u++)
        for (int64_t v = first_freq(ws); v <= last_freq(ws); v++) {
            int paired = kept_freq(-u, hs) && kept_freq(-v, ws) && (u || v);
            if (paired && (u < -u || (u == -u && v < -v)))
                continue;   /* its conjugate stands for it */
            f[r++] = (freq){ u, v, paired ? 2 : 1 };
        }
    *count = r;
    return f;
}

static void side_free(side *s)
{
    free(s->along_x);
    free(s->cos_y);
    free(s->sin_y);
    free(s->block);
    free(s->rows);
    free(s->by_y);
    free(s->p);
    free(s->q);
    free(s->wf);
    free(s->sums);
    free(s->gram);
}

/* The bytes a block holds per input (its buffers above). */
static double bytes_per_input(const nerve_array *a, int64_t hs, int64_t ws, int64_t r)
{
    double h = (double)a->shape[2], w = (double)a->shape[3];
    return 8.0 * (double)a->shape[1] * (h * w + 4 * h * (double)ws + 4 * (double)(hs * ws) + 2 * (double)r);
}

static int64_t inputs_per_block(const nerve_array *a, const nerve_array *b, int64_t hs, int64_t ws, int64_t r)
{
    double fit = BLOCK_BYTES / (bytes_per_input(a, hs, ws, r) + bytes_per_input(b, hs, ws, r));
    return fit >= BLOCK ? BLOCK : fit >= 1 ? (int64_t)fit : 1;
}

/* 2 pi k x / size, the product reduced mod size first: exact for the
 * integer part. */
static double angle(int64_t k, int64_t x, int64_t size)
{
    return 2 * 3.14159265358979323846 * (double)((k * x) % size) / (double)size;
}

static void fill_tables(side *s)
{
    int64_t ws2 = 2 * s->ws;
    for (int64_t x = 0; x < s->w; x++)
        for (int64_t j = 0; j < s->ws; j++) {
            double t = angle(first_freq(s->ws) + j, x, s->w);
            s->along_x[x * ws2 + j] = cos(t);
            s->along_x[x * ws2 + s->ws + j] = -sin(t);
        }
    for (int64_t j = 0; j < s->hs; j++)
        for (int64_t y = 0; y < s->h; y++) {
            double t = angle(first_freq(s->hs) + j, y, s->h);
            s->cos_y[j * s->h + y] = cos(t);
            s->sin_y[j * s->h + y] = sin(t);
        }
}

static int side_init(side *s, const nerve_array *a, int64_t hs, int64_t ws, int64_t r, int64_t bn)
{
    *s = (side){ .data = a->data, .c = a->shape[1], .h = a->shape[2], .w = a->shape[3], .hs = hs, .ws = ws,
                 .bn = bn };
    int64_t c2 = 2 * s->c, lines = bn * s->c * s->h, m = bn * s->c * 2 * ws;
    s->along_x = nerve_alloc_array((size_t)s->w, (size_t)(2 * ws) * sizeof(double), "DFT table");
    s->cos_y = nerve_alloc_array((size_t)hs, (size_t)s->h * sizeof(double), "DFT table");
    s->sin_y = nerve_alloc_array((size_t)hs, (size_t)s->h * sizeof(double), "DFT table");
    s->block = nerve_alloc_array((size_t)lines, (size_t)s->w * sizeof(double), "DFT input block");
    s->rows = nerve_alloc_array((size_t)lines, (size_t)(2 * ws) * sizeof(double), "DFT along x");
    s->by_y = nerve_alloc_array((size_t)s->h, (size_t)m * sizeof(double), "DFT along x");
    s->p = nerve_alloc_array((size_t)hs, (size_t)m * sizeof(double), "DFT coefficients");
    s->q = nerve_alloc_array((size_t)hs, (size_t)m * sizeof(double), "DFT coefficients");
    s->wf = nerve_alloc_array((size_t)r, (size_t)(bn * c2) * sizeof(double), "DFT coefficients by frequency");
    s->sums = nerve_zalloc_array((size_t)r, (size_t)c2 * sizeof(double), "DFT sums");
    s->gram = nerve_zalloc_array((size_t)r, (size_t)(c2 * c2) * sizeof(double), "DFT Grams");
    if (!s->along_x || !s->cos_y || !s->sin_y || !s->block || !s->rows || !s->by_y || !s->p || !s->q || !s->wf ||
        !s->sums || !s->gram) {
        side_free(s);
        return NERVE_ENOMEM;
    }
    fill_tables(s);
    return 0;
}

/* The DFT of inputs [i0, i0 + b) at every frequency kept, separably:
 * along x for each row (one product with along_x), then along y (two
 * products, with cos_y and sin_y, of every row's coefficients at once):
 * with Z1 = Re1 + i Im1 a row's coefficient at v,
 * sum_y e^{-i t_y} Z1 = sum_y (cos Re1 + sin Im1) + i (cos Im1 - sin Re1).
 * Laid out per frequency as b x [Re | Im], with their sums. */
static void side_transform(side *s, int64_t i0, int64_t b, const freq *f, int64_t r)
{
    int64_t c = s->c, h = s->h, c2 = 2 * c, ws = s->ws, ws2 = 2 * ws, lines = b * c * h, m = b * c * ws2;
    const float *x = s->data + i0 * c * h * s->w;
    for (int64_t i = 0; i < lines * s->w; i++)
        s->block[i] = x[i];
    nerve_linalg_matmul(s->rows, s->block, s->along_x, lines, s->w, ws2);
    for (int64_t bc = 0; bc < b * c; bc++)
        for (int64_t y = 0; y < h; y++)
            memcpy(s->by_y + y * m + bc * ws2, s->rows + (bc * h + y) * ws2, (size_t)ws2 * sizeof(double));
    nerve_linalg_matmul(s->p, s->cos_y, s->by_y, s->hs, h, m);
    nerve_linalg_matmul(s->q, s->sin_y, s->by_y, s->hs, h, m);
    for (int64_t k = 0; k < r; k++) {
        int64_t ju = f[k].u - first_freq(s->hs), jv = f[k].v - first_freq(ws);
        double *w = s->wf + k * s->bn * c2, *sum = s->sums + k * c2;
        for (int64_t n = 0; n < b; n++)
            for (int64_t j = 0; j < c; j++) {
                const double *p = s->p + ju * m + (n * c + j) * ws2, *q = s->q + ju * m + (n * c + j) * ws2;
                double re = p[jv] + q[ws + jv], im = p[ws + jv] - q[jv];
                w[n * c2 + j] = re;
                w[n * c2 + c + j] = im;
                sum[j] += re;
                sum[c + j] += im;
            }
    }
}

/* g (2p x 2q, Grams of [Re | Im] blocks) centred with the sums of n
 * inputs, then as the real embedding [[P, -Q], [Q, P]] of the complex
 * product: P = RR + II, Q = RI - IR. Written into out (2p x 2q). */
static void complex_embedding(double *out, const double *g, const double *sx, const double *sy, int64_t p,
                              int64_t q, int64_t n)
{
    int64_t q2 = 2 * q;
#define G(i, j) (g[(i) * q2 + (j)] - sx[i] * sy[j] / (double)n)
    for (int64_t i = 0; i < p; i++)
        for (int64_t j = 0; j < q; j++) {
            double re = G(i, j) + G(p + i, q + j), im = G(i, q + j) - G(p + i, j);
            out[i * q2 + j] = re;
            out[(p + i) * q2 + q + j] = re;
            out[i * q2 + q + j] = -im;
            out[(p + i) * q2 + j] = im;
        }
#undef G
}

static void mirror_upper(double *g, int64_t p)
{
    for (int64_t i = 0; i < p; i++)
        for (int64_t j = 0; j < i; j++)
            g[i * p + j] = g[j * p + i];
}

static int by_decreasing(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

/* cca_core's scaling and remove_small on the symmetric g (p x p), in
 * place: g scaled to a largest magnitude of 1, the kept rows and columns
 * packed to m x m, epsilon added to the diagonal. Returns m; *scale the
 * largest magnitude (0: no variance at all). */
static int64_t scale_and_crop(double *g, int64_t p, int64_t *keep, double epsilon, double *scale)
{
    double top = 0;
    for (int64_t i = 0; i < p * p; i++)
        top = fmax(top, fabs(g[i]));
    *scale = top;
    if (top == 0)
        return 0;
    int64_t m = 0;
    for (int64_t i = 0; i < p; i++)
        if (fabs(g[i * p + i]) / top >= epsilon)
            keep[m++] = i;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < m; j++)
            g[i * m + j] = g[keep[i] * p + keep[j]] / top + (i == j ? epsilon : 0);   /* packs forward: safe */
    return m;
}

/*
 * The canonical correlations from the covariances, whitened by Cholesky
 * factors: with Sxx = Lx Lx^T, the singular values of Lx^-1 Sxy Ly^-T are
 * those of cca_core's Sxx^-1/2 Sxy Syy^-1/2 (Lx^-1 is Sxx^-1/2 up to a
 * rotation) at a tenth of the cost of its eigen-decompositions, which at
 * 2 x 512 channels and 25 frequencies would take most of the time.
 * Returns 1, touching nothing the caller needs, when a block is not
 * positive definite in floating point (epsilon 0 and a rank-deficient
 * frequency): the caller then takes cca_core's own pseudo-inverse way.
 */
static int cholesky_cca(nerve_cca *c, workspace *w, int64_t p, int64_t q, int64_t n, double epsilon)
{
    double *xx = w->xx, *yy = w->yy, *m = w->m, sx, sy;
    int64_t mx = scale_and_crop(xx, p, w->kx, epsilon, &sx), my = scale_and_crop(yy, q, w->ky, epsilon, &sy);
    if (mx == 0 || my == 0 || mx >= n || my >= n)
        return 1;   /* constant, or too few inputs: the reference way says which */
    /* Symmetric: the row-major lower factor is the column-major upper one,
     * which LAPACK takes without a transposed copy. */
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)mx, xx, (lapack_int)mx) != 0 ||
        LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)my, yy, (lapack_int)my) != 0)
        return 1;
    double norm = sqrt(sx * sy);
    for (int64_t i = 0; i < mx; i++)
        for (int64_t j = 0; j < my; j++)
            m[i * my + j] = w->xy[w->kx[i] * q + w->ky[j]] / norm;
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)mx, (int)my, 1.0, xx,
                (int)mx, m, (int)my);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)mx, (int)my, 1.0, yy,
                (int)my, m, (int)my);
    c->k = mx < my ? mx : my;
    c->dims_a = mx;
    c->dims_b = my;
    if (!(c->rho = nerve_alloc_array((size_t)c->k, sizeof *c->rho, "canonical correlations")))
        return NERVE_ENOMEM;
    /* singular values only; m^T in column-major is m: no transposed copy */
    if (LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)my, (lapack_int)mx, m, (lapack_int)my, c->rho, NULL, 1,
                       NULL, 1) != 0)
        return nerve_error_set(NERVE_EINPUT, "svcca-dft: a singular value decomposition did not converge");
    return 0;
}

/* The same the reference way (pseudo-inverse square roots), naming the
 * problem when there is one. Consumes xx and yy. */
static int reference_cca(nerve_cca *c, double *xx, double *yy, const double *xy, int64_t p, int64_t q, int64_t n,
                         double epsilon)
{
    sim_cca_side a = { 0 }, b = { 0 };
    int rc = sim_cca_side_from_gram(&a, xx, n, p, epsilon);
    if (rc == 0)
        rc = sim_cca_side_from_gram(&b, yy, n, q, epsilon);
    else
        free(yy);
    if (rc == 0)
        rc = sim_cca_pair_from_cross(c, &a, &b, xy, NULL);
    sim_cca_side_free(&a);
    sim_cca_side_free(&b);
    return rc;
}

/* The reference way needs its own copies of the covariances: it consumes them. */
static int reference_from_workspace(nerve_cca *c, const workspace *w, int64_t p, int64_t q, int64_t n,
                                    double epsilon)
{
    double *xx = nerve_alloc_array((size_t)(p * p), sizeof *xx, "DFT covariance");
    double *yy = nerve_alloc_array((size_t)(q * q), sizeof *yy, "DFT covariance");
    if (!xx || !yy) {
        free(xx);
        free(yy);
        return NERVE_ENOMEM;
    }
    memcpy(xx, w->xx, (size_t)(p * p) * sizeof *xx);
    memcpy(yy, w->yy, (size_t)(q * q) * sizeof *yy);
    return reference_cca(c, xx, yy, w->xy, p, q, n, epsilon);
}

/* The three covariances of frequency k, centred, as real embeddings. */
static void frequency_covariances(workspace *w, const side *sa, const side *sb, const double *cross, int64_t k,
                                  int64_t n)
{
    int64_t p = sa->c, q = sb->c;
    const double *ma = sa->sums + k * 2 * p, *mb = sb->sums + k * 2 * q;
    complex_embedding(w->xx, sa->gram + k * 4 * p * p, ma, ma, p, p, n);
    complex_embedding(w->yy, sb->gram + k * 4 * q * q, mb, mb, q, q, n);
    complex_embedding(w->xy, cross + k * 4 * p * q, ma, mb, p, q, n);
}

/* The CCA at frequency k; appends its coefficients (each once) to rho. */
static int frequency_cca(double *rho, int64_t *count, int64_t *dims_a, int64_t *dims_b, workspace *w,
                         const side *sa, const side *sb, const double *cross, const freq *f, int64_t k, int64_t n,
                         double epsilon)
{
    int64_t p = sa->c, q = sb->c;
    frequency_covariances(w, sa, sb, cross, k, n);
    nerve_cca c = { 0 };
    /* The embedding has 2n rows: (n - 1) scales out, and kept < 2n is kept/2 < n. */
    int rc = cholesky_cca(&c, w, 2 * p, 2 * q, 2 * n, epsilon);
    if (rc > 0) {   /* rebuilt: the Cholesky attempt overwrote them */
        nerve_cca_free(&c);
        frequency_covariances(w, sa, sb, cross, k, n);
        rc = reference_from_workspace(&c, w, 2 * p, 2 * q, 2 * n, epsilon);
    }
    if (rc == 0) {
        qsort(c.rho, (size_t)c.k, sizeof *c.rho, by_decreasing);
        /* each correlation twice; a frequency with its conjugate keeps both */
        for (int64_t i = 0; i < c.k; i += f[k].weight == 2 ? 1 : 2)
            rho[(*count)++] = c.rho[i];
        *dims_a += c.dims_a / 2 * f[k].weight;
        *dims_b += c.dims_b / 2 * f[k].weight;
    } else {
        char why[512];
        snprintf(why, sizeof why, "%s", nerve_error());
        nerve_error_set(rc, "svcca-dft: at frequency (%lld, %lld): %s", (long long)f[k].u, (long long)f[k].v, why);
    }
    nerve_cca_free(&c);
    return rc;
}

/* Each frequency's Grams gain a block of inputs. The frequencies are the
 * parallel work items, BLAS single-threaded in each (nerve's default
 * outside core/linalg.c), so every sum is made in the same order at any
 * thread count. */
static void accumulate_grams(side *sa, side *sb, double *cross, int64_t bl, int64_t r)
{
    int p2 = (int)(2 * sa->c), q2 = (int)(2 * sb->c);
    #pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < r; k++) {
        const double *wa = sa->wf + k * sa->bn * p2, *wb = sb->wf + k * sb->bn * q2;
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p2, (int)bl, 1.0, wa, p2, 1.0, sa->gram + k * p2 * p2, p2);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, q2, (int)bl, 1.0, wb, q2, 1.0, sb->gram + k * q2 * q2, q2);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p2, q2, (int)bl, 1.0, wa, p2, wb, q2, 1.0,
                    cross + k * p2 * q2, q2);
    }
}

/* Every frequency's CCA, the frequencies on the threads with a workspace
 * each; frequency k's coefficients go to its own slot and are gathered in
 * order, and the first failing frequency's error is the one returned, so
 * nothing depends on the thread count. */
static int every_frequency_cca(nerve_cca *out, const side *sa, const side *sb, const double *cross, const freq *f,
                               int64_t r, int64_t n, double epsilon)
{
    int64_t slot = 2 * (sa->c < sb->c ? sa->c : sb->c);
    double *rho = nerve_alloc_array((size_t)r, (size_t)slot * sizeof *rho, "svcca-dft coefficients");
    int64_t *count = nerve_zalloc_array((size_t)r, 3 * sizeof *count, "svcca-dft counts");
    int64_t first_bad = r;
    int bad_rc = 0;
    char why[1024] = "";
    if (!rho || !count) {
        free(rho);
        free(count);
        return NERVE_ENOMEM;
    }
    #pragma omp parallel
    {
        workspace w = { 0 };
        int mine = workspace_init(&w, sa->c, sb->c);
        #pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < r; k++) {
            int rc = mine < 0 ? mine : frequency_cca(rho + k * slot, &count[3 * k], &count[3 * k + 1],
                                                     &count[3 * k + 2], &w, sa, sb, cross, f, k, n, epsilon);
            #pragma omp critical(dft_error)
            if (rc < 0 && k < first_bad) {
                first_bad = k;
                bad_rc = rc;
                snprintf(why, sizeof why, "%s", nerve_error());
            }
        }
        workspace_free(&w);
    }
    for (int64_t k = 0; first_bad == r && k < r; k++) {
        memcpy(out->rho + out->k, rho + k * slot, (size_t)count[3 * k] * sizeof *rho);
        out->k += count[3 * k];
        out->dims_a += count[3 * k + 1];
        out->dims_b += count[3 * k + 2];
    }
    free(rho);
    free(count);
    return first_bad < r ? nerve_error_set(bad_rc, "%s", why) : 0;
}

static int check_maps(const nerve_array *a, const nerve_array *b)
{
    const nerve_array *m[2] = { a, b };
    for (int s = 0; s < 2; s++) {
        if (m[s]->ndim != 4 || m[s]->dtype != NERVE_F32)
            return nerve_error_set(NERVE_EINPUT, "svcca-dft: layer %c must be float32 maps (N, C, H, W), not %d-D",
                                   s ? 'B' : 'A', m[s]->ndim);
        for (int d = 0; d < 4; d++)
            if (m[s]->shape[d] < 1)
                return nerve_error_set(NERVE_EINPUT, "svcca-dft: layer %c has an empty dimension", s ? 'B' : 'A');
    }
    /* The Grams are built from (N, C, H*W) views: check them as matrices. */
    nerve_mat va = { .rows = a->shape[0], .cols = a->shape[1] * a->shape[2] * a->shape[3], .data = a->data };
    nerve_mat vb = { .rows = b->shape[0], .cols = b->shape[1] * b->shape[2] * b->shape[3], .data = b->data };
    return sim_check_pair(&va, &vb, "svcca-dft");
}

int nerve_sim_svcca_dft(nerve_cca *out, const nerve_array *a, const nerve_array *b, const nerve_sim_options *o)
{
    memset(out, 0, sizeof *out);
    int rc = check_maps(a, b);
    if (rc == 0 && !(o->epsilon >= 0 && o->epsilon < 1))
        rc = nerve_error_set(NERVE_EINPUT, "svcca-dft: epsilon must be in [0, 1), not %g", o->epsilon);
    if (rc < 0)
        return rc;
    int64_t n = a->shape[0], hs = a->shape[2] < b->shape[2] ? a->shape[2] : b->shape[2];
    int64_t ws = a->shape[3] < b->shape[3] ? a->shape[3] : b->shape[3], r = 0;
    freq *f = frequencies(hs, ws, &r);
    side sa = { 0 }, sb = { 0 };
    double *cross = NULL;
    int64_t bn = f ? inputs_per_block(a, b, hs, ws, r) : 0;
    rc = f ? side_init(&sa, a, hs, ws, r, bn) : NERVE_ENOMEM;
    if (rc == 0 && (rc = side_init(&sb, b, hs, ws, r, bn)) < 0)
        side_free(&sa);
    if (rc < 0) {
        free(f);
        return rc;
    }
    int64_t p2 = 2 * sa.c, q2 = 2 * sb.c;
    cross = nerve_zalloc_array((size_t)r, (size_t)(p2 * q2) * sizeof *cross, "DFT cross-Grams");
    out->rho = nerve_alloc_array((size_t)(hs * ws), (size_t)(sa.c < sb.c ? sa.c : sb.c) * sizeof *out->rho,
                                 "svcca-dft coefficients");
    rc = cross && out->rho ? 0 : NERVE_ENOMEM;
    for (int64_t i0 = 0; rc == 0 && i0 < n; i0 += bn) {
        int64_t bl = n - i0 < bn ? n - i0 : bn;
        side_transform(&sa, i0, bl, f, r);
        side_transform(&sb, i0, bl, f, r);
        accumulate_grams(&sa, &sb, cross, bl, r);
    }
    for (int64_t k = 0; rc == 0 && k < r; k++) {   /* the Grams' upper triangles, mirrored */
        mirror_upper(sa.gram + k * p2 * p2, p2);
        mirror_upper(sb.gram + k * q2 * q2, q2);
    }
    if (rc == 0)
        rc = every_frequency_cca(out, &sa, &sb, cross, f, r, n, o->epsilon);
    if (rc == 0) {
        double sum = 0;
        qsort(out->rho, (size_t)out->k, sizeof *out->rho, by_decreasing);
        for (int64_t i = 0; i < out->k; i++)
            sum += out->rho[i];
        out->mean = sum / (double)out->k;
    } else {
        nerve_cca_free(out);
    }
    side_free(&sa);
    side_free(&sb);
    free(cross);
    free(f);
    return rc;
}
