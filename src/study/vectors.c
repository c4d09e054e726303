/*
 * vectors.c — a layer's output for one input, turned into the vectors of
 * its point cloud: a conv map (C, H, W) or a transformer's tokens (T, C)
 * by one of the modes (a random position as TopoAct does, the position of
 * largest norm, mean, max, flatten, center, every position; every token,
 * the first, a random one); any other output flattened to one vector.
 * Tokens are a 1 x T map whose channels are the fastest axis.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"
#include "nerve/internal/alloc.h"
#include "study_internal.h"

static const char *mode_names[] = {
    [NERVE_MODE_RANDOM_POSITION] = "random-position", [NERVE_MODE_MAX_NORM] = "max-norm",
    [NERVE_MODE_MEAN] = "mean",     [NERVE_MODE_MAX] = "max",       [NERVE_MODE_FLATTEN] = "flatten",
    [NERVE_MODE_CENTER] = "center", [NERVE_MODE_ALL] = "all", [NERVE_MODE_FOREGROUND_POSITION] = "foreground-position",
    [NERVE_MODE_TOKENS] = "tokens", [NERVE_MODE_CLS] = "cls", [NERVE_MODE_RANDOM_TOKEN] = "random-token",
};
enum { MODE_COUNT = sizeof mode_names / sizeof mode_names[0] };

const char *nerve_vector_mode_name(nerve_vector_mode m)
{
    return (unsigned)m < MODE_COUNT ? mode_names[m] : "?";
}

int nerve_vector_mode_parse(const char *s, nerve_vector_mode *m)
{
    for (int i = 0; i < MODE_COUNT; i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *m = (nerve_vector_mode)i;
            return 0;
        }
    return -1;
}

/* A mode of the other kind, as nerve/study.h says it applies. */
static nerve_vector_mode resolved(nerve_vector_mode mode, int tokens)
{
    if (tokens)
        switch (mode) {
        case NERVE_MODE_RANDOM_POSITION:
        case NERVE_MODE_FOREGROUND_POSITION: return NERVE_MODE_RANDOM_TOKEN;
        case NERVE_MODE_ALL:                 return NERVE_MODE_TOKENS;
        default:                             return mode;
        }
    switch (mode) {
    case NERVE_MODE_TOKENS:       return NERVE_MODE_ALL;
    case NERVE_MODE_RANDOM_TOKEN: return NERVE_MODE_RANDOM_POSITION;
    case NERVE_MODE_CLS:          return NERVE_MODE_MEAN;
    default:                      return mode;
    }
}

int vector_layout(vector_layout_t *l, nerve_vector_mode mode, int64_t per_input, int ndim, const int64_t *shape,
                  int tokens)
{
    memset(l, 0, sizeof *l);
    l->mode = mode;
    /* (C, H, W) is a map; (C, L) a 1-D map of height 1, or (T, C) tokens;
     * anything else a vector. */
    if (ndim == 2 && tokens) {
        l->spatial = l->tokens = 1;
        l->channels = shape[1];
        l->height = 1;
        l->width = shape[0];
        l->mode = resolved(mode, 1);
    } else if (ndim == 3 || ndim == 2) {
        l->spatial = 1;
        l->channels = shape[0];
        l->height = ndim == 3 ? shape[1] : 1;
        l->width = shape[ndim - 1];
        l->mode = resolved(mode, 0);
    } else {
        int64_t n = 1;
        for (int d = 0; d < ndim; d++)
            n *= shape[d];
        l->channels = n;
    }
    if (!l->spatial) {
        l->rows = 1;
        l->width_out = l->channels;
        return 0;
    }
    int64_t positions = l->height * l->width;
    l->cstride = l->tokens ? 1 : positions;
    l->pstride = l->tokens ? l->channels : 1;
    switch (l->mode) {
    case NERVE_MODE_RANDOM_POSITION:
    case NERVE_MODE_RANDOM_TOKEN:
    case NERVE_MODE_FOREGROUND_POSITION: l->rows = per_input > 0 ? per_input : 1; l->positions = 1; break;
    case NERVE_MODE_MAX_NORM:
    case NERVE_MODE_CLS:
    case NERVE_MODE_CENTER:          l->rows = 1; l->positions = 1; break;
    case NERVE_MODE_TOKENS:
    case NERVE_MODE_ALL:             l->rows = positions; l->positions = 1; break;
    default:                         l->rows = 1; break;
    }
    l->width_out = l->mode == NERVE_MODE_FLATTEN ? l->channels * positions : l->channels;
    return 0;
}

