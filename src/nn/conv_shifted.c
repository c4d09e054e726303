/*
 * conv_shifted.c — stride-1 2-D convolution without im2col. With the image
 * padded once into (C, Hp, Wp), output (y, x) is column y * Wp + x of a
 * matrix whose every kernel offset (kh, kw) contributes one GEMM on the
 * padded input shifted by kh * Wp + kw: no unfolded copy of the input is
 * made. The Wp - OW columns at the end of each row wrap into the next row
 * and are dropped. Pays off on large maps; small ones keep im2col's
 * image-spanning blocks.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

enum { MIN_COLUMNS = 512 };   /* padded columns per image below which im2col does better */

static int64_t padded(const nn_geometry *g, int axis)
{
    return g->in[axis] + g->pb[axis] + g->pe[axis];
}

/* The padded copy of the batch is scratch no tensor limit covers: a
 * convolution with many input channels, few outputs and wide pads would
 * make it far larger than its output. Above the limit, im2col (whose
 * scratch is a few blocks of columns) runs instead. */
static int padded_copy_fits(const nn_geometry *g)
{
    int64_t n;
    const int64_t dims[4] = { g->batch, g->channels, padded(g, 1) + 1, padded(g, 2) };
    return nerve_shape_count(4, dims, &n) == 0 && (uint64_t)n <= nerve_nn_tensor_limit() / sizeof(float);
}

int nn_conv_shifted_applies(const nn_geometry *g, int64_t groups)
{
    /* BLAS refuses a leading dimension of 0: empty layers take im2col. */
    return groups == 1 && g->spatial == 2 && g->s[1] == 1 && g->s[2] == 1 && g->channels > 0 &&
           g->out[1] * padded(g, 2) >= MIN_COLUMNS && g->k[1] * g->k[2] > 1 && padded_copy_fits(g);
}

/* (C, Hp, Wp) with zeros around the image; one spare row absorbs the
 * wrapped columns' reads past the end. */
static void pad_image(float *xp, const float *x, const nn_geometry *g)
{
    const int64_t C = g->channels, H = g->in[1], W = g->in[2], Hp = padded(g, 1) + 1, Wp = padded(g, 2);
    memset(xp, 0, (size_t)(C * Hp * Wp) * sizeof *xp);
    for (int64_t c = 0; c < C; c++)
        for (int64_t y = 0; y < H; y++)
            memcpy(xp + (c * Hp + y + g->pb[1]) * Wp + g->pb[2], x + (c * H + y) * W, (size_t)W * sizeof *xp);
}

/* Weights regrouped by kernel offset: wk[kh][kw] is (M, C). */
static void regroup_weights(float *wk, const float *w, int64_t M, int64_t C, int64_t kk)
{
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t k = 0; k < kk; k++)
                wk[(k * M + m) * C + c] = w[(m * C + c) * kk + k];
}

int nn_conv_shifted(float *y, const float *x, const float *w, const float *b, const nn_geometry *g, int64_t M)
{
    const int64_t C = g->channels, KH = g->k[1], KW = g->k[2], kk = KH * KW;
    const int64_t Hp = padded(g, 1) + 1, Wp = padded(g, 2), OH = g->out[1], OW = g->out[2];
    /* Output rows per work item: a function of the layer alone, so the
     * sums do not depend on the thread count. */
    int64_t rows = (MIN_COLUMNS + Wp - 1) / Wp;
    rows = rows < OH ? rows : OH;
    const int64_t blocks_per_image = (OH + rows - 1) / rows, items = g->batch * blocks_per_image;
    float *wk = malloc((size_t)(kk * M * C) * sizeof *wk);
    float *xp = malloc((size_t)(g->batch * C * Hp * Wp) * sizeof *xp);
    if (!wk || !xp) {
        free(wk);
        free(xp);
        return nerve_error_set(NERVE_ENOMEM, "out of memory for a convolution");
    }
    regroup_weights(wk, w, M, C, kk);
    #pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < g->batch; n++)
        pad_image(xp + n * C * Hp * Wp, x + n * C * g->in[1] * g->in[2], g);
    int failed = 0;
    #pragma omp parallel reduction(|:failed)
    {
        float *acc = malloc((size_t)(M * rows * Wp) * sizeof *acc);
        failed = !acc;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t item = 0; item < items; item++) {
            if (failed)
                continue;
            int64_t n = item / blocks_per_image, y0 = item % blocks_per_image * rows;
            int64_t ny = OH - y0 < rows ? OH - y0 : rows, N = ny * Wp;
            const float *base = xp + n * C * Hp * Wp + y0 * Wp;
            for (int64_t k = 0; k < kk; k++) {
                int64_t shift = k / KW * g->d[1] * Wp + k % KW * g->d[2];
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)C, 1.0f,
                            wk + k * M * C, (int)C, base + shift, (int)(Hp * Wp), k ? 1.0f : 0.0f, acc, (int)N);
            }
            for (int64_t m = 0; m < M; m++) {
                float bias = b ? b[m] : 0;
                for (int64_t r = 0; r < ny; r++) {
                    const float *src = acc + m * N + r * Wp;
                    float *dst = y + ((n * M + m) * OH + y0 + r) * OW;
                    for (int64_t i = 0; i < OW; i++)
                        dst[i] = src[i] + bias;
                }
            }
        }
        free(acc);
    }
    free(wk);
    free(xp);
    return failed ? nerve_error_set(NERVE_ENOMEM, "out of memory for a convolution") : 0;
}
