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
#include "nerve/internal/linalg.h"
#include "sim_internal.h"

double sim_unit_scale(const double *x, int64_t n)
{
    double s = sqrt(nerve_linalg_frobenius_sq(x, n));
    return s > 0 ? 1 / s : 0;
}

int sim_procrustes_pair(double *distance, double *angular, const double *x, double x_scale, const double *y,
                        double y_scale, int64_t n, int64_t p, int64_t q)
{
    int64_t k = p < q ? p : q;
    double *xy = malloc((size_t)(p * q) * sizeof *xy), *s = malloc((size_t)k * sizeof *s);
    int rc = xy && s ? 0 : nerve_error_set(NERVE_ENOMEM, "procrustes: out of memory");
    if (rc == 0) {
        nerve_linalg_gram(xy, x, y, n, p, q);
        rc = nerve_linalg_svd(s, NULL, xy, p, q);
    }
    if (rc == 0) {
        double nuclear = 0;
        for (int64_t i = 0; i < k; i++)
            nuclear += s[i];
        nuclear = fmin(nuclear * x_scale * y_scale, 1);
        *distance = sqrt(fmax(2 - 2 * nuclear, 0));
        *angular = acos(nuclear);
    }
    free(xy);
    free(s);
    return rc;
}

int nerve_sim_procrustes(double *distance, double *angular, const nerve_mat *a, const nerve_mat *b)
{
    int rc = sim_check_pair(a, b, "procrustes");
    if (rc < 0)
        return rc;
    double *x = nerve_mat_centered(a, NULL), *y = nerve_mat_centered(b, NULL);
    if (!x || !y) {
        rc = nerve_error_set(NERVE_ENOMEM, "procrustes: out of memory");
    } else {
        rc = sim_procrustes_pair(distance, angular, x, sim_unit_scale(x, a->rows * a->cols), y,
                                 sim_unit_scale(y, b->rows * b->cols), a->rows, a->cols, b->cols);
    }
    free(x);
    free(y);
    return rc;
}