/* The range positions are drawn from: edges excluded where there is room. */
static void inner_range(int64_t size, int64_t *lo, int64_t *n)
{
    *lo = size >= 3 ? 1 : 0;
    *n = size >= 3 ? size - 2 : size;
}

static void copy_position(float *row, const float *map, const vector_layout_t *l, int64_t y, int64_t x)
{
    const float *at = map + (y * l->width + x) * l->pstride;
    for (int64_t c = 0; c < l->channels; c++)
        row[c] = at[c * l->cstride];
}

/* Whether the map differs from the blank input's at (y, x): by more than
 * float rounding of the same computation (the blank ran as its own batch). */
static int in_foreground(const float *map, const vector_layout_t *l, int64_t y, int64_t x)
{
    int64_t plane = l->height * l->width, at = y * l->width + x;
    for (int64_t c = 0; c < l->channels; c++)
        if (fabsf(map[c * plane + at] - l->blank[c * plane + at]) > l->blank_tolerance)
            return 1;
    return 0;
}

int vector_layout_set_blank(vector_layout_t *l, const float *map, int64_t count)
{
    free(l->blank);
    l->blank = nerve_alloc_array((size_t)count, sizeof *l->blank, "a blank input's map");
    if (!l->blank)
        return nerve_error_set(NERVE_ENOMEM, "out of memory keeping a layer's map of a blank input");
    memcpy(l->blank, map, (size_t)count * sizeof *l->blank);
    float top = 0;
    for (int64_t i = 0; i < count; i++)
        top = fmaxf(top, fabsf(map[i]));
    l->blank_tolerance = 1e-4f * (1 + top);
    return 0;
}

/* Random positions of the inner range among those in the foreground; all
 * of the inner range when the input shows nothing the blank does not. */
static void foreground_rows(float *rows, int64_t *positions, const float *map, const vector_layout_t *l,
                            nerve_rng *rng)
{
    int64_t ylo, yn, xlo, xn;
    inner_range(l->height, &ylo, &yn);
    inner_range(l->width, &xlo, &xn);
    int64_t count = 0;
    for (int64_t y = ylo; y < ylo + yn; y++)
        for (int64_t x = xlo; x < xlo + xn; x++)
            count += in_foreground(map, l, y, x);
    for (int64_t r = 0; r < l->rows; r++) {
        /* the k-th foreground position, or the k-th of the inner range */
        int64_t k = (int64_t)nerve_rng_below(rng, (uint64_t)(count ? count : yn * xn)), y = ylo, x = xlo;
        for (int64_t p = 0; p < yn * xn; p++) {
            y = ylo + p / xn, x = xlo + p % xn;
            if ((!count || in_foreground(map, l, y, x)) && k-- == 0)
                break;
        }
        copy_position(rows + r * l->channels, map, l, y, x);
        positions[2 * r] = y;
        positions[2 * r + 1] = x;
    }
}

/* Tokens the attention mask keeps (all of them without a mask, or when
 * it keeps none); and the k-th of them. */
static int64_t valid_count(const vector_layout_t *l)
{
    int64_t n = 0;
    for (int64_t p = 0; l->valid && p < l->width; p++)
        n += l->valid[p] != 0;
    return n ? n : l->height * l->width;
}

