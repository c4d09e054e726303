/*
 * nerve/sim.h — the sim room: how similar two layers' representations of
 * the same N inputs are. Each takes two float32 matrices N x d1 and N x d2
 * (rows are inputs) and computes in double precision.
 *
 *     nerve_mat a = { 0 }, b = { 0 };     // the same N inputs in two layers
 *     double cka = NAN;
 *     int rc = nerve_mat_read_npy(&a, "a.npy");
 *     if (rc == 0)
 *         rc = nerve_mat_read_npy(&b, "b.npy");
 *     if (rc == 0)
 *         rc = nerve_sim_cka_linear(&cka, &a, &b, 0);   // 1: debiased
 *     if (rc < 0)
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *     else
 *         printf("linear CKA %.4f\n", cka);
 *     nerve_mat_free(&a);
 *     nerve_mat_free(&b);
 *     if (rc < 0)
 *         return nerve_exit_status(rc);
 *
 * References: SVCCA (Raghu et al. 2017) and PWCCA (Morcos et al. 2018)
 * follow Google's cca_core.py and pwcca.py; CKA (Kornblith et al. 2019)
 * its authors' formulas, the debiased one with the unbiased HSIC of Song et
 * al. (2012) as Nguyen et al. (2021) use it; Procrustes as in Ding et al.
 * (2021) and Williams et al. (2021); mutual kNN as Huh et al. (2024); RSA
 * as Kriegeskorte et al. (2008); whole conv maps through the DFT as
 * Raghu et al. (2017) and dft_ccas.py. nerve_sim_defaults gives the
 * options the CLI and the study start from (epsilon 1e-10: dead units
 * dropped, as Google's tutorials), and nerve_sim_significance a
 * permutation p-value and a bootstrap interval for any metric.
 */
#ifndef NERVE_SIM_H
#define NERVE_SIM_H

#include "nerve/core.h"

/* Canonical correlations, decreasing. rho is malloc'd: free it. */
typedef struct nerve_cca {
    int64_t k;          /* number of coefficients: min of the kept dimensions */
    double *rho;
    double  mean;       /* mean of rho: the (SV)CCA similarity */
    int64_t dims_a, dims_b;   /* dimensions CCA ran on (after SVCCA's reduction) */
} nerve_cca;

void nerve_cca_free(nerve_cca *c);

/* The defaults nerve_sim_defaults sets. NERVE_SIM_EPSILON is the cutoff
 * of Google's SVCCA tutorials: cca_core's remove_small then drops neurons
 * without variance (dead ReLU units) instead of counting each as a zero
 * correlation, as cca_core's own default epsilon 0 does. */
#define NERVE_SIM_EPSILON 1e-10
#define NERVE_SIM_KEEP    0.99
#define NERVE_SIM_KNN_K   10
#define NERVE_SIM_RBF_FRACTION 1.0

/* CCA as cca_core.get_cca_similarity with the given epsilon (in [0, 1);
 * NERVE_SIM_EPSILON unless you mean otherwise): covariance blocks scaled
 * by their largest magnitude, neurons whose scaled variance is below
 * epsilon dropped (remove_small), epsilon added to the diagonals. Needs
 * more inputs than neurons left. */
int nerve_sim_cca(nerve_cca *out, const nerve_mat *a, const nerve_mat *b, double epsilon);

/* SVCCA: each side reduced to its top singular directions explaining
 * `keep` of the variance (0.99), then CCA with epsilon NERVE_SIM_EPSILON. */
int nerve_sim_svcca(nerve_cca *out, const nerve_mat *a, const nerve_mat *b, double keep);

/* Class sensitivity (the SVCCA post's layers against classes): for each
 * class c < n_classes, rho[c] = the canonical correlation of the layer's
 * SVCCA directions (keeping `keep` of the variance) with the indicator of
 * labels == c, as nerve_sim_svcca of the layer and that indicator column
 * gives it. NaN for a class with no inputs or only its inputs, and when the
 * directions are as many as the inputs less one (any indicator fits). */
int nerve_sim_class_sensitivity(double *rho, const nerve_mat *layer, const int64_t *labels, int n_classes,
                                double keep);

/* PWCCA: CCA coefficients weighted by how much of the layer with fewer
 * neurons left after remove_small each canonical direction accounts for
 * (pwcca.compute_pwcca, whose working branch puts that layer first). */
int nerve_sim_pwcca(double *value, nerve_cca *cca, const nerve_mat *a, const nerve_mat *b, double epsilon);

/* CKA with a linear kernel; debiased = 1 uses the unbiased HSIC. */
int nerve_sim_cka_linear(double *value, const nerve_mat *a, const nerve_mat *b, int debiased);

