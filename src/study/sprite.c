/*
 * sprite.c — PNGs holding a thumbnail of each input in a grid, 10,000 a
 * page, so the viewer can show any input with one image download a page. Each thumbnail is the
 * preprocessed input stretched to its own min..max, shrunk by area averaging.
 * Each row of cells is a band of the PNG, drawn and compressed on its own:
 * with several ranks, each takes its share of the rows and rank 0 joins
 * them (the bytes are the same for any number of ranks).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"
#include "dist.h"
#include "study_internal.h"

/* Draws input x (C, H, W) into its cell of the grid. */
static void draw_thumbnail(uint8_t *grid, int64_t grid_w, int channels, const float *x, int64_t C,
                           int64_t H, int64_t W, int64_t cell_x, int64_t cell_y, int64_t side)
{
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < C * H * W; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
    }
    float span = hi > lo ? hi - lo : 1;
    for (int64_t ty = 0; ty < side; ty++)
        for (int64_t tx = 0; tx < side; tx++) {
            /* The source rectangle this thumbnail pixel covers. */
            int64_t y0 = ty * H / side, y1 = (ty + 1) * H / side, x0 = tx * W / side, x1 = (tx + 1) * W / side;
            y1 = y1 > y0 ? y1 : y0 + 1;
            x1 = x1 > x0 ? x1 : x0 + 1;
            for (int c = 0; c < channels; c++) {
                int64_t sc = C == 1 ? 0 : c;
                double s = 0;
                for (int64_t y = y0; y < y1; y++)
                    for (int64_t xx = x0; xx < x1; xx++)
                        s += x[(sc * H + y) * W + xx];
                double v = (s / (double)((y1 - y0) * (x1 - x0)) - lo) / span;
                grid[((cell_y + ty) * grid_w + cell_x + tx) * channels + c] = (uint8_t)lrint(fmin(fmax(v, 0), 1) * 255);
            }
        }
}

/* The grid of one page: inputs first .. first + n - 1 in rows of `columns`
 * cells of side x side pixels. */
typedef struct grid {
    int64_t first, n, side, columns, rows;
    int     channels;
} grid;

/* Row `row` of cells, drawn and compressed into b. */
static int draw_band(nerve_png_band *b, nerve_inputs *in, const grid *g, int64_t row)
{
    int64_t C = in->shape[0], H = in->shape[1], W = in->shape[2], width = g->columns * g->side;
    int64_t at = row * g->columns, count = g->n - at < g->columns ? g->n - at : g->columns, first = g->first + at;
    uint8_t *px = calloc((size_t)(width * g->side * g->channels), 1);
    if (!px)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for the input sprite");
    nerve_array batch;
    int rc = nerve_inputs_batch(in, first, count, &batch);
    for (int64_t i = 0; rc == 0 && i < count; i++)
        draw_thumbnail(px, width, g->channels, (const float *)batch.data + i * C * H * W, C, H, W, i * g->side, 0,
                       g->side);
    if (rc == 0) {
        nerve_array_free(&batch);
        rc = nerve_png_band_compress(b, px, width, g->side, g->channels, row == g->rows - 1);
    }
    free(px);
    return rc;
}

/* A band's place in a rank's message: its sizes, then its bytes. */
typedef struct band_head {
    uint64_t bytes, raw;
    uint32_t adler, pad;
} band_head;

/* This rank's bands [r0, r1), drawn, compressed and packed one after
 * another into *out. */
static int pack_bands(char **out, size_t *size, nerve_inputs *in, const grid *g, int64_t r0, int64_t r1)
{
    *out = NULL;
    *size = 0;
    int rc = 0;
    for (int64_t row = r0; row < r1 && rc == 0; row++) {
        nerve_png_band b;
        if ((rc = draw_band(&b, in, g, row)) < 0)
            break;
        char *more = realloc(*out, *size + sizeof(band_head) + b.bytes);
        if (!more)
            rc = nerve_error_set(NERVE_ENOMEM, "out of memory for the input sprite");
        else {
            band_head h = { b.bytes, b.raw, b.adler, 0 };
            memcpy(more + *size, &h, sizeof h);
            memcpy(more + *size + sizeof h, b.data, b.bytes);
            *out = more;
            *size += sizeof h + b.bytes;
        }
        nerve_png_band_free(&b);
    }
    return rc;
}

