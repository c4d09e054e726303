/*
 * param.c — an image from its learnable parameters and the gradient back:
 * Fourier coefficients scaled by frequency (Lucid's fft_image), an inverse
 * real DFT, the colour decorrelation (Lucid's color.py) and a sigmoid.
 * The DFT is a plain separable one (an axis at a time, O(n^2) per axis):
 * images are at most a few hundred pixels a side, and the network's
 * passes cost far more.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "featvis_internal.h"

/* ImageNet's colour correlation, square root by SVD (Lucid's
 * color_correlation_svd_sqrt), divided by its largest column norm. */
static const double COLOR_SQRT[3][3] = {
    { 0.26, 0.09, 0.02 },
    { 0.27, 0.00, -0.05 },
    { 0.27, -0.09, 0.03 },
};

static void color_matrix(float out[3][3])
{
    double best = 0;
    for (int j = 0; j < 3; j++) {
        double s = 0;
        for (int i = 0; i < 3; i++)
            s += COLOR_SQRT[i][j] * COLOR_SQRT[i][j];
        best = fmax(best, sqrt(s));
    }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            out[i][j] = (float)(COLOR_SQRT[i][j] / best);
}

/* cos and sin of 2 pi j / n for j < n: the DFT's twiddles, indexed by
 * (k * x) mod n. */
static void twiddles(float *c, float *s, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        double a = 2 * FEATVIS_PI * (double)j / (double)n;
        c[j] = (float)cos(a);
        s[j] = (float)sin(a);
    }
}

/* How often bin kx counts in a real signal's spectrum: once for 0 and, for
 * even widths, the Nyquist bin; twice (itself and its mirror) otherwise. */
static float bin_weight(int64_t kx, int64_t W)
{
    return kx == 0 || (W % 2 == 0 && kx == W / 2) ? 1.0f : 2.0f;
}

/* out (H, W) = irfft2(coef) as numpy computes it: a complex inverse DFT
 * down the columns, then a real one along the rows (imaginary parts of the
 * bins a real signal cannot have are ignored, as numpy does). */
int featvis_irdft2(float *out, const float *coef, int64_t H, int64_t W)
{
    int64_t Wf = W / 2 + 1;
    float *ch = malloc(sizeof(float) * (size_t)(2 * H + 2 * W + 2 * Wf * H));
    if (!ch)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for an image's DFT");
    float *sh = ch + H, *cw = sh + H, *sw = cw + W;
    float *yr = sw + W, *yi = yr + Wf * H;   /* (H, Wf): after the column pass */
    twiddles(ch, sh, H);
    twiddles(cw, sw, W);
    memset(yr, 0, sizeof(float) * (size_t)(2 * Wf * H));
    for (int64_t h = 0; h < H; h++)
        for (int64_t ky = 0; ky < H; ky++) {
            float c = ch[(ky * h) % H], s = sh[(ky * h) % H];
            const float *row = coef + ky * Wf * 2;
            for (int64_t kx = 0; kx < Wf; kx++) {
                yr[h * Wf + kx] += row[2 * kx] * c - row[2 * kx + 1] * s;
                yi[h * Wf + kx] += row[2 * kx] * s + row[2 * kx + 1] * c;
            }
        }
    float norm = 1.0f / (float)(H * W);
    for (int64_t h = 0; h < H; h++) {
        float *o = out + h * W;
        memset(o, 0, sizeof(float) * (size_t)W);
        for (int64_t kx = 0; kx < Wf; kx++) {
            float a = bin_weight(kx, W) * norm * yr[h * Wf + kx], b = bin_weight(kx, W) * norm * yi[h * Wf + kx];
            for (int64_t w = 0; w < W; w++)
                o[w] += a * cw[(kx * w) % W] - b * sw[(kx * w) % W];
        }
    }
    free(ch);
    return 0;
}

/* The transpose of featvis_irdft2 (it is linear): dcoef from dout. */
int featvis_irdft2_backward(float *dcoef, const float *dout, int64_t H, int64_t W)
{
    int64_t Wf = W / 2 + 1;
    float *ch = malloc(sizeof(float) * (size_t)(2 * H + 2 * W + 2 * Wf * H));
    if (!ch)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for an image's DFT");
    float *sh = ch + H, *cw = sh + H, *sw = cw + W;
    float *dyr = sw + W, *dyi = dyr + Wf * H;
    twiddles(ch, sh, H);
    twiddles(cw, sw, W);
    float norm = 1.0f / (float)(H * W);
    for (int64_t h = 0; h < H; h++)
        for (int64_t kx = 0; kx < Wf; kx++) {
            float a = 0, b = 0;
            for (int64_t w = 0; w < W; w++) {
                a += dout[h * W + w] * cw[(kx * w) % W];
                b += dout[h * W + w] * sw[(kx * w) % W];
            }
            dyr[h * Wf + kx] = bin_weight(kx, W) * norm * a;
            dyi[h * Wf + kx] = -bin_weight(kx, W) * norm * b;
        }
    memset(dcoef, 0, sizeof(float) * (size_t)(2 * H * Wf));
    for (int64_t ky = 0; ky < H; ky++)
        for (int64_t h = 0; h < H; h++) {
            float c = ch[(ky * h) % H], s = sh[(ky * h) % H];
            float *row = dcoef + ky * Wf * 2;
            for (int64_t kx = 0; kx < Wf; kx++) {
                row[2 * kx] += dyr[h * Wf + kx] * c + dyi[h * Wf + kx] * s;
                row[2 * kx + 1] += -dyr[h * Wf + kx] * s + dyi[h * Wf + kx] * c;
            }
        }
    free(ch);
    return 0;
}

