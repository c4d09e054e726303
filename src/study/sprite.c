/*
 * sprite.c — one PNG holding a thumbnail of each input in a grid, so the
 * viewer can show any input with one image download. Each thumbnail is the
 * preprocessed input stretched to its own min..max, shrunk by area averaging.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"
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

int sprite_write(const char *path, nerve_inputs *in, int64_t count, sprite_info *info)
{
    int64_t C = in->shape[0], H = in->shape[1], W = in->shape[2];
    int64_t n = count < SPRITE_MAX_INPUTS ? count : SPRITE_MAX_INPUTS;
    int64_t side = H > W ? H : W;
    side = side < SPRITE_MAX_SIDE ? side : SPRITE_MAX_SIDE;
    int64_t columns = (int64_t)ceil(sqrt((double)n));
    columns = columns > 0 ? columns : 1;
    int64_t rows = (n + columns - 1) / columns;
    int channels = C >= 3 ? 3 : 1;
    nerve_image img = { .height = rows * side, .width = columns * side, .channels = channels };
    img.pixels = calloc((size_t)(img.height * img.width * channels) + 1, 1);
    if (!img.pixels)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for the input sprite");
    int rc = 0;
    for (int64_t start = 0; start < n && rc == 0; start += 256) {
        int64_t b = n - start < 256 ? n - start : 256;
        nerve_array batch;
        if ((rc = nerve_inputs_batch(in, start, b, &batch)) < 0)
            break;
        for (int64_t i = 0; i < b; i++) {
            int64_t k = start + i;
            draw_thumbnail(img.pixels, img.width, channels, (const float *)batch.data + i * C * H * W, C, H, W,
                           k % columns * side, k / columns * side, side);
        }
        nerve_array_free(&batch);
    }
    if (rc == 0)
        rc = nerve_image_write_png(path, &img);
    free(img.pixels);
    info->count = n;
    info->side = side;
    info->columns = columns;
    return rc;
}
