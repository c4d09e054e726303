/*
 * pad.c — the Pad operator's kernel. The input's rows are copied into
 * place, then each axis's borders are filled, innermost axis first, by
 * copying whole blocks that are already filled (or the constant) with
 * memcpy runs that double in length: a pad costs time in proportion to the
 * bytes it writes, however long its borders. And its naive twin, one
 * element at a time, that the tests compare it against.
 *
 * Negative pads crop. The borders of edge and reflect modes repeat what is
 * left after cropping, as onnxruntime does (it slices first, then pads).
 */
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

int64_t nn_pad_mirror(int64_t i, int64_t size, int mode)
{
    if (i >= 0 && i < size)
        return i;
    if (mode == NN_PAD_CONSTANT || size == 0)
        return -1;
    if (mode == NN_PAD_EDGE || size == 1)
        return i < 0 ? 0 : size - 1;
    /* reflect about both ends, without repeating them: period 2 (size - 1) */
    int64_t period = 2 * (size - 1);
    i %= period;
    i = i < 0 ? i + period : i;
    return i < size ? i : period - i;
}

void nn_pad_visible(const nerve_array *x, const int64_t *out_shape, const int64_t *pads, int d, int64_t *lo,
                    int64_t *hi)
{
    int64_t before = pads[d], end = before + x->shape[d];   /* op_pad checked this sum for overflow */
    *lo = before < 0 ? 0 : before > out_shape[d] ? out_shape[d] : before;
    *hi = end < *lo ? *lo : end > out_shape[d] ? out_shape[d] : end;
}

/* Extends bytes p[0, have), whole periods of a repeating pattern, to
 * p[0, len); each copy doubles what is there, so a border of any length
 * costs a few memcpy calls. have > 0 unless len is 0. */
static void repeat_forward(char *p, size_t have, size_t len)
{
    while (have < len) {
        size_t n = len - have < have ? len - have : have;
        memcpy(p + have, p, n);
        have += n;
    }
}

/* The same towards the start: p[len - have, len) holds whole periods. */
static void repeat_backward(char *p, size_t have, size_t len)
{
    while (have < len) {
        size_t n = len - have < have ? len - have : have;
        memcpy(p + len - have - n, p + len - n, n);
        have += n;
    }
}

/* The next tuple of positions on axes [0, m), each in [lo, hi), in
 * row-major order; 0 after the last (at once when m is 0). */
static int next_position(int64_t *pos, int m, const int64_t *lo, const int64_t *hi)
{
    for (int d = m - 1; d >= 0; d--) {
        if (++pos[d] < hi[d])
            return 1;
        pos[d] = lo[d];
    }
    return 0;
}

/* The borders of one line of n blocks along an axis, blocks [lo, hi)
 * already filled. Edge and reflect borders repeat with a period of 1 or
 * 2 (hi - lo - 1) blocks: one period is copied block by block from the
 * line's filled part, the rest repeated. */
static void pad_line(char *line, int64_t n, int64_t lo, int64_t hi, size_t block, int mode, const void *value,
                     size_t es)
{
    if (mode == NN_PAD_CONSTANT) {
        if (lo > 0) {
            memcpy(line, value, es);
            repeat_forward(line, es, (size_t)lo * block);
        }
        if (hi < n) {
            memcpy(line + hi * block, value, es);
            repeat_forward(line + hi * block, es, (size_t)(n - hi) * block);
        }
        return;
    }
    int64_t len = hi - lo, period = mode == NN_PAD_EDGE || len == 1 ? 1 : 2 * (len - 1);
    int64_t k = lo < period ? lo : period;
    for (int64_t j = lo - k; j < lo; j++)
        memcpy(line + j * block, line + (lo + nn_pad_mirror(j - lo, len, mode)) * block, block);
    repeat_backward(line, (size_t)k * block, (size_t)lo * block);
    k = n - hi < period ? n - hi : period;
    for (int64_t j = hi; j < hi + k; j++)
        memcpy(line + j * block, line + (lo + nn_pad_mirror(j - lo, len, mode)) * block, block);
    repeat_forward(line + hi * block, (size_t)k * block, (size_t)(n - hi) * block);
}

