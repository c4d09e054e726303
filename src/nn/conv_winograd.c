/*
 * conv_winograd.c — 3 x 3, stride-1, pad-1 convolution by Winograd's
 * minimal filtering F(2 x 2, 3 x 3) (Lavin and Gray, 2016): each 2 x 2
 * output tile comes from a 4 x 4 input tile with 16 multiplications per
 * channel pair instead of 36. The weights and the input tiles go to the
 * transformed domain, the 16 transformed planes are 16 GEMMs (OpenBLAS),
 * and the products come back as output tiles.
 *
 * Maps under 8 x 8 keep im2col: their odd sides waste much of the tiles
 * (7 x 7 needs 8 x 8) and measured slower.
 *
 * Work items are fixed groups of tiles (a band of tile rows of one image,
 * or several whole small images), so sums never depend on the thread
 * count. The transforms run along whole rows, which the compiler
 * vectorises.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

enum { TILE_TARGET = 448, SMALL_MAP_TILES = 64, MIN_CHANNELS = 16, MIN_SIDE = 8 };

int nn_conv_winograd_applies(const nn_geometry *g, int64_t groups, int64_t M)
{
    return groups == 1 && g->spatial == 2 && g->k[1] == 3 && g->k[2] == 3 && g->s[1] == 1 && g->s[2] == 1 &&
           g->d[1] == 1 && g->d[2] == 1 && g->pb[1] == 1 && g->pe[1] == 1 && g->pb[2] == 1 && g->pe[2] == 1 &&
           g->channels >= MIN_CHANNELS && M >= MIN_CHANNELS && g->in[1] >= MIN_SIDE && g->in[2] >= MIN_SIDE;
}

void nn_winograd_weights(float *u, const float *w, int64_t M, int64_t C)
{
    #pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++) {
            const float *k = w + (m * C + c) * 9;
            float t[4][3];   /* G g */
            for (int j = 0; j < 3; j++) {
                t[0][j] = k[j];
                t[1][j] = 0.5f * (k[j] + k[3 + j] + k[6 + j]);
                t[2][j] = 0.5f * (k[j] - k[3 + j] + k[6 + j]);
                t[3][j] = k[6 + j];
            }
            for (int i = 0; i < 4; i++) {   /* (G g) G^T */
                float r[4] = { t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]),
                               t[i][2] };
                for (int j = 0; j < 4; j++)
                    u[((int64_t)(i * 4 + j) * M + m) * C + c] = r[j];
            }
        }
}

/* A group of tiles: images [n0, n1), tile rows [ty0, ty1) of each. */
typedef struct tile_group {
    int64_t n0, n1, ty0, ty1;
} tile_group;

typedef struct wino_shape {
    int64_t C, M, H, W, th, tw;
} wino_shape;

/* V = B^T d B for every channel and tile of the group: 16 planes C x T.
 * Rows first (B^T d, over whole zero-padded rows), then columns. */
static void transform_input(float *v, float *rows, const float *x, const wino_shape *s, const tile_group *tg,
                            int64_t T)
{
    const int64_t ext = 2 * s->tw + 2;   /* columns -1 .. 2 tw */
    float *r[4] = { rows, rows + ext, rows + 2 * ext, rows + 3 * ext };
    float *z[4] = { rows + 4 * ext, rows + 5 * ext, rows + 6 * ext, rows + 7 * ext };
    for (int64_t c = 0; c < s->C; c++) {
        int64_t t = 0;
        for (int64_t n = tg->n0; n < tg->n1; n++)
            for (int64_t ty = tg->ty0; ty < tg->ty1; ty++) {
                const float *plane = x + (n * s->C + c) * s->H * s->W;
                for (int i = 0; i < 4; i++) {
                    int64_t iy = 2 * ty - 1 + i;
                    memset(r[i], 0, (size_t)ext * sizeof *r[i]);
                    if (iy >= 0 && iy < s->H)
                        memcpy(r[i] + 1, plane + iy * s->W, (size_t)s->W * sizeof *r[i]);
                }
                for (int64_t e = 0; e < ext; e++) {
                    z[0][e] = r[0][e] - r[2][e];
                    z[1][e] = r[1][e] + r[2][e];
                    z[2][e] = r[2][e] - r[1][e];
                    z[3][e] = r[1][e] - r[3][e];
                }
                for (int i = 0; i < 4; i++) {
                    float *v0 = v + ((int64_t)(i * 4 + 0) * s->C + c) * T + t;
                    float *v1 = v + ((int64_t)(i * 4 + 1) * s->C + c) * T + t;
                    float *v2 = v + ((int64_t)(i * 4 + 2) * s->C + c) * T + t;
                    float *v3 = v + ((int64_t)(i * 4 + 3) * s->C + c) * T + t;
                    const float *zi = z[i];
                    for (int64_t tx = 0; tx < s->tw; tx++) {
                        const float *q = zi + 2 * tx;
                        v0[tx] = q[0] - q[2];
                        v1[tx] = q[1] + q[2];
                        v2[tx] = q[2] - q[1];
                        v3[tx] = q[1] - q[3];
                    }
                }
                t += s->tw;
            }
    }
}

