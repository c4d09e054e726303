/*
 * procrustes.c — the orthogonal Procrustes distance between two
 * representations (Ding et al. 2021; Williams et al. 2021): with A and B
 * centred and scaled to unit Frobenius norm, the best rotation leaves
 * |A - BQ|_F^2 = 2 - 2 |A^T B|_*, where |.|_* (the nuclear norm) is the sum
 * of the singular values; the angular shape metric is arccos |A^T B|_*.
 */
#include <math.h>
#include <stdlib.h>

#include "nerve/sim.h"
#include "sim_internal.h"

static void unit_norm(double *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += x[i] * x[i];
    s = s > 0 ? 1 / sqrt(s) : 0;
    for (int64_t i = 0; i < n; i++)
        x[i] *= s;
}

int nerve_sim_procrustes(double *distance, double *angular, const nerve_mat *a, const nerve_mat *b)
{
    int rc = sim_check_pair(a, b, "procrustes");
    if (rc < 0)
        return rc;
    int64_t n = a->rows, p = a->cols, q = b->cols, k = p < q ? p : q;
    double *x = nerve_mat_centered(a, NULL), *y = nerve_mat_centered(b, NULL);
    double *xy = malloc((size_t)(p * q) * sizeof *xy), *s = malloc((size_t)k * sizeof *s);
    if (!x || !y || !xy || !s) {
        rc = nerve_error_set(NERVE_ENOMEM, "procrustes: out of memory");
    } else {
        unit_norm(x, n * p);
        unit_norm(y, n * q);
        sim_gram(xy, x, y, n, p, q);
        rc = sim_svd(s, NULL, xy, p, q);
    }
    if (rc == 0) {
        double nuclear = 0;
        for (int64_t i = 0; i < k; i++)
            nuclear += s[i];
        nuclear = fmin(nuclear, 1);
        *distance = sqrt(fmax(2 - 2 * nuclear, 0));
        *angular = acos(nuclear);
    }
    free(x); free(y); free(xy); free(s);
    return rc;
}
