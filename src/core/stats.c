/*
 * stats.c — min, max, mean and standard deviation of large float arrays,
 * with NaN and infinity counted apart. Two passes (mean, then squared
 * deviations) for accuracy; each pass splits the array into fixed chunks
 * whose partial results are combined in order, so the answer is the same at
 * any thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"

enum { CHUNK = 1 << 16, BLOCK = 1024, LANES = 16 };

typedef struct partial {
    double  sum;                /* of finite values (pass 1) or squared deviations (pass 2) */
    float   min, max;
    int64_t nan, inf;
} partial;

static int block_is_finite(const float *x, int64_t n)
{
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], 4);
        bad |= (bits & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

/* The slow path, for blocks holding a NaN or an infinity. */
static void block_careful(partial *p, const float *x, int64_t n, float mean, int pass)
{
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i])) {
            p->nan++;
        } else if (isinf(x[i])) {
            p->inf++;
        } else if (pass == 1) {
            p->sum += x[i];
            p->min = fminf(p->min, x[i]);
            p->max = fmaxf(p->max, x[i]);
        } else {
            double d = (double)x[i] - mean;
            p->sum += d * d;
        }
    }
}

/* Sum, min and max of a finite block; LANES independent accumulators let the
 * compiler vectorise without reassociating a single sum. */
static void block_fast_sum(partial *p, const float *x, int64_t n)
{
    float s[LANES] = { 0 }, lo[LANES], hi[LANES];
    for (int j = 0; j < LANES; j++)
        lo[j] = hi[j] = x[0];
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            float v = x[i + j];
            s[j] += v;
            lo[j] = v < lo[j] ? v : lo[j];
            hi[j] = v > hi[j] ? v : hi[j];
        }
    double sum = 0;
    for (int j = 0; j < LANES; j++) {
        sum += s[j];
        p->min = fminf(p->min, lo[j]);
        p->max = fmaxf(p->max, hi[j]);
    }
    for (; i < n; i++) {
        sum += x[i];
        p->min = fminf(p->min, x[i]);
        p->max = fmaxf(p->max, x[i]);
    }
    p->sum += sum;
}

static void block_fast_sq(partial *p, const float *x, int64_t n, float mean)
{
    float s[LANES] = { 0 };
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            float d = x[i + j] - mean;
            s[j] += d * d;
        }
    double sum = 0;
    for (int j = 0; j < LANES; j++)
        sum += s[j];
    for (; i < n; i++) {
        double d = (double)x[i] - mean;
        sum += d * d;
    }
    p->sum += sum;
}

static void chunk_pass(partial *p, const float *x, int64_t n, float mean, int pass)
{
    p->sum = 0;
    p->min = INFINITY;
    p->max = -INFINITY;
    p->nan = p->inf = 0;
    for (int64_t b = 0; b < n; b += BLOCK) {
        int64_t len = n - b < BLOCK ? n - b : BLOCK;
        if (!block_is_finite(x + b, len))
            block_careful(p, x + b, len, mean, pass);
        else if (pass == 1)
            block_fast_sum(p, x + b, len);
        else
            block_fast_sq(p, x + b, len, mean);
    }
}

/* One pass over the array: chunks in parallel, then combined in order. */
static int run_pass(partial *total, const float *x, int64_t n, float mean, int pass)
{
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    partial *parts = malloc((size_t)(chunks > 0 ? chunks : 1) * sizeof *parts);
    if (!parts)
        return -1;
    #pragma omp parallel for schedule(dynamic, 4)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t start = c * CHUNK;
        chunk_pass(&parts[c], x + start, n - start < CHUNK ? n - start : CHUNK, mean, pass);
    }
    total->sum = 0;
    total->min = INFINITY;
    total->max = -INFINITY;
    total->nan = total->inf = 0;
    for (int64_t c = 0; c < chunks; c++) {
        total->sum += parts[c].sum;
        total->min = fminf(total->min, parts[c].min);
        total->max = fmaxf(total->max, parts[c].max);
        total->nan += parts[c].nan;
        total->inf += parts[c].inf;
    }
    free(parts);
    return 0;
}

static void stats_empty(nerve_stats *s, int64_t n)
{
    memset(s, 0, sizeof *s);
    s->count = n;
    s->min = s->max = s->mean = s->std = NAN;
}

int nerve_stats_f32(nerve_stats *s, const float *x, int64_t n)
{
    stats_empty(s, n);
    partial p1, p2;
    if (n == 0)
        return 0;
    if (run_pass(&p1, x, n, 0, 1) < 0)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for the statistics of %lld values", (long long)n);
    s->nan = p1.nan;
    s->inf = p1.inf;
    int64_t finite = n - p1.nan - p1.inf;
    if (finite == 0)
        return 0;
    s->min = p1.min;
    s->max = p1.max;
    s->mean = p1.sum / (double)finite;
    if (run_pass(&p2, x, n, (float)s->mean, 2) < 0) {
        stats_empty(s, n);
        return nerve_error_set(NERVE_ENOMEM, "out of memory for the statistics of %lld values", (long long)n);
    }
    /* The deviations were taken from the float-rounded mean; correct for the
     * offset exactly: sum (x - m')^2 = sum (x - m)^2 + N (m - m')^2. */
    double shift = s->mean - (double)(float)s->mean;
    double m2 = p2.sum - (double)finite * shift * shift;
    s->std = sqrt(m2 > 0 ? m2 / (double)finite : 0);
    return 0;
}

int nerve_stats_i64(nerve_stats *s, const int64_t *x, int64_t n)
{
    stats_empty(s, n);
    if (n == 0)
        return 0;
    double sum = 0, lo = (double)x[0], hi = (double)x[0];
    for (int64_t i = 0; i < n; i++) {
        double v = (double)x[i];
        sum += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    double mean = sum / (double)n, m2 = 0;
    for (int64_t i = 0; i < n; i++)
        m2 += ((double)x[i] - mean) * ((double)x[i] - mean);
    s->min = lo;
    s->max = hi;
    s->mean = mean;
    s->std = sqrt(m2 / (double)n);
    return 0;
}

int nerve_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
