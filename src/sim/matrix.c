/*
 * matrix.c — layer x layer similarity matrices. Each layer is centred once
 * for every metric; what a metric needs from one layer alone (|X^T X|_F,
 * SVCCA's reduction, CCA's whitening, the scale to unit norm) once per metric;
 * each pair then costs only the cross term X^T Y and what follows from it.
 * The per-layer and per-pair steps are the same ones the pairwise
 * functions use.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "sim_internal.h"

/* One layer's centred data, shared by every metric. */
typedef struct centred {
    double *x, *means;
} centred;

/* One layer, prepared for one metric. */
typedef struct prepared {
    const centred *base;
    int64_t       n, d;
    int           constant;   /* no representation: every pair with it is NaN */
    double       *own;        /* SVCCA scores or RSA's ranks, owned */
    double        scale;      /* Procrustes: what scales the centred layer to unit norm */
    int64_t      *knn;        /* mutual kNN's lists, n x k, owned */
    int64_t       k;
    sim_cka_side  cka;
    sim_cca_side  cca;
} prepared;

static void prepared_free(prepared *p)
{
    free(p->own);
    free(p->knn);
    sim_cka_side_free(&p->cka);
    sim_cca_side_free(&p->cca);
    memset(p, 0, sizeof *p);
}

static int prepare(prepared *p, const nerve_mat *layer, const centred *base, nerve_sim_metric metric,
                   const nerve_sim_options *o)
{
    int64_t n = layer->rows, d = layer->cols;
    memset(p, 0, sizeof *p);
    p->base = base;
    p->n = n;
    p->d = d;
    if ((p->constant = sim_layer_constant(layer)))
        return 0;
    switch (metric) {
    case NERVE_SIM_CKA:
    case NERVE_SIM_CKA_DEBIASED:
        return sim_cka_side_init(&p->cka, base->x, n, d, metric == NERVE_SIM_CKA_DEBIASED);
    case NERVE_SIM_PROCRUSTES:
    case NERVE_SIM_SHAPE_ANGULAR:
        p->scale = sim_unit_scale(base->x, n * d);
        return 0;
    case NERVE_SIM_SVCCA:
        if (!(p->own = sim_svcca_reduce(base->x, n, d, o->keep, &p->d)))
            return nerve_error_set(NERVE_ENOMEM, "svcca: out of memory or an SVD that did not converge");
        if (p->d >= n)
            return nerve_error_set(NERVE_EINPUT, "svcca: %lld inputs are too few for %lld directions",
                                   (long long)n, (long long)p->d);
        return sim_cca_side_init(&p->cca, p->own, n, p->d, NERVE_SIM_EPSILON);
    case NERVE_SIM_MUTUAL_KNN:
        p->k = o->knn_k > 0 ? o->knn_k : NERVE_SIM_KNN_K;
        return sim_knn_side_init(&p->knn, layer, p->k);
    case NERVE_SIM_RSA:
        return sim_rsa_side(&p->own, layer, "rsa");
    default:   /* cca, pwcca */
        return sim_cca_side_init(&p->cca, base->x, n, d, o->epsilon);
    }
}

static int pair_value(double *v, const prepared *a, const prepared *b, nerve_sim_metric metric)
{
    nerve_cca c = { 0 };
    double distance, angular;
    int rc = 0;
    if (a->constant || b->constant) {
        *v = NAN;
        return 0;
    }
    switch (metric) {
    case NERVE_SIM_CKA:
    case NERVE_SIM_CKA_DEBIASED:
        return sim_cka_pair(v, &a->cka, &b->cka);
    case NERVE_SIM_PROCRUSTES:
    case NERVE_SIM_SHAPE_ANGULAR:
        rc = sim_procrustes_pair(&distance, &angular, a->base->x, a->scale, b->base->x, b->scale, a->n, a->d, b->d);
        *v = metric == NERVE_SIM_PROCRUSTES ? distance : angular;
        return rc;
    case NERVE_SIM_MUTUAL_KNN:
        *v = sim_knn_overlap(a->knn, b->knn, a->n, a->k);
        return 0;
    case NERVE_SIM_RSA:
        *v = sim_rsa_pair(a->own, b->own, a->n);
        return 0;
    case NERVE_SIM_PWCCA:
        rc = sim_pwcca_pair(v, &c, &a->cca, a->base->means, &b->cca, b->base->means);
        break;
    default:   /* cca, svcca */
        rc = sim_cca_pair(&c, &a->cca, &b->cca, NULL);
        if (rc == 0)
            *v = c.mean;
        break;
    }
    nerve_cca_free(&c);
    return rc;
}