static int64_t nth_valid(const vector_layout_t *l, int64_t k)
{
    if (valid_count(l) == l->width)
        return k;
    for (int64_t p = 0; p < l->width; p++)
        if (l->valid[p] && k-- == 0)
            return p;
    return 0;
}

void vector_rows(float *rows, int64_t *positions, const float *map, const vector_layout_t *l, nerve_rng *rng)
{
    if (!l->spatial) {
        memcpy(rows, map, (size_t)l->channels * sizeof *rows);
        return;
    }
    int64_t plane = l->height * l->width, C = l->channels;
    if (l->mode == NERVE_MODE_FOREGROUND_POSITION && l->blank) {
        foreground_rows(rows, positions, map, l, rng);
        return;
    }
    switch (l->mode) {
    case NERVE_MODE_RANDOM_TOKEN:   /* no padding at a sequence's ends: any token the mask keeps */
        for (int64_t r = 0; r < l->rows; r++) {
            int64_t x = nth_valid(l, (int64_t)nerve_rng_below(rng, (uint64_t)valid_count(l)));
            copy_position(rows + r * C, map, l, 0, x);
            positions[2 * r] = 0;
            positions[2 * r + 1] = x;
        }
        return;
    case NERVE_MODE_CLS:
        copy_position(rows, map, l, 0, 0);
        positions[0] = positions[1] = 0;
        return;
    case NERVE_MODE_FOREGROUND_POSITION:   /* no blank response known: any position */
    case NERVE_MODE_RANDOM_POSITION: {
        int64_t ylo, yn, xlo, xn;
        inner_range(l->height, &ylo, &yn);
        inner_range(l->width, &xlo, &xn);
        for (int64_t r = 0; r < l->rows; r++) {
            int64_t y = ylo + (int64_t)nerve_rng_below(rng, (uint64_t)yn);
            int64_t x = xlo + (int64_t)nerve_rng_below(rng, (uint64_t)xn);
            copy_position(rows + r * C, map, l, y, x);
            positions[2 * r] = y;
            positions[2 * r + 1] = x;
        }
        return;
    }
    case NERVE_MODE_MAX_NORM: {
        int64_t best = 0;
        double best_norm = -1;
        for (int64_t p = 0; p < plane; p++) {
            double s = 0;
            for (int64_t c = 0; c < C; c++) {
                float v = map[c * l->cstride + p * l->pstride];
                s += (double)v * v;
            }
            if (s > best_norm) {
                best_norm = s;
                best = p;
            }
        }
        copy_position(rows, map, l, best / l->width, best % l->width);
        positions[0] = best / l->width;
        positions[1] = best % l->width;
        return;
    }
    case NERVE_MODE_CENTER:
        copy_position(rows, map, l, l->height / 2, l->width / 2);
        positions[0] = l->height / 2;
        positions[1] = l->width / 2;
        return;
    case NERVE_MODE_TOKENS:
    case NERVE_MODE_ALL:
        for (int64_t p = 0; p < plane; p++) {
            copy_position(rows + p * C, map, l, p / l->width, p % l->width);
            positions[2 * p] = p / l->width;
            positions[2 * p + 1] = p % l->width;
        }
        return;
    case NERVE_MODE_MEAN:
    case NERVE_MODE_MAX: {
        int64_t kept = valid_count(l);
        for (int64_t c = 0; c < C; c++) {
            const float *v = map + c * l->cstride;
            double s = 0;
            float m = -INFINITY;
            for (int64_t p = 0; p < plane; p++) {
                if (kept < plane && !l->valid[p])
                    continue;   /* padding, as BERT's masked mean pooling leaves it out */
                float a = v[p * l->pstride];
                s += a;
                m = a > m ? a : m;
            }
            rows[c] = l->mode == NERVE_MODE_MEAN ? (float)(s / (double)kept) : m;
        }
        return;
    }
    case NERVE_MODE_FLATTEN:
        memcpy(rows, map, (size_t)(C * plane) * sizeof *rows);
        return;
    }
}