void nn_pad(nerve_array *out, const nerve_array *x, const int64_t *pads, int mode, const void *value)
{
    int nd = x->ndim;
    size_t es = (size_t)nerve_dtype_size(x->dtype);
    char *y = out->data;
    const char *src = x->data;
    if (nerve_array_count(out) == 0)
        return;
    if (nd == 0) {
        memcpy(y, src, es);
        return;
    }
    /* block[d]: the bytes of one position along axis d (what follows it);
     * step[d]: the input's elements between positions along d. */
    int64_t lo[NERVE_MAX_DIMS], hi[NERVE_MAX_DIMS], pos[NERVE_MAX_DIMS], step[NERVE_MAX_DIMS];
    size_t block[NERVE_MAX_DIMS];
    int shown = 1;
    for (int d = nd - 1; d >= 0; d--) {
        nn_pad_visible(x, out->shape, pads, d, &lo[d], &hi[d]);
        shown &= hi[d] > lo[d];
        block[d] = d == nd - 1 ? es : block[d + 1] * (size_t)out->shape[d + 1];
        step[d] = d == nd - 1 ? 1 : step[d + 1] * x->shape[d + 1];
    }
    if (!shown) {   /* cropped away: all constant (op_pad refuses edge and reflect here) */
        memcpy(y, value, es);
        repeat_forward(y, es, (size_t)nerve_array_count(out) * es);
        return;
    }
    /* The input's rows (last axis), each to its place. */
    memcpy(pos, lo, sizeof pos);
    do {
        size_t at = (size_t)lo[nd - 1] * es;
        int64_t from = lo[nd - 1] - pads[nd - 1];
        for (int d = 0; d < nd - 1; d++) {
            at += (size_t)pos[d] * block[d];
            from += (pos[d] - pads[d]) * step[d];
        }
        memcpy(y + at, src + (size_t)from * es, (size_t)(hi[nd - 1] - lo[nd - 1]) * es);
    } while (next_position(pos, nd - 1, lo, hi));
    /* Then the borders, innermost axis first: once axes past d are done,
     * every line along d whose outer positions show the input has its
     * blocks [lo, hi) complete. */
    for (int d = nd - 1; d >= 0; d--) {
        if (lo[d] == 0 && hi[d] == out->shape[d])
            continue;
        memcpy(pos, lo, sizeof pos);
        do {
            size_t at = 0;
            for (int k = 0; k < d; k++)
                at += (size_t)pos[k] * block[k];
            pad_line(y + at, out->shape[d], lo[d], hi[d], block[d], mode, value, es);
        } while (next_position(pos, d, lo, hi));
    }
}

void nn_pad_naive(nerve_array *out, const nerve_array *x, const int64_t *pads, int mode, const void *value)
{
    int nd = x->ndim;
    size_t es = (size_t)nerve_dtype_size(x->dtype);
    int64_t lo[NERVE_MAX_DIMS], hi[NERVE_MAX_DIMS], index[NERVE_MAX_DIMS] = { 0 };
    for (int d = 0; d < nd; d++)
        nn_pad_visible(x, out->shape, pads, d, &lo[d], &hi[d]);
    int64_t total = nerve_array_count(out);
    for (int64_t k = 0; k < total; k++) {
        int64_t from = 0;
        for (int d = 0; d < nd && from >= 0; d++) {
            int64_t i = nn_pad_mirror(index[d] - lo[d], hi[d] - lo[d], mode);
            from = i < 0 ? -1 : from * x->shape[d] + lo[d] - pads[d] + i;
        }
        memcpy((char *)out->data + (size_t)k * es, from < 0 ? value : (const char *)x->data + (size_t)from * es,
               es);
        for (int d = nd - 1; d >= 0 && ++index[d] == out->shape[d]; d--)
            index[d] = 0;
    }
}