/* The one table of metrics (sim.h). The study's default set has the
 * debiased CKA as its CKA: the biased estimator reads high on independent
 * data when there are few inputs (issue 18 point 4). */
#define PAIR  NERVE_SIM_FOR_PAIR
#define STUDY (NERVE_SIM_FOR_PAIR | NERVE_SIM_FOR_STUDY)
#define DEFAULT (STUDY | NERVE_SIM_STUDY_DEFAULT)
const nerve_sim_metric_info nerve_sim_metrics[NERVE_SIM_METRIC_COUNT] = {
    { NERVE_SIM_CKA, "cka", "linear CKA (Kornblith et al. 2019)", STUDY },
    { NERVE_SIM_CKA_DEBIASED, "cka-debiased", "linear CKA with the unbiased HSIC estimator", DEFAULT },
    { NERVE_SIM_CCA, "cca", "mean canonical correlation (as Google's cca_core.py)", STUDY },
    { NERVE_SIM_SVCCA, "svcca", "CCA on the top singular directions holding --keep of the variance", DEFAULT },
    { NERVE_SIM_PWCCA, "pwcca", "projection-weighted CCA (Morcos et al. 2018)", DEFAULT },
    { NERVE_SIM_PROCRUSTES, "procrustes", "orthogonal Procrustes distance of the centred, unit-norm layers",
      DEFAULT },
    { NERVE_SIM_SHAPE_ANGULAR, "shape-angular", "angular shape metric arccos |A^T B|_* (Williams et al. 2021)",
      STUDY },
    { NERVE_SIM_MUTUAL_KNN, "mutual-knn", "mutual k-nearest-neighbour alignment (Huh et al. 2024)", STUDY },
    { NERVE_SIM_RSA, "rsa", "Spearman correlation of the dissimilarity matrices (Kriegeskorte 2008)", STUDY },
    { NERVE_SIM_CKA_RBF, "cka-rbf", "RBF-kernel CKA, bandwidth --rbf-fraction x median distance (N x N)",
      PAIR },
};
#undef PAIR
#undef STUDY
#undef DEFAULT

const nerve_sim_metric_info *nerve_sim_metric_find(const char *name)
{
    for (int i = 0; i < NERVE_SIM_METRIC_COUNT; i++)
        if (strcmp(name, nerve_sim_metrics[i].name) == 0)
            return &nerve_sim_metrics[i];
    return NULL;
}

int nerve_sim_study_defaults(nerve_sim_metric *out)
{
    int n = 0;
    for (int i = 0; i < NERVE_SIM_METRIC_COUNT; i++)
        if (nerve_sim_metrics[i].uses & NERVE_SIM_STUDY_DEFAULT)
            out[n++] = nerve_sim_metrics[i].metric;
    return n;
}

int nerve_sim_metric_is_distance(nerve_sim_metric m)
{
    return m == NERVE_SIM_PROCRUSTES || m == NERVE_SIM_SHAPE_ANGULAR;
}

void nerve_sim_defaults(nerve_sim_options *o)
{
    *o = (nerve_sim_options){ .keep = NERVE_SIM_KEEP, .epsilon = NERVE_SIM_EPSILON,
                              .rbf_fraction = NERVE_SIM_RBF_FRACTION, .knn_k = NERVE_SIM_KNN_K };
}

const char *nerve_sim_metric_name(nerve_sim_metric m)
{
    return (unsigned)m < NERVE_SIM_METRIC_COUNT ? nerve_sim_metrics[m].name : "?";
}

