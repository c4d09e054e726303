/*
 * nerve/findings.h — the findings room: what a study's numbers say about the
 * inputs and the layers, searched for rather than left to the reader.
 * Per input: outlier scores (distance to the k-th nearest neighbour, as the
 * deep k-NN literature does; a class-conditional Mahalanobis distance, Lee
 * et al. 2018) and a label-noise score. Per layer: dead and constant units,
 * PCA effective dimension, the TwoNN intrinsic dimension (Facco et al.
 * 2017), k-NN accuracy and a linear probe (Alain and Bengio 2016). In a
 * Mapper graph: bridge nodes, loops and flares, pure class components.
 *
 *     nerve_mat acts = { 0 };
 *     nerve_knn nn = { 0 };
 *     int rc = nerve_mat_read_npy(&acts, "acts.npy");   // N x d float32
 *     nerve_findings_layer_figures f;
 *     double *outlier = NULL;
 *     if (rc == 0)
 *         rc = nerve_knn_build(&nn, &acts, 10, NERVE_METRIC_EUCLIDEAN, 0);
 *     if (rc == 0)
 *         rc = nerve_findings_layer(&f, &acts, &nn, NULL, 0, 0);   // no labels: no accuracies
 *     if (rc == 0 && !(outlier = malloc((size_t)acts.rows * sizeof *outlier)))
 *         rc = NERVE_ENOMEM;
 *     if (rc == 0)
 *         nerve_findings_knn_score(outlier, &nn, 10);   // distance to the 10th neighbour
 *     if (rc < 0) {
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *         return nerve_exit_status(rc);
 *     }
 *     printf("TwoNN dimension %.2f, %lld components for 90%% of the variance, "
 *            "%lld dead units; input 0's outlier score %.3f\n", f.twonn, (long long)f.pca90,
 *            (long long)f.dead, outlier[0]);
 *     free(outlier);
 *     nerve_knn_free(&nn);
 *     nerve_mat_free(&acts);
 *
 * Scores are double, one per row, larger meaning more surprising. Every
 * random choice (the probe's held-out split) takes a seed, and results do
 * not depend on the thread count.
 */
#ifndef NERVE_FINDINGS_H
#define NERVE_FINDINGS_H

#include "nerve/core.h"
#include "nerve/knn.h"
#include "nerve/mapper.h"

/* ---- per input ---------------------------------------------------------- */

/* score[i] = the distance of row i to its k-th nearest other row (nn holds
 * at least k neighbours a row). */
void nerve_findings_knn_score(double *score, const nerve_knn *nn, int64_t k);

/* The class-conditional Mahalanobis score of Lee et al. (2018): class means
 * and one covariance shared by the classes (the within-class scatter),
 * regularised by ridge * (its mean eigenvalue); score[i] is the smallest
 * squared Mahalanobis distance of row i to a class mean. A layer wider than
 * max_dims is first projected on its max_dims principal components. */
int nerve_findings_mahalanobis(double *score, const nerve_mat *x, const int64_t *labels, int n_classes,
                               int64_t max_dims, double ridge);

/* Robust standard scores in place: (s - median) / IQR (the IQR floored at a
 * tiny share of the scale, so a constant score becomes 0s, not NaN). */
int nerve_findings_robust_z(double *s, int64_t n);

/* The overall score: the mean over the n_scores score arrays (each n
 * values: per layer, k-NN and Mahalanobis) of their robust standard
 * scores, so no layer's scale dominates. The arrays are left as they are. */
int nerve_findings_combine(double *overall, const double *const *scores, int n_scores, int64_t n);

/* Each row's probabilities over classes from a layer that looks like the
 * model's output: n_classes wide and its arg-max equal to the predictions
 * for at least 99% of the rows. Logits get a softmax; rows that already
 * are probabilities (non-negative, sum 1) are kept. *found = 0 (and p
 * untouched) when the layer is not such an output. p: n x n_classes. */
int nerve_findings_output_probabilities(double *p, int *found, const nerve_mat *out, const int64_t *predictions,
                                        int n_classes);

/* The label-noise score of each input: -log p_model(given label)
 * - log p_neighbours(given label). p_model is probs[i * n_classes + label]
 * when probs is not NULL, else the confidence when the prediction is the
 * label and (1 - confidence) / (n_classes - 1) when it is not. p_neighbours
 * is the share of the given label among the k neighbours of each list in
 * nns (the last layers), smoothed as (count + 1) / (k + n_classes). */
int nerve_findings_label_noise(double *score, int64_t n, int n_classes, const int64_t *labels,
                               const double *probs, const int64_t *predictions, const float *confidence,
                               const nerve_knn *const *nns, int n_nns);

/* ---- per layer ---------------------------------------------------------- */

typedef struct nerve_findings_layer_figures {
    int64_t n, d;
    int64_t dead;          /* units 0 (to 1e-7 of the layer's scale) on every input */
    int64_t constant;      /* units with one value on every input, not 0 */
    int64_t pca90;         /* principal components for 90% of the variance */
    double  participation; /* (sum lambda)^2 / sum lambda^2 */
    double  twonn;         /* TwoNN intrinsic dimension; NaN when undefined */
    double  knn_accuracy;  /* leave-one-out majority of the k neighbours; NaN without labels */
    double  probe_accuracy;/* held-out accuracy of the linear probe; NaN without labels */
} nerve_findings_layer_figures;

/* Dead and constant units of x. */
void nerve_findings_units(int64_t *dead, int64_t *constant, const nerve_mat *x);

