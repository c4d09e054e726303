/*
 * matrix.c — layer x layer similarity matrices. Whatever a measure needs
 * from one layer alone (its centred data, |X^T X|_F, SVCCA's reduction,
 * CCA's whitening, its unit-norm copy) is computed once per layer; each
 * pair then costs only the cross term X^T Y and what follows from it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "sim_internal.h"

/* One layer, prepared for one metric. */
typedef struct prepared {
    const nerve_mat *layer;
    double  *x;            /* centred (unit norm for procrustes; SVCCA scores for svcca) */
    int64_t  d;
    double  *means;        /* column means (pwcca) */
    double   self;         /* |X^T X|_F^2, biased or unbiased (cka) */
    double  *row_sq;       /* squared row norms (cka-debiased) */
    double   total_sq;
    sim_cca_side side;     /* cca, svcca, pwcca */
} prepared;

static void prepared_free(prepared *p)
{
    free(p->x);
    free(p->means);
    free(p->row_sq);
    sim_cca_side_free(&p->side);
}

static double frobenius_sq(const double *a, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return s;
}

static int prepare(prepared *p, const nerve_mat *m, nerve_sim_metric metric, const nerve_sim_options *o)
{
    memset(p, 0, sizeof *p);
    p->layer = m;
    p->d = m->cols;
    int64_t n = m->rows;
    p->means = malloc((size_t)m->cols * sizeof *p->means);
    p->x = p->means ? nerve_mat_centered(m, p->means) : NULL;
    if (!p->x)
        return nerve_error_set(NERVE_ENOMEM, "out of memory preparing a layer");
    if (metric == NERVE_SIM_CKA || metric == NERVE_SIM_CKA_DEBIASED) {
        double *g = malloc((size_t)(p->d * p->d) * sizeof *g);
        if (!g)
            return nerve_error_set(NERVE_ENOMEM, "out of memory preparing a layer");
        sim_gram(g, p->x, p->x, n, p->d, p->d);
        p->self = frobenius_sq(g, p->d * p->d);
        free(g);
        if (metric == NERVE_SIM_CKA_DEBIASED) {
            if (!(p->row_sq = malloc((size_t)n * sizeof *p->row_sq)))
                return nerve_error_set(NERVE_ENOMEM, "out of memory preparing a layer");
            for (int64_t i = 0; i < n; i++)
                p->total_sq += p->row_sq[i] = frobenius_sq(p->x + i * p->d, p->d);
            p->self = sim_debiased_hsic(p->self, p->row_sq, p->row_sq, p->total_sq, p->total_sq, n);
        }
        return 0;
    }
    if (metric == NERVE_SIM_PROCRUSTES) {
        double s = sqrt(frobenius_sq(p->x, n * p->d));
        for (int64_t i = 0; s > 0 && i < n * p->d; i++)
            p->x[i] /= s;
        return 0;
    }
    if (metric == NERVE_SIM_SVCCA) {
        int64_t k;
        double *scores = sim_svcca_reduce(p->x, n, p->d, o->keep, &k);
        if (!scores)
            return nerve_error_set(NERVE_ENOMEM, "svcca: out of memory or an SVD that did not converge");
        free(p->x);
        p->x = scores;
        p->d = k;
        return sim_cca_side_init(&p->side, p->x, n, k, SVCCA_EPSILON);
    }
    return sim_cca_side_init(&p->side, p->x, n, p->d, o->epsilon);   /* cca, pwcca */
}

