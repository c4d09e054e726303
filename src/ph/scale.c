/*
 * scale.c — the scale of a point cloud, to put different layers' diagrams
 * on one footing: the diameter, or the median distance from a point to its
 * nearest neighbour (less sensitive to a few outlying inputs).
 */
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"

static const char *const scale_names[] = { "none", "diameter", "median-nn" };

const char *nerve_scale_name(nerve_scale s)
{
    return (unsigned)s < sizeof scale_names / sizeof *scale_names ? scale_names[s] : "?";
}

int nerve_scale_parse(const char *s, nerve_scale *out)
{
    for (size_t i = 0; i < sizeof scale_names / sizeof *scale_names; i++)
        if (strcmp(s, scale_names[i]) == 0) {
            *out = (nerve_scale)i;
            return 0;
        }
    return -1;
}

static double diameter(const nerve_mat *x, nerve_metric metric)
{
    double m = 0;
    #pragma omp parallel for schedule(dynamic, 16) reduction(max : m)
    for (int64_t i = 0; i < x->rows; i++)
        for (int64_t j = 0; j < i; j++) {
            double d = nerve_knn_distance(x->data + i * x->cols, x->data + j * x->cols, x->cols, metric);
            m = d > m ? d : m;
        }
    return m;
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int median_nn(double *out, const nerve_mat *x, nerve_metric metric)
{
    nerve_knn knn;
    int rc = nerve_knn_exact(&knn, x, 1, metric);
    if (rc < 0)
        return rc;
    qsort(knn.dist, (size_t)knn.n, sizeof *knn.dist, by_float);
    int64_t h = knn.n / 2;
    *out = knn.n % 2 ? knn.dist[h] : 0.5 * ((double)knn.dist[h - 1] + knn.dist[h]);
    nerve_knn_free(&knn);
    return 0;
}

int nerve_ph_scale(double *out, const nerve_mat *points, nerve_scale how, nerve_metric metric)
{
    *out = 1;
    if (how == NERVE_SCALE_NONE)
        return 0;
    if (points->rows < 2)
        return nerve_error_set(NERVE_EINPUT, "the scale of a cloud needs 2 points, not %lld", (long long)points->rows);
    if (how == NERVE_SCALE_DIAMETER)
        *out = diameter(points, metric);
    else {
        int rc = median_nn(out, points, metric);
        if (rc < 0)
            return rc;
    }
    return 0;
}