int nerve_sim_metric_parse(const char *s, nerve_sim_metric *m)
{
    const nerve_sim_metric_info *info = nerve_sim_metric_find(s);
    if (!info)
        return -1;
    *m = info->metric;
    return 0;
}

static int check_options(nerve_sim_metric metric, const nerve_sim_options *o)
{
    const char *name = nerve_sim_metric_name(metric);
    if ((unsigned)metric >= NERVE_SIM_METRIC_COUNT)
        return nerve_error_set(NERVE_EINPUT, "similarity: unknown metric %d", (int)metric);
    if (metric == NERVE_SIM_SVCCA && !(o->keep > 0 && o->keep <= 1))
        return nerve_error_set(NERVE_EINPUT, "%s: the variance kept must be in (0, 1], not %g", name, o->keep);
    if ((metric == NERVE_SIM_CCA || metric == NERVE_SIM_PWCCA) && !(o->epsilon >= 0 && o->epsilon < 1))
        return nerve_error_set(NERVE_EINPUT, "%s: epsilon must be in [0, 1), not %g", name, o->epsilon);
    return 0;
}

static int check_layers(const nerve_mat *layers, int count, nerve_sim_metric metric, const nerve_sim_options *o)
{
    int rc = check_options(metric, o);
    if (rc == 0 && (unsigned)metric < NERVE_SIM_METRIC_COUNT && !(nerve_sim_metrics[metric].uses & NERVE_SIM_FOR_STUDY))
        rc = nerve_error_set(NERVE_EINPUT, "%s is for pairs of layers, not matrices: its N x N Grams do not scale",
                             nerve_sim_metric_name(metric));
    for (int i = 1; i < count && rc == 0; i++)
        rc = sim_check_shapes(&layers[0], &layers[i], nerve_sim_metric_name(metric));
    if (rc == 0 && count == 1)
        rc = sim_check_shapes(&layers[0], &layers[0], nerve_sim_metric_name(metric));
    return rc;
}