static int pair_value(double *v, const prepared *a, const prepared *b, nerve_sim_metric metric, int64_t n)
{
    nerve_cca c;
    int rc = 0;
    switch (metric) {
    case NERVE_SIM_CKA:
    case NERVE_SIM_CKA_DEBIASED: {
        double *g = malloc((size_t)(a->d * b->d) * sizeof *g);
        if (!g)
            return nerve_error_set(NERVE_ENOMEM, "out of memory");
        sim_gram(g, a->x, b->x, n, a->d, b->d);
        double cross = frobenius_sq(g, a->d * b->d);
        free(g);
        if (metric == NERVE_SIM_CKA_DEBIASED)
            cross = sim_debiased_hsic(cross, a->row_sq, b->row_sq, a->total_sq, b->total_sq, n);
        *v = a->self > 0 && b->self > 0 ? cross / sqrt(a->self * b->self) : NAN;
        return 0;
    }
    case NERVE_SIM_PROCRUSTES: {
        int64_t k = a->d < b->d ? a->d : b->d;
        double *g = malloc((size_t)(a->d * b->d) * sizeof *g), *s = malloc((size_t)k * sizeof *s);
        rc = g && s ? 0 : nerve_error_set(NERVE_ENOMEM, "out of memory");
        if (rc == 0) {
            sim_gram(g, a->x, b->x, n, a->d, b->d);
            rc = sim_svd(s, NULL, g, a->d, b->d);
        }
        double nuclear = 0;
        for (int64_t i = 0; rc == 0 && i < k; i++)
            nuclear += s[i];
        if (rc == 0)
            *v = sqrt(fmax(2 - 2 * fmin(nuclear, 1), 0));
        free(g);
        free(s);
        return rc;
    }
    case NERVE_SIM_PWCCA: {
        const prepared *small = a->d <= b->d ? a : b, *large = a->d <= b->d ? b : a;
        rc = sim_pwcca_pair(v, &c, &small->side, &large->side, small->layer, small->means);
        break;
    }
    default:   /* cca, svcca */
        rc = sim_cca_pair(&c, &a->side, &b->side, NULL);
        if (rc == 0)
            *v = c.mean;
        break;
    }
    if (rc == 0)
        nerve_cca_free(&c);
    return rc;
}

static const char *metric_names[] = {
    [NERVE_SIM_CKA] = "cka", [NERVE_SIM_CKA_DEBIASED] = "cka-debiased", [NERVE_SIM_CCA] = "cca",
    [NERVE_SIM_SVCCA] = "svcca", [NERVE_SIM_PWCCA] = "pwcca", [NERVE_SIM_PROCRUSTES] = "procrustes",
};

const char *nerve_sim_metric_name(nerve_sim_metric m)
{
    return (unsigned)m < sizeof metric_names / sizeof *metric_names ? metric_names[m] : "?";
}

int nerve_sim_metric_parse(const char *s, nerve_sim_metric *m)
{
    for (unsigned i = 0; i < sizeof metric_names / sizeof *metric_names; i++)
        if (strcmp(s, metric_names[i]) == 0) {
            *m = (nerve_sim_metric)i;
            return 0;
        }
    return -1;
}

int nerve_sim_matrix(double *out, const nerve_mat *layers, int count, nerve_sim_metric metric,
                     const nerve_sim_options *o, nerve_progress *bar)
{
    for (int i = 1; i < count; i++) {
        int rc = sim_check_pair(&layers[0], &layers[i], nerve_sim_metric_name(metric));
        if (rc < 0)
            return rc;
    }
    for (int i = 0; (metric == NERVE_SIM_CCA || metric == NERVE_SIM_PWCCA) && o->epsilon == 0 && i < count; i++)
        if (layers[i].cols >= layers[i].rows)
            return nerve_error_set(NERVE_EINPUT, "%s: layer %d has %lld dimensions for %lld inputs: CCA needs "
                                   "more inputs than dimensions; use svcca or a ridge epsilon > 0",
                                   nerve_sim_metric_name(metric), i, (long long)layers[i].cols,
                                   (long long)layers[i].rows);
    prepared *p = calloc((size_t)count + 1, sizeof *p);
    if (!p)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    int rc = 0, ready = 0;
    for (; ready < count && rc == 0; ready++)
        rc = prepare(&p[ready], &layers[ready], metric, o);
    int64_t n = count ? layers[0].rows : 0;
    /* PWCCA weights by the first layer when both have as many neurons, so
     * its matrix is not symmetric: entry [i][j] puts layer i first. */
    int symmetric = metric != NERVE_SIM_PWCCA;
    for (int i = 0; i < count && rc == 0; i++)
        for (int j = symmetric ? i : 0; j < count && rc == 0; j++) {
            double v = 0;
            if ((rc = pair_value(&v, &p[i], &p[j], metric, n)) == 0) {
                out[i * count + j] = v;
                if (symmetric)
                    out[j * count + i] = v;
            }
            if (bar)
                nerve_progress_update(bar, bar->done + 1);
        }
    for (int i = 0; i < ready; i++)
        prepared_free(&p[i]);
    free(p);
    return rc;
}
