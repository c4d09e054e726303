/*
 * classes.c — how much of each class a layer holds: the canonical
 * correlation of the layer with the indicator of the class (1 for its
 * inputs, 0 for the others), the comparison of layers with classes in the
 * SVCCA blog post (Raghu et al. 2017), through training.
 *
 * The layer is first reduced as SVCCA reduces it (the top singular
 * directions holding `keep` of the variance). Against one indicator there
 * is one canonical pair, so the correlation is the multiple correlation of
 * the indicator with those directions; as they are orthogonal, it is
 *
 *     rho^2 = sum_j (x_j . y)^2 / (|x_j|^2 |y|^2)
 *
 * over the centred directions x_j and the centred indicator y: one pass
 * per class after one reduction, where nerve_sim_svcca per class would
 * reduce the layer again for every class.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "sim_internal.h"

/* rho for one class on the reduced directions x (n x k). */
static double class_rho(const double *x, const double *norm_sq, int64_t n, int64_t k, const int64_t *labels,
                        int64_t cls, int64_t members)
{
    /* centred indicator: 1 - p for members, -p for the others */
    double p = (double)members / (double)n, y_sq = (double)members * (1 - p) * (1 - p) + (double)(n - members) * p * p;
    double sum = 0;
    for (int64_t j = 0; j < k; j++) {
        if (norm_sq[j] <= 0)
            continue;
        double dot = 0;
        for (int64_t i = 0; i < n; i++)
            dot += x[i * k + j] * ((labels[i] == cls) - p);
        sum += dot * dot / norm_sq[j];
    }
    return sqrt(fmin(sum / y_sq, 1.0));
}

int nerve_sim_class_sensitivity(double *rho, const nerve_mat *layer, const int64_t *labels, int n_classes,
                                double keep)
{
    int64_t n = layer->rows, d = layer->cols, k = 0;
    if (!(keep > 0 && keep <= 1))
        return nerve_error_set(NERVE_EINPUT, "class sensitivity: the variance kept must be in (0, 1], not %g", keep);
    if (n < 3 || n_classes < 1)
        return nerve_error_set(NERVE_EINPUT, "class sensitivity: needs 3 inputs and a class, not %lld and %d",
                               (long long)n, n_classes);
    double *c = nerve_mat_centered(layer, NULL), *x = c ? sim_svcca_reduce(c, n, d, keep, &k) : NULL;
    double *norm_sq = x ? calloc((size_t)k, sizeof *norm_sq) : NULL;
    free(c);
    if (!norm_sq) {
        free(x);
        return nerve_error_set(NERVE_ENOMEM, "class sensitivity: out of memory");
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++)
            norm_sq[j] += x[i * k + j] * x[i * k + j];
    for (int cls = 0; cls < n_classes; cls++) {
        int64_t members = 0;
        for (int64_t i = 0; i < n; i++)
            members += labels[i] == cls;
        /* a class with no inputs, or all of them, has no indicator to correlate;
         * nor do directions as many as the inputs (every indicator fits) */
        rho[cls] = members == 0 || members == n || k >= n - 1 ? NAN
                                                              : class_rho(x, norm_sq, n, k, labels, cls, members);
    }
    free(x);
    free(norm_sq);
    return 0;
}