void featvis_irdft2_naive(float *out, const float *coef, int64_t H, int64_t W)
{
    int64_t Wf = W / 2 + 1;
    for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++) {
            double s = 0;
            for (int64_t ky = 0; ky < H; ky++)
                for (int64_t kx = 0; kx < Wf; kx++) {
                    double a = 2 * FEATVIS_PI * ((double)(ky * h) / (double)H + (double)(kx * w) / (double)W);
                    const float *z = coef + (ky * Wf + kx) * 2;
                    s += bin_weight(kx, W) * (z[0] * cos(a) - z[1] * sin(a));
                }
            out[h * W + w] = (float)(s / (double)(H * W));
        }
}

int64_t nerve_featvis_param_count(const nerve_featvis_options *o)
{
    if (o->pixels)
        return o->channels * o->height * o->width;
    return o->channels * o->height * (o->width / 2 + 1) * 2;
}

/* Lucid's scale of bin (ky, kx): 1 / max(|f|, 1 / size)^decay, times
 * sqrt(H W) (so the DFT's 1 / (H W) leaves unit-sized pixels), divided by
 * 4 (Lucid's fft_image divides the image by 4). */
static float bin_scale(int64_t ky, int64_t kx, const nerve_featvis_options *o)
{
    int64_t H = o->height, W = o->width;
    double fy = (double)(ky <= H / 2 ? ky : ky - H) / (double)H, fx = (double)kx / (double)W;
    double f = fmax(sqrt(fy * fy + fx * fx), 1.0 / (double)(H > W ? H : W));
    return (float)(pow(f, -o->decay) * sqrt((double)(H * W)) / 4);
}

/* Parameters -> pre-sigmoid image (C, H, W), before the colour mixing. */
static int raw_image(float *raw, const float *param, const nerve_featvis_options *o)
{
    int64_t C = o->channels, H = o->height, W = o->width, Wf = W / 2 + 1;
    if (o->pixels) {
        memcpy(raw, param, sizeof(float) * (size_t)(C * H * W));
        return 0;
    }
    float *coef = malloc(sizeof(float) * (size_t)(H * Wf * 2));
    if (!coef)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for an image's coefficients");
    int rc = 0;
    for (int64_t c = 0; c < C && rc == 0; c++) {
        const float *p = param + c * H * Wf * 2;
        for (int64_t ky = 0; ky < H; ky++)
            for (int64_t kx = 0; kx < Wf; kx++) {
                float s = bin_scale(ky, kx, o);
                coef[(ky * Wf + kx) * 2] = p[(ky * Wf + kx) * 2] * s;
                coef[(ky * Wf + kx) * 2 + 1] = p[(ky * Wf + kx) * 2 + 1] * s;
            }
        rc = featvis_irdft2(raw + c * H * W, coef, H, W);
    }
    free(coef);
    return rc;
}

/* In place: channel c becomes sum_j M[c][j] x_j (or M^T for the gradient). */
static void mix_colours(float *x, int64_t HW, int transpose)
{
    float M[3][3];
    color_matrix(M);
    for (int64_t i = 0; i < HW; i++) {
        float v[3] = { x[i], x[HW + i], x[2 * HW + i] };
        for (int c = 0; c < 3; c++)
            x[c * HW + i] = transpose ? M[0][c] * v[0] + M[1][c] * v[1] + M[2][c] * v[2]
                                      : M[c][0] * v[0] + M[c][1] * v[1] + M[c][2] * v[2];
    }
}

static int decorrelated(const nerve_featvis_options *o)
{
    return o->channels == 3 && !o->no_decorrelate;
}

int nerve_featvis_image(float *image, const float *param, const nerve_featvis_options *o)
{
    int64_t HW = o->height * o->width, n = o->channels * HW;
    int rc = raw_image(image, param, o);
    if (rc < 0)
        return rc;
    if (decorrelated(o))
        mix_colours(image, HW, 0);
    for (int64_t i = 0; i < n; i++)
        image[i] = 1.0f / (1.0f + expf(-image[i]));
    return 0;
}

/* Needs the image again for the sigmoid's slope: it is recomputed from the
 * parameters rather than kept (one DFT, cheap beside the network). */
int nerve_featvis_image_backward(float *dparam, const float *param, const float *dimage,
                                 const nerve_featvis_options *o)
{
    int64_t C = o->channels, H = o->height, W = o->width, HW = H * W, Wf = W / 2 + 1;
    float *g = malloc(sizeof(float) * (size_t)(C * HW));
    int rc = g ? nerve_featvis_image(g, param, o) : nerve_error_set(NERVE_ENOMEM, "out of memory for an image");
    if (rc < 0) {
        free(g);
        return rc;
    }
    for (int64_t i = 0; i < C * HW; i++)
        g[i] = dimage[i] * g[i] * (1 - g[i]);
    if (decorrelated(o))
        mix_colours(g, HW, 1);
    if (o->pixels) {
        memcpy(dparam, g, sizeof(float) * (size_t)(C * HW));
        free(g);
        return 0;
    }
    for (int64_t c = 0; c < C && rc == 0; c++) {
        float *d = dparam + c * H * Wf * 2;
        rc = featvis_irdft2_backward(d, g + c * HW, H, W);
        for (int64_t ky = 0; ky < H; ky++)
            for (int64_t kx = 0; kx < Wf; kx++) {
                float s = bin_scale(ky, kx, o);
                d[(ky * Wf + kx) * 2] *= s;
                d[(ky * Wf + kx) * 2 + 1] *= s;
            }
    }
    free(g);
    return rc;
}