/* Rank 0: every rank's bands, in order, as the PNG. */
static int write_bands(const char *path, const grid *g, char *all, size_t size)
{
    nerve_png_band *bands = calloc((size_t)g->rows, sizeof *bands);
    if (!bands)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for the input sprite");
    int64_t n = 0;
    for (size_t at = 0; at + sizeof(band_head) <= size && n < g->rows; n++) {
        band_head h;
        memcpy(&h, all + at, sizeof h);
        bands[n] = (nerve_png_band){ (uint8_t *)all + at + sizeof h, h.bytes, h.raw, h.adler };
        at += sizeof h + h.bytes;
    }
    int rc = n == g->rows ? nerve_png_bands_write(path, g->columns * g->side, g->rows * g->side, g->channels, bands,
                                                  (int)n)
                          : nerve_error_set(NERVE_EINTERNAL, "%s: %lld of the sprite's %lld rows arrived", path,
                                            (long long)n, (long long)g->rows);
    free(bands);
    return rc;
}

int sprite_page_path(char *out, size_t cap, const char *path, int64_t page)
{
    size_t n = strlen(path);
    int stem = n > 4 && strcmp(path + n - 4, ".png") == 0 ? (int)(n - 4) : (int)n;
    int k = page == 0 ? snprintf(out, cap, "%s", path) : snprintf(out, cap, "%.*s.%lld.png", stem, path, (long long)page);
    return k >= 0 && (size_t)k < cap ? 0 : nerve_error_set(NERVE_EINPUT, "%s: the sprite's path is too long", path);
}

/* One page: its rows of cells shared among the ranks, rank 0 writing it. */
static int write_page(const char *path, nerve_inputs *in, const grid *g)
{
    int64_t r0, r1;
    study_dist_share(g->rows, 1, study_dist_rank(), study_dist_size(), &r0, &r1);
    char *mine, *all = NULL;
    size_t size, all_size = 0;
    int rc = pack_bands(&mine, &size, in, g, r0, r1);
    if (rc == 0)
        rc = study_dist_gather((void **)&all, &all_size, mine, size);
    free(mine);
    if (rc == 0 && study_dist_rank() == 0)
        rc = write_bands(path, g, all, all_size);
    free(all);
    return rc;
}

int sprite_write_paged(const char *path, nerve_inputs *in, int64_t count, int64_t per_page, sprite_info *info)
{
    int64_t H = in->shape[1], W = in->shape[2], total = count < SPRITE_MAX_INPUTS ? count : SPRITE_MAX_INPUTS;
    grid g = { .channels = in->shape[0] >= 3 ? 3 : 1 };
    g.side = H > W ? H : W;
    g.side = g.side < SPRITE_MAX_SIDE ? g.side : SPRITE_MAX_SIDE;
    /* Every page as wide as a full one: input i's cell is i % per_page of page i / per_page. */
    g.columns = (int64_t)ceil(sqrt((double)(total < per_page ? total : per_page)));
    g.columns = g.columns > 0 ? g.columns : 1;
    int64_t pages = total > 0 ? (total + per_page - 1) / per_page : 1;
    int rc = 0;
    for (int64_t p = 0; p < pages && rc == 0; p++) {
        char page[PATH_MAX];
        g.first = p * per_page;
        g.n = total - g.first < per_page ? total - g.first : per_page;
        g.rows = (g.n + g.columns - 1) / g.columns;
        g.rows = g.rows > 0 ? g.rows : 1;
        if ((rc = sprite_page_path(page, sizeof page, path, p)) == 0)
            rc = write_page(page, in, &g);
    }
    *info = (sprite_info){ .count = total, .side = g.side, .columns = g.columns, .per_page = per_page, .pages = pages };
    return rc;
}

int sprite_write(const char *path, nerve_inputs *in, int64_t count, sprite_info *info)
{
    return sprite_write_paged(path, in, count, SPRITE_PAGE_INPUTS, info);
}