/* CKA with RBF kernels exp(-|x - y|^2 / (2 s^2)), s^2 = fraction^2 times the
 * median squared distance (Kornblith et al.'s gram_rbf; fraction 1 there).
 * Builds N x N Gram matrices: memory grows as N^2. */
int nerve_sim_cka_rbf(double *value, const nerve_mat *a, const nerve_mat *b, double fraction);

/* Orthogonal Procrustes between the centred, unit-norm representations:
 * distance sqrt(2 - 2 |A^T B|_*) and the angular shape metric of Williams
 * et al. (2021) arccos(|A^T B|_*) (their alpha = 1: no whitening). */
int nerve_sim_procrustes(double *distance, double *angular, const nerve_mat *a, const nerve_mat *b);

/* Mutual k-nearest-neighbour alignment (Huh et al. 2024, "The Platonic
 * Representation Hypothesis"): the mean over inputs i of
 * |kNN_A(i) & kNN_B(i)| / k, neighbours by cosine distance on the raw
 * activations (their L2-normalised features ranked by inner product),
 * exact (nerve_knn_exact), the input itself excluded. 0 < k < N. */
int nerve_sim_mutual_knn(double *value, const nerve_mat *a, const nerve_mat *b, int64_t k);

/* Representational similarity analysis (Kriegeskorte et al. 2008): the
 * Spearman correlation of the two representational dissimilarity
 * matrices' upper triangles, the dissimilarity of inputs i and j being the
 * correlation distance 1 - Pearson(a_i, a_j) over the layer's units (an
 * input whose units are all equal counts as uncorrelated with every
 * other: distance 1); ties take average ranks, as scipy's spearmanr.
 * Holds N (N - 1) / 2 doubles per layer. */
int nerve_sim_rsa(double *value, const nerve_mat *a, const nerve_mat *b);

/* ------------------------------------------------------------------------ */
/* Layer x layer matrices                                                   */
/* ------------------------------------------------------------------------ */

/* The measures, for a pair of layers and for a matrix. Append-only. RBF
 * CKA is for pairs only: its N x N Grams per layer do not scale to whole
 * studies (the matrices refuse it). */
typedef enum nerve_sim_metric {
    NERVE_SIM_CKA = 0, NERVE_SIM_CKA_DEBIASED, NERVE_SIM_CCA, NERVE_SIM_SVCCA, NERVE_SIM_PWCCA,
    NERVE_SIM_PROCRUSTES,
    NERVE_SIM_SHAPE_ANGULAR,    /* "shape-angular": Procrustes' angular distance */
    NERVE_SIM_MUTUAL_KNN,       /* "mutual-knn" */
    NERVE_SIM_RSA,              /* "rsa"; N^2 / 2 doubles a layer */
    NERVE_SIM_CKA_RBF,          /* "cka-rbf": pairs only */
} nerve_sim_metric;
enum { NERVE_SIM_METRIC_COUNT = NERVE_SIM_CKA_RBF + 1 };

/* Where a metric is offered (nerve_sim_metric_info.uses). */
enum {
    NERVE_SIM_FOR_PAIR     = 1,   /* two layers: nerve compare A.npy B.npy */
    NERVE_SIM_FOR_STUDY    = 2,   /* layer x layer matrices of a study */
    NERVE_SIM_STUDY_DEFAULT = 4,  /* in the study's default set */
};

/* The one table of metrics: the CLI's choices, its help and the study's
 * default set all come from it. Each is computed for a pair by
 * nerve_sim_measure(metric). */
typedef struct nerve_sim_metric_info {
    nerve_sim_metric metric;
    const char      *name;       /* "cka-debiased" */
    const char      *summary;    /* one line for --help */
    int              uses;       /* NERVE_SIM_FOR_* */
} nerve_sim_metric_info;

/* Every metric, in enum order: nerve_sim_metrics[m].metric == m. */
extern const nerve_sim_metric_info nerve_sim_metrics[NERVE_SIM_METRIC_COUNT];
/* The entry named name, or NULL. */
const nerve_sim_metric_info *nerve_sim_metric_find(const char *name);
/* The study's default set into out (room for NERVE_SIM_METRIC_COUNT);
 * returns how many. */
int nerve_sim_study_defaults(nerve_sim_metric *out);

const char *nerve_sim_metric_name(nerve_sim_metric m);
int         nerve_sim_metric_parse(const char *s, nerve_sim_metric *m);   /* -1 if unknown */
/* 1 for the distances (procrustes, shape-angular: smaller is more
 * similar), 0 for the similarities. */
int         nerve_sim_metric_is_distance(nerve_sim_metric m);