/* Y = A^T m A + bias for every output channel and tile of the group. */
static void transform_output(float *y, float *tmp, const float *mx, const float *b, const wino_shape *s,
                             const tile_group *tg, int64_t T)
{
    float *y00 = tmp, *y01 = tmp + T, *y10 = tmp + 2 * T, *y11 = tmp + 3 * T;
    for (int64_t m = 0; m < s->M; m++) {
        const float *p[16];
        for (int k = 0; k < 16; k++)
            p[k] = mx + ((int64_t)k * s->M + m) * T;
        float bias = b ? b[m] : 0;
        for (int64_t t = 0; t < T; t++) {
            float s0[4], s1[4];
            for (int j = 0; j < 4; j++) {
                s0[j] = p[j][t] + p[4 + j][t] + p[8 + j][t];
                s1[j] = p[4 + j][t] - p[8 + j][t] - p[12 + j][t];
            }
            y00[t] = s0[0] + s0[1] + s0[2] + bias;
            y01[t] = s0[1] - s0[2] - s0[3] + bias;
            y10[t] = s1[0] + s1[1] + s1[2] + bias;
            y11[t] = s1[1] - s1[2] - s1[3] + bias;
        }
        int64_t t = 0;
        for (int64_t n = tg->n0; n < tg->n1; n++)
            for (int64_t ty = tg->ty0; ty < tg->ty1; ty++, t += s->tw) {
                float *row0 = y + ((n * s->M + m) * s->H + 2 * ty) * s->W;
                float *row1 = row0 + s->W;
                int64_t full = s->W / 2;   /* tiles whose two columns are inside */
                for (int64_t tx = 0; tx < full; tx++) {
                    row0[2 * tx] = y00[t + tx];
                    row0[2 * tx + 1] = y01[t + tx];
                }
                if (full < s->tw)
                    row0[2 * full] = y00[t + full];
                if (2 * ty + 1 >= s->H)
                    continue;
                for (int64_t tx = 0; tx < full; tx++) {
                    row1[2 * tx] = y10[t + tx];
                    row1[2 * tx + 1] = y11[t + tx];
                }
                if (full < s->tw)
                    row1[2 * full] = y10[t + full];
            }
    }
}

/* The work items: bands of tile rows of about TILE_TARGET tiles, or for
 * small maps whole images, about SMALL_MAP_TILES tiles' worth per item. */
static int64_t plan_groups(tile_group *out, const wino_shape *s, int64_t batch)
{
    int64_t per_image = s->th * s->tw, count = 0;
    if (per_image >= TILE_TARGET / 2) {
        int64_t band = (TILE_TARGET + s->tw - 1) / s->tw;
        for (int64_t n = 0; n < batch; n++)
            for (int64_t ty = 0; ty < s->th; ty += band) {
                if (out)
                    out[count] = (tile_group){ n, n + 1, ty, ty + band < s->th ? ty + band : s->th };
                count++;
            }
        return count;
    }
    /* Fewer tiles per item for small maps, so a batch still makes several
     * items (their layers are deep: the GEMMs stay large in M and K). */
    int64_t images = (SMALL_MAP_TILES + per_image - 1) / per_image;
    for (int64_t n = 0; n < batch; n += images) {
        if (out)
            out[count] = (tile_group){ n, n + images < batch ? n + images : batch, 0, s->th };
        count++;
    }
    return count;
}

int nn_conv_winograd(float *y, const float *x, const float *u, const float *b, const nn_geometry *g, int64_t M)
{
    wino_shape s = { g->channels, M, g->in[1], g->in[2], (g->in[1] + 1) / 2, (g->in[2] + 1) / 2 };
    int64_t n_groups = plan_groups(NULL, &s, g->batch);
    int64_t max_tiles = 0;
    tile_group *groups = malloc((size_t)n_groups * sizeof *groups);
    if (!groups)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for a convolution");
    plan_groups(groups, &s, g->batch);
    for (int64_t i = 0; i < n_groups; i++) {
        int64_t T = (groups[i].n1 - groups[i].n0) * (groups[i].ty1 - groups[i].ty0) * s.tw;
        max_tiles = T > max_tiles ? T : max_tiles;
    }
    int failed = 0;
    #pragma omp parallel reduction(|:failed)
    {
        float *v = malloc((size_t)(16 * s.C * max_tiles) * sizeof *v);
        float *mx = malloc((size_t)(16 * M * max_tiles) * sizeof *mx);
        float *rows = malloc((size_t)(8 * (2 * s.tw + 2)) * sizeof *rows);
        float *tmp = malloc((size_t)(4 * max_tiles) * sizeof *tmp);
        failed = !v || !mx || !rows || !tmp;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < n_groups; i++) {
            if (failed)
                continue;
            const tile_group *tg = &groups[i];
            int64_t T = (tg->n1 - tg->n0) * (tg->ty1 - tg->ty0) * s.tw;
            transform_input(v, rows, x, &s, tg, T);
            for (int k = 0; k < 16; k++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)T, (int)s.C, 1.0f,
                            u + (int64_t)k * M * s.C, (int)s.C, v + (int64_t)k * s.C * T, (int)T, 0.0f,
                            mx + (int64_t)k * M * T, (int)T);
            transform_output(y, tmp, mx, b, &s, tg, T);
        }
        free(v);
        free(mx);
        free(rows);
        free(tmp);
    }
    free(groups);
    return failed ? nerve_error_set(NERVE_ENOMEM, "out of memory for a convolution") : 0;
}
