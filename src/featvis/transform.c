/*
 * transform.c — transformation robustness (Olah et al. 2017): each step
 * sees every image jittered, scaled and rotated at random, so only
 * patterns that survive small moves are reinforced, and the penalties on
 * the image. Lucid pads by a border of 0.5, jitters, scales, rotates and
 * jitters again, growing the image; here the same moves are one
 * same-size bilinear warp reading 0.5 outside the image, so a model with
 * a fixed input size (a Flatten into a Gemm) takes it.
 */
#include <math.h>
#include <string.h>

#include "featvis_internal.h"

typedef struct warp {
    double ty1, tx1;      /* first jitter (before scaling and rotation) */
    double ty2, tx2;      /* second jitter */
    double cosa, sina, inv_scale;
} warp;

static double jitter_draw(nerve_rng *r, double amount)
{
    int64_t j = (int64_t)llround(amount);
    return j > 0 ? (double)((int64_t)nerve_rng_below(r, (uint64_t)(2 * j + 1)) - j) : 0;
}

static warp warp_draw(uint64_t id, int64_t step, const nerve_featvis_options *o)
{
    nerve_rng r;
    nerve_rng_stream(&r, o->seed, featvis_stream(id, step));
    warp w;
    w.ty1 = jitter_draw(&r, o->jitter);
    w.tx1 = jitter_draw(&r, o->jitter);
    double s = 1 + o->scale * (2 * nerve_rng_uniform(&r) - 1);
    double a = o->rotate * (2 * nerve_rng_uniform(&r) - 1) * FEATVIS_PI / 180;
    w.ty2 = jitter_draw(&r, o->jitter / 2);
    w.tx2 = jitter_draw(&r, o->jitter / 2);
    w.cosa = cos(a);
    w.sina = sin(a);
    w.inv_scale = 1 / s;
    return w;
}

/* Where output pixel (y, x) reads the image: q = c + R(-a)(u - c - t2) / s - t1. */
static void source(double *qy, double *qx, const warp *w, int64_t y, int64_t x, int64_t H, int64_t W)
{
    double cy = (double)(H - 1) / 2, cx = (double)(W - 1) / 2;
    double dy = (double)y - cy - w->ty2, dx = (double)x - cx - w->tx2;
    *qy = cy + (w->cosa * dy - w->sina * dx) * w->inv_scale - w->ty1;
    *qx = cx + (w->sina * dy + w->cosa * dx) * w->inv_scale - w->tx1;
}

/* The four taps of a bilinear read at q: their offsets into a channel
 * (-1 outside, where the image reads 0.5) and weights. */
static void taps(int64_t at[4], float wt[4], double qy, double qx, int64_t H, int64_t W)
{
    double fy = floor(qy), fx = floor(qx);
    double ay = qy - fy, ax = qx - fx;
    int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
    for (int k = 0; k < 4; k++) {
        int64_t y = y0 + k / 2, x = x0 + k % 2;
        at[k] = y >= 0 && y < H && x >= 0 && x < W ? y * W + x : -1;
        wt[k] = (float)((k / 2 ? ay : 1 - ay) * (k % 2 ? ax : 1 - ax));
    }
}

void nerve_featvis_warp(float *out, const float *image, uint64_t id, int64_t step, const nerve_featvis_options *o)
{
    int64_t C = o->channels, H = o->height, W = o->width;
    if (o->no_transforms) {
        memcpy(out, image, sizeof(float) * (size_t)(C * H * W));
        return;
    }
    warp w = warp_draw(id, step, o);
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) {
            double qy, qx;
            int64_t at[4];
            float wt[4];
            source(&qy, &qx, &w, y, x, H, W);
            taps(at, wt, qy, qx, H, W);
            for (int64_t c = 0; c < C; c++) {
                const float *img = image + c * H * W;
                float v = 0;
                for (int k = 0; k < 4; k++)
                    v += wt[k] * (at[k] >= 0 ? img[at[k]] : 0.5f);
                out[(c * H + y) * W + x] = v;
            }
        }
}

void nerve_featvis_warp_backward(float *dimage, const float *dout, uint64_t id, int64_t step,
                                 const nerve_featvis_options *o)
{
    int64_t C = o->channels, H = o->height, W = o->width;
    if (o->no_transforms) {
        memcpy(dimage, dout, sizeof(float) * (size_t)(C * H * W));
        return;
    }
    memset(dimage, 0, sizeof(float) * (size_t)(C * H * W));
    warp w = warp_draw(id, step, o);
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) {
            double qy, qx;
            int64_t at[4];
            float wt[4];
            source(&qy, &qx, &w, y, x, H, W);
            taps(at, wt, qy, qx, H, W);
            for (int64_t c = 0; c < C; c++)
                for (int k = 0; k < 4; k++)
                    if (at[k] >= 0)
                        dimage[c * H * W + at[k]] += wt[k] * dout[(c * H + y) * W + x];
        }
}

/* tv * mean over neighbours of |p - p'| (right and down) and l2 * mean of
 * (p - 0.5)^2, on the [0, 1] image. */
double featvis_penalties(float *dimage, const float *image, const nerve_featvis_options *o)
{
    int64_t C = o->channels, H = o->height, W = o->width, n = C * H * W;
    double total = 0;
    if (o->l2 > 0)
        for (int64_t i = 0; i < n; i++) {
            double d = image[i] - 0.5;
            total += o->l2 * d * d / (double)n;
            dimage[i] += (float)(o->l2 * 2 * d / (double)n);
        }
    if (o->tv > 0)
        for (int64_t c = 0; c < C; c++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++) {
                    int64_t i = (c * H + y) * W + x;
                    for (int k = 0; k < 2; k++) {
                        int64_t j = k ? (y + 1 < H ? i + W : -1) : (x + 1 < W ? i + 1 : -1);
                        if (j < 0)
                            continue;
                        double d = image[i] - image[j], g = o->tv / (double)n * (d > 0 ? 1 : d < 0 ? -1 : 0);
                        total += o->tv * fabs(d) / (double)n;
                        dimage[i] += (float)g;
                        dimage[j] -= (float)g;
                    }
                }
    return total;
}