/* The covariance eigenvalues of x: the components for 90% of the variance
 * and the participation ratio. */
int nerve_findings_pca_dims(int64_t *pca90, double *participation, const nerve_mat *x);

/* TwoNN (Facco et al. 2017) from each row's two nearest neighbours in nn:
 * mu = r2 / r1, the largest `discard` share of the mu dropped (0.1, as in
 * Ansuini et al.'s code), then the slope through the origin of
 * -log(1 - F(mu)) against log(mu), F the empirical distribution. Rows
 * with r1 = 0 (duplicates) are left out. NaN when fewer than 3 rows stay. */
double nerve_findings_twonn(const nerve_knn *nn, double discard);
/* The naive twin: the two nearest neighbours found directly. */
double nerve_findings_twonn_naive(const nerve_mat *x, double discard);

/* The share of rows whose label is the majority of their k neighbours'
 * (ties to the smallest label). */
double nerve_findings_knn_accuracy(const nerve_knn *nn, int64_t k, const int64_t *labels, int n_classes);

/* A multinomial logistic regression with scikit-learn's objective for
 * LogisticRegression(C): 0.5 |W|^2 + C sum_i cross-entropy_i, the
 * intercepts not penalised, minimised by L-BFGS (over standardised
 * features, the penalty weighted to keep the same optimum) to a gradient
 * norm of tol (relative to its start) or max_iter steps. Train on train rows of x,
 * return the accuracy on the test rows. */
typedef struct nerve_probe_options {
    double   c;             /* default 1.0, as scikit-learn */
    double   tol;           /* default 1e-4 (scikit-learn's) */
    int      max_iter;      /* default 200 */
    double   test_share;    /* held-out share (default 0.25) */
    int64_t  max_rows;      /* a seeded sample of at most this many rows is split (default
                               6,000: the accuracy to about a point, in a few seconds); 0: all */
    uint64_t seed;          /* of the split */
} nerve_probe_options;

void nerve_probe_defaults(nerve_probe_options *o);

/* The probe on a given split: train rows (ntrain of x's rows, by index)
 * and test rows; *accuracy on the test rows, *loss (may be NULL) the
 * objective reached. */
int nerve_findings_probe_split(double *accuracy, double *loss, const nerve_mat *x, const int64_t *labels,
                               int n_classes, const int64_t *train, int64_t ntrain, const int64_t *test,
                               int64_t ntest, const nerve_probe_options *o);
/* The probe on a seeded split (nerve_findings_split). */
int nerve_findings_probe(double *accuracy, const nerve_mat *x, const int64_t *labels, int n_classes,
                         const nerve_probe_options *o);
/* A seeded split of m = min(n, max_rows) of n rows (max_rows 0: all):
 * *ntest = round(m * test_share) test rows, the rest of the m training
 * rows, both lists ascending. train and test hold n entries. */
void nerve_findings_split(int64_t *train, int64_t *ntrain, int64_t *test, int64_t *ntest, int64_t n,
                          double test_share, int64_t max_rows, uint64_t seed);

/* Every figure of one layer: units, PCA dimension, TwoNN (from nn, which
 * must hold at least 2 neighbours a row); with labels (n_classes > 0) the
 * k-NN accuracy over nn's neighbours and the probe with default options
 * and the given seed. */
int nerve_findings_layer(nerve_findings_layer_figures *f, const nerve_mat *x, const nerve_knn *nn,
                         const int64_t *labels, int n_classes, uint64_t seed);

/* ---- in a Mapper graph -------------------------------------------------- */

/* A node between two class regions: impure, and its neighbours' dominant
 * classes differ; a and b the confused pair (its two largest classes). */
typedef struct nerve_findings_bridge {
    int64_t node;
    int64_t a, b;
    double  score;         /* the share of b among its labelled members, in (0, 0.5] */
} nerve_findings_bridge;

/* The bridges of g (label_counts needed), best first, into a malloc'd
 * array (the caller frees it): nodes of at least min_size members, purity
 * below max_purity, whose neighbours are dominated by at least two classes
 * or whose two largest classes each hold a quarter of it. */
int nerve_findings_bridges(nerve_findings_bridge **out, int64_t *count, const nerve_mapper_graph *g,
                           int64_t min_size, double max_purity);

/* A flare: a branch of degree-2 nodes from a node of degree >= 3 to a leaf;
 * or a loop of the graph's cycle basis. */
typedef struct nerve_findings_shape {
    int      loop;          /* 1: a cycle; 0: a flare */
    int64_t  n_nodes;
    int64_t *nodes;         /* the path or cycle */
    int64_t  members;       /* inputs on it (with repeats between nodes) */
    int64_t  dominant;      /* its most frequent class, -1 if unknown */
    double   purity;
} nerve_findings_shape;

/* Loops (g's cycle basis) and flares of at least min_nodes nodes, into a
 * malloc'd array (free with nerve_findings_shapes_free). */
int  nerve_findings_shapes(nerve_findings_shape **out, int64_t *count, const nerve_mapper_graph *g,
                           int64_t min_nodes);
void nerve_findings_shapes_free(nerve_findings_shape *s, int64_t count);

/* For each class c, pure[c] = 1 when some connected component of g holds
 * at least min_share of c's inputs (labels: g->n_points of them) and at
 * least purity of its inputs are of class c (its own pure component).
 * g->n_classes entries. */
int nerve_findings_pure_classes(int *pure, const nerve_mapper_graph *g, const int64_t *labels, double min_share,
                                double purity);

#endif /* NERVE_FINDINGS_H */