/* Matrices and nerve_sim_measure take mutual kNN's k from knn_k
 * (NERVE_SIM_KNN_K, Huh et al.'s 10, when 0). */
typedef struct nerve_sim_options {
    double keep;        /* SVCCA's share of variance (NERVE_SIM_KEEP) */
    double epsilon;     /* CCA/PWCCA remove_small cutoff and ridge (NERVE_SIM_EPSILON) */
    double rbf_fraction;   /* cka-rbf's bandwidth (NERVE_SIM_RBF_FRACTION; 0 takes it) */
    int64_t knn_k;         /* mutual kNN's k (NERVE_SIM_KNN_K; 0 takes it) */
} nerve_sim_options;

/* The defaults the CLI and the study start from. */
void nerve_sim_defaults(nerve_sim_options *o);

/* One metric between two layers, as the matrices compute it. */
int nerve_sim_measure(double *value, nerve_sim_metric metric, const nerve_mat *a, const nerve_mat *b,
                      const nerve_sim_options *o);

/* out[k] (count x count) = metrics[k] between every pair of layers over
 * the same inputs, symmetric but for PWCCA, whose entry [i][j] weights by
 * layer i when both keep as many neurons. A cell is NaN when, and only
 * when, one of its layers is constant over all inputs (say so: such a
 * layer has no representation to compare; the pairwise functions refuse
 * it with that reason). Each layer is centred once, and
 * each metric's per-layer part computed once, not once per pair. bar (may
 * be NULL) advances by one per pair computed. */
int nerve_sim_matrices(double *const *out, const nerve_mat *layers, int count, const nerve_sim_metric *metrics,
                       int n_metrics, const nerve_sim_options *o, nerve_progress *bar);
/* The block of the same: layers [0, rows) against layers [rows, count),
 * out[k] rows x (count - rows); only those pairs are computed. */
int nerve_sim_cross_matrices(double *const *out, const nerve_mat *layers, int rows, int count,
                             const nerve_sim_metric *metrics, int n_metrics, const nerve_sim_options *o,
                             nerve_progress *bar);

/* CCA of whole convolutional maps with the 2-D DFT over positions (Raghu
 * et al. 2017; Google's dft_ccas.fourier_ccas): a and b are float32
 * (N, C, H, W) over the same inputs; maps of different sizes keep the
 * frequencies both have (-s/2 <= f < s/2 of the smaller size s, as
 * fft_resize). One complex C1 x C2 CCA per frequency, as cca_core with
 * o->epsilon; out->rho holds every frequency's coefficients (a pair of
 * conjugate frequencies counts twice, as in the flattened problem),
 * decreasing, and out->mean their mean. Exact (equal to the CCA of the
 * flattened C*H*W neurons) when the inputs are translation invariant;
 * o->keep is not used: cca_core's own fourier_ccas reduces nothing. */
int nerve_sim_svcca_dft(nerve_cca *out, const nerve_array *a, const nerve_array *b, const nerve_sim_options *o);

/* ------------------------------------------------------------------------ */
/* Is this similarity real?                                                 */
/* ------------------------------------------------------------------------ */

typedef struct nerve_sim_test_options {
    int64_t  permutations;   /* permutation test size (0: none) */
    int64_t  bootstrap;      /* bootstrap resamples (0: no interval) */
    uint64_t seed;           /* the same seed, the same result at any thread count */
    double   level;          /* the interval's coverage, in (0, 1); 0 takes 0.95 */
} nerve_sim_test_options;

typedef struct nerve_sim_test {
    double  observed;        /* the metric on the data as given */
    double  p_value;         /* (1 + #{null as or more similar}) / (1 + permutations); NaN if none */
    double  null_mean;       /* mean of the permutation null; NaN if none */
    double  low, high;       /* percentile bootstrap interval; NaN if no bootstrap */
    int64_t permutations, bootstrap;
    int64_t skipped;         /* resamples left out: the metric undefined on them (a constant resample) */
} nerve_sim_test;

/* Significance of metric(a, b), for any metric. Permutation test: the
 * inputs of b shuffled (a uniform permutation each, from nerve_rng stream
 * 2i of the seed), p = (1 + #{null >= observed}) / (1 + n), "<=" for the
 * distances. Bootstrap: the inputs resampled with replacement, the same
 * rows in both layers (stream 2i + 1), and the percentile interval of the
 * values (linear interpolation, as numpy.percentile). Costs one metric
 * per permutation and per resample. */
int nerve_sim_significance(nerve_sim_test *out, nerve_sim_metric metric, const nerve_mat *a,
                           const nerve_mat *b, const nerve_sim_options *o, const nerve_sim_test_options *t);

#endif /* NERVE_SIM_H */
