/*
 * distance.c — the distances the knn room computes directly, and the row
 * preparations its GEMM passes share.
 */
#include <math.h>

#include "nerve/internal/simd.h"
#include "knn_internal.h"

NERVE_SIMD_CLONES
double nerve_knn_distance(const float *x, const float *y, int64_t d, nerve_metric metric)
{
    double s = 0;
    /* Vectorised sums: a fixed order of lanes, so as reproducible as a plain loop. */
    if (metric == NERVE_METRIC_EUCLIDEAN) {
        #pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < d; j++) {
            double t = (double)x[j] - y[j];
            s += t * t;
        }
        return sqrt(s);
    }
    double xx = 0, yy = 0;   /* cosine */
    #pragma omp simd reduction(+ : s, xx, yy)
    for (int64_t j = 0; j < d; j++) {
        s += (double)x[j] * y[j];
        xx += (double)x[j] * x[j];
        yy += (double)y[j] * y[j];
    }
    return xx > 0 && yy > 0 ? 1 - s / sqrt(xx * yy) : 1.0;
}

float knn_distance(const float *x, const float *y, int64_t d, nerve_metric metric)
{
    return (float)nerve_knn_distance(x, y, d, metric);
}

double knn_row_squared_norm(const float *x, int64_t d)
{
    double s = 0;
    for (int64_t j = 0; j < d; j++)
        s += (double)x[j] * x[j];
    return s;
}

void knn_squared_norms(float *out, const nerve_mat *m)
{
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m->rows; i++)
        out[i] = (float)knn_row_squared_norm(m->data + i * m->cols, m->cols);
}

/* For the cosine metric: a copy with every row scaled to unit length, so
 * 1 - x.y ranks like the cosine distance. */
int knn_unit_rows(nerve_mat *out, const nerve_mat *m)
{
    int rc = nerve_mat_alloc(out, m->rows, m->cols);
    if (rc < 0)
        return rc;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m->rows; i++) {
        double s = knn_row_squared_norm(m->data + i * m->cols, m->cols);
        float f = s > 0 ? (float)(1 / sqrt(s)) : 0;
        for (int64_t j = 0; j < m->cols; j++)
            out->data[i * m->cols + j] = m->data[i * m->cols + j] * f;
    }
    return 0;
}


float knn_squared_distance(const float *x, const float *y, int64_t d)
{
    float acc[8] = { 0 };
    int64_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int t = 0; t < 8; t++) {
            float v = x[j + t] - y[j + t];
            acc[t] += v * v;
        }
    float s = 0;
    for (; j < d; j++)
        s += (x[j] - y[j]) * (x[j] - y[j]);
    for (int t = 0; t < 8; t++)
        s += acc[t];
    return s;
}

static float dot(const float *x, const float *y, int64_t d)
{
    float acc[8] = { 0 };
    int64_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int t = 0; t < 8; t++)
            acc[t] += x[j + t] * y[j + t];
    float s = 0;
    for (; j < d; j++)
        s += x[j] * y[j];
    for (int t = 0; t < 8; t++)
        s += acc[t];
    return s;
}

float nerve_knn_distance_float(const float *x, const float *y, int64_t d, nerve_metric metric)
{
    if (metric == NERVE_METRIC_EUCLIDEAN)
        return sqrtf(knn_squared_distance(x, y, d));
    float xy = dot(x, y, d), xx = dot(x, x, d), yy = dot(y, y, d);
    return xx > 0 && yy > 0 ? 1 - xy / sqrtf(xx * yy) : 1.0f;
}