/* One metric's matrix over the centred layers, every pair. */
static int one_matrix(double *out, const nerve_mat *layers, const centred *base, int count, nerve_sim_metric metric,
                      const nerve_sim_options *o, nerve_progress *bar)
{
    prepared *p = calloc((size_t)count + 1, sizeof *p);
    if (!p)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    int rc = 0, ready = 0;
    for (; ready < count && rc == 0; ready++)
        rc = prepare(&p[ready], &layers[ready], &base[ready], metric, o);
    /* PWCCA weights by the first layer when both have as many neurons, so
     * its matrix is not symmetric: entry [i][j] puts layer i first. */
    int symmetric = metric != NERVE_SIM_PWCCA;
    for (int i = 0; i < count && rc == 0; i++)
        for (int j = symmetric ? i : 0; j < count && rc == 0; j++) {
            double v = 0;
            if ((rc = pair_value(&v, &p[i], &p[j], metric)) == 0) {
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

static int centre(centred *c, const nerve_mat *layer)
{
    c->means = malloc((size_t)layer->cols * sizeof *c->means);
    c->x = c->means ? nerve_mat_centered(layer, c->means) : NULL;
    return c->x ? 0 : nerve_error_set(NERVE_ENOMEM, "out of memory centring a layer");
}

static void centred_free(centred *c)
{
    free(c->x);
    free(c->means);
}

static int matrices(double *const *out, const nerve_mat *layers, int count, const nerve_sim_metric *metrics,
                    int n_metrics, const nerve_sim_options *o, nerve_progress *bar)
{
    int rc = 0;
    for (int k = 0; k < n_metrics && rc == 0; k++)
        rc = check_layers(layers, count, metrics[k], o);
    centred *base = calloc((size_t)count + 1, sizeof *base);
    if (rc == 0 && !base)
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int i = 0; i < count && rc == 0; i++)
        rc = centre(&base[i], &layers[i]);
    for (int k = 0; k < n_metrics && rc == 0; k++)
        rc = one_matrix(out[k], layers, base, count, metrics[k], o, bar);
    for (int i = 0; base && i < count; i++)
        centred_free(&base[i]);
    free(base);
    return rc;
}

/* Row layer i against every column layer, each metric: the row layer
 * centred and prepared here, then let go. */
static int cross_row(double *const *out, const nerve_mat *row, int i, const prepared *cols, int n_cols,
                     const nerve_sim_metric *metrics, int n_metrics, const nerve_sim_options *o, nerve_progress *bar)
{
    centred base = { 0 };
    int rc = centre(&base, row);
    for (int k = 0; k < n_metrics && rc == 0; k++) {
        prepared p;
        rc = prepare(&p, row, &base, metrics[k], o);
        for (int j = 0; j < n_cols && rc == 0; j++) {
            rc = pair_value(&out[k][(int64_t)i * n_cols + j], &p, &cols[k * n_cols + j], metrics[k]);
            if (bar)
                nerve_progress_update(bar, bar->done + 1);
        }
        prepared_free(&p);
    }
    centred_free(&base);
    return rc;
}

/* The block of layers [0, rows) against [rows, count), as two studies'
 * layers side by side: the column layers centred and prepared for every
 * metric once, then one row layer at a time, so that only one row layer's
 * centred copy is held with them (not all: 0.5 GB less for two studies of
 * 70,000 inputs). Each pair's value is the same as one_matrix's. */
static int cross_block(double *const *out, const nerve_mat *layers, int rows, int count,
                       const nerve_sim_metric *metrics, int n_metrics, const nerve_sim_options *o, nerve_progress *bar)
{
    int n_cols = count - rows, rc = 0, ready = 0;
    for (int k = 0; k < n_metrics && rc == 0; k++)
        rc = check_layers(layers, count, metrics[k], o);
    centred *base = calloc((size_t)n_cols + 1, sizeof *base);
    prepared *cols = calloc((size_t)(n_metrics * n_cols) + 1, sizeof *cols);
    if (rc == 0 && (!base || !cols))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int j = 0; j < n_cols && rc == 0; j++)
        rc = centre(&base[j], &layers[rows + j]);
    for (; ready < n_metrics * n_cols && rc == 0; ready++)
        rc = prepare(&cols[ready], &layers[rows + ready % n_cols], &base[ready % n_cols], metrics[ready / n_cols], o);
    for (int i = 0; i < rows && rc == 0; i++)
        rc = cross_row(out, &layers[i], i, cols, n_cols, metrics, n_metrics, o, bar);
    for (int j = 0; j < ready; j++)
        prepared_free(&cols[j]);
    for (int j = 0; base && j < n_cols; j++)
        centred_free(&base[j]);
    free(cols);
    free(base);
    return rc;
}

int nerve_sim_matrices(double *const *out, const nerve_mat *layers, int count, const nerve_sim_metric *metrics,
                       int n_metrics, const nerve_sim_options *o, nerve_progress *bar)
{
    return matrices(out, layers, count, metrics, n_metrics, o, bar);
}

int nerve_sim_cross_matrices(double *const *out, const nerve_mat *layers, int rows, int count,
                             const nerve_sim_metric *metrics, int n_metrics, const nerve_sim_options *o,
                             nerve_progress *bar)
{
    if (rows < 1 || rows >= count)
        return nerve_error_set(NERVE_EINTERNAL, "cross matrices: %d rows of %d layers", rows, count);
    return cross_block(out, layers, rows, count, metrics, n_metrics, o, bar);
}

int nerve_sim_measure(double *value, nerve_sim_metric metric, const nerve_mat *a, const nerve_mat *b,
                      const nerve_sim_options *o)
{
    int rc = check_options(metric, o);
    if (rc == 0)
        rc = sim_check_pair(a, b, nerve_sim_metric_name(metric));
    if (rc < 0)
        return rc;
    if (metric == NERVE_SIM_CKA_RBF)
        return nerve_sim_cka_rbf(value, a, b, o->rbf_fraction > 0 ? o->rbf_fraction : NERVE_SIM_RBF_FRACTION);
    nerve_mat pair[2] = { *a, *b };   /* shallow: the block of layer 0 against layer 1 */
    double *out[1] = { value };
    return cross_block(out, pair, 1, 2, &metric, 1, o, NULL);
}
