/*
 * test_findings.c — the findings room against its peers and on planted
 * problems: TwoNN against a NumPy rendering of Ansuini et al.'s estimator,
 * the linear probe against scikit-learn's LogisticRegression on the same
 * split, and, on 1,500 Fashion-MNIST test images through the trained
 * cnn-small (tests/fixtures/findings/make_findings_fixtures.py), 2% of the
 * labels flipped and 1% of the images replaced by non-garments.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/findings.h"
#include "../support/support.h"

static double json_number(const char *file, const char *a, const char *b)
{
    json_error_t err;
    json_t *root = json_load_file(fixture(file), 0, &err);
    cr_assert(root, "%s: %s", file, err.text);
    json_t *v = json_object_get(root, a);
    if (b)
        v = json_object_get(v, b);
    cr_assert(json_is_number(v), "%s: no %s", file, a);
    double x = json_number_value(v);
    json_decref(root);
    return x;
}

static void read_mat(nerve_mat *m, const char *file)
{
    cr_assert_eq(nerve_mat_read_npy(m, fixture(file)), 0, "%s", nerve_error());
}

static void read_i64(nerve_array *a, const char *file)
{
    cr_assert_eq(nerve_npy_read(a, NULL, fixture(file), NERVE_I64), 0, "%s", nerve_error());
}

Test(findings, twonn_matches_numpy_on_a_5d_manifold_in_100d)
{
    nerve_mat x = { 0 };
    nerve_knn nn = { 0 };
    read_mat(&x, "findings/twonn.points.npy");
    cr_assert_eq(nerve_knn_exact(&nn, &x, 2, NERVE_METRIC_EUCLIDEAN), 0);
    double got = nerve_findings_twonn(&nn, 0.1), naive = nerve_findings_twonn_naive(&x, 0.1);
    double want = json_number("findings/twonn.json", "twonn", NULL);
    cr_assert(fabs(got - want) <= 0.05 * want, "TwoNN %.4f, NumPy %.4f", got, want);
    cr_assert(fabs(got - naive) <= 1e-4 * naive, "TwoNN %.6f, its naive twin %.6f", got, naive);
    cr_assert(fabs(got - 5) < 0.75, "TwoNN %.3f on a 5-d manifold", got);
    nerve_knn_free(&nn);
    nerve_mat_free(&x);
}

static void probe_against_sklearn(const char *layer)
{
    char file[64];
    snprintf(file, sizeof file, "findings/planted.%s.npy", layer);
    nerve_mat x = { 0 };
    nerve_array y = { 0 }, train = { 0 }, test = { 0 };
    read_mat(&x, file);
    read_i64(&y, "findings/planted.labels.npy");
    read_i64(&train, "findings/probe.train.npy");
    read_i64(&test, "findings/probe.test.npy");
    nerve_probe_options o;
    nerve_probe_defaults(&o);
    double acc, loss;
    cr_assert_eq(nerve_findings_probe_split(&acc, &loss, &x, ((int64_t *)y.data), 10, ((int64_t *)train.data), train.shape[0], ((int64_t *)test.data),
                                            test.shape[0], &o), 0, "%s", nerve_error());
    double want = json_number("findings/probe.json", layer, "accuracy");
    double want_loss = json_number("findings/probe.json", layer, "loss");
    cr_assert(fabs(acc - want) <= 0.01, "%s: probe accuracy %.4f, scikit-learn %.4f", layer, acc, want);
    cr_assert(loss <= want_loss * 1.005, "%s: objective %.4f, scikit-learn's %.4f", layer, loss, want_loss);
    /* run further, the same optimum as scikit-learn's run to convergence */
    o.tol = 1e-6;
    o.max_iter = 2000;
    cr_assert_eq(nerve_findings_probe_split(&acc, &loss, &x, ((int64_t *)y.data), 10, ((int64_t *)train.data),
                                            train.shape[0], ((int64_t *)test.data), test.shape[0], &o), 0);
    cr_assert(fabs(loss - want_loss) <= 1e-4 * want_loss, "%s: objective %.6f, scikit-learn's %.6f", layer, loss,
              want_loss);
    nerve_array_free(&y);
    nerve_array_free(&train);
    nerve_array_free(&test);
    nerve_mat_free(&x);
}

Test(findings, probe_fc1_within_a_point_of_sklearn) { probe_against_sklearn("fc1"); }
Test(findings, probe_fc2_within_a_point_of_sklearn) { probe_against_sklearn("fc2"); }

/* The planted study: fc1 and fc2 of 1,500 inputs, their labels, the
 * model's predictions and confidences, the planted non-garments. */
typedef struct planted {
    nerve_mat fc1, fc2;
    nerve_array labels, predictions, confidence, ood;
    nerve_knn nn1, nn2;
    int64_t n;
} planted;

static void planted_load(planted *p)
{
    memset(p, 0, sizeof *p);
    read_mat(&p->fc1, "findings/planted.fc1.npy");
    read_mat(&p->fc2, "findings/planted.fc2.npy");
    read_i64(&p->labels, "findings/planted.labels.npy");
    read_i64(&p->predictions, "findings/planted.predictions.npy");
    read_i64(&p->ood, "findings/planted.ood.npy");
    cr_assert_eq(nerve_npy_read(&p->confidence, NULL, fixture("findings/planted.confidence.npy"), NERVE_F32), 0);
    p->n = p->fc1.rows;
    cr_assert_eq(nerve_knn_exact(&p->nn1, &p->fc1, 10, NERVE_METRIC_EUCLIDEAN), 0);
    cr_assert_eq(nerve_knn_exact(&p->nn2, &p->fc2, 10, NERVE_METRIC_EUCLIDEAN), 0);
}

static void planted_free(planted *p)
{
    nerve_mat_free(&p->fc1);
    nerve_mat_free(&p->fc2);
    nerve_array_free(&p->labels);
    nerve_array_free(&p->predictions);
    nerve_array_free(&p->confidence);
    nerve_array_free(&p->ood);
    nerve_knn_free(&p->nn1);
    nerve_knn_free(&p->nn2);
}

/* The rank of score i among the rows that are not skipped (0 the
 * largest), ties by index. */
static int64_t rank_of(const double *s, const int64_t *skip, int64_t n, int64_t i)
{
    int64_t r = 0;
    for (int64_t j = 0; j < n; j++)
        r += !skip[j] && (s[j] > s[i] || (s[j] == s[i] && j < i));
    return r;
}

/* The flips are planted among the garments and ranked among them: the
 * planted non-garments (the other test) are label problems of their own. */
Test(findings, planted_label_flips_rank_at_the_top, .timeout = 60)
{
    planted p;
    planted_load(&p);
    int64_t n = p.n, flips = n / 50;
    int64_t *given = malloc((size_t)n * sizeof *given);
    char *flipped = calloc((size_t)n, 1);
    const int64_t *ood = p.ood.data;
    memcpy(given, ((int64_t *)p.labels.data), (size_t)n * sizeof *given);
    nerve_rng rng;
    nerve_rng_seed(&rng, 21);
    for (int64_t f = 0; f < flips;) {   /* 2% of the labels, each to another class */
        int64_t i = (int64_t)nerve_rng_below(&rng, (uint64_t)n);
        if (flipped[i] || ood[i])
            continue;
        flipped[i] = 1;
        given[i] = (given[i] + 1 + (int64_t)nerve_rng_below(&rng, 9)) % 10;
        f++;
    }
    double *probs = malloc((size_t)n * 10 * sizeof *probs), *score = malloc((size_t)n * sizeof *score);
    int found = 0;
    cr_assert_eq(nerve_findings_output_probabilities(probs, &found, &p.fc2, ((int64_t *)p.predictions.data), 10), 0);
    cr_assert(found, "fc2 holds the logits");
    const nerve_knn *nns[2] = { &p.nn1, &p.nn2 };
    cr_assert_eq(nerve_findings_label_noise(score, n, 10, given, probs, NULL, NULL, nns, 2), 0);
    int64_t caught = 0;
    for (int64_t i = 0; i < n; i++)
        caught += flipped[i] && rank_of(score, ood, n, i) < flips;
    cr_assert_geq(caught * 10, flips * 8, "%lld of %lld flipped labels in the top 2%%", (long long)caught,
                  (long long)flips);
    free(given);
    free(flipped);
    free(probs);
    free(score);
    planted_free(&p);
}

/* The ROC AUC of score for the positives (Mann-Whitney, ties half). */
static double auc(const double *score, const int64_t *positive, int64_t n)
{
    double wins = 0;
    int64_t pos = 0, neg = 0;
    for (int64_t i = 0; i < n; i++) {
        pos += positive[i] != 0;
        neg += positive[i] == 0;
        if (!positive[i])
            continue;
        for (int64_t j = 0; j < n; j++)
            if (!positive[j])
                wins += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
    }
    return wins / ((double)pos * (double)neg);
}

Test(findings, planted_non_garments_score_as_outliers, .timeout = 60)
{
    planted p;
    planted_load(&p);
    int64_t n = p.n;
    double *s[4], *overall = malloc((size_t)n * sizeof *overall);
    for (int i = 0; i < 4; i++)
        s[i] = malloc((size_t)n * sizeof *s[i]);
    nerve_findings_knn_score(s[0], &p.nn1, 10);
    nerve_findings_knn_score(s[1], &p.nn2, 10);
    cr_assert_eq(nerve_findings_mahalanobis(s[2], &p.fc1, ((int64_t *)p.labels.data), 10, 64, 1e-6), 0, "%s", nerve_error());
    cr_assert_eq(nerve_findings_mahalanobis(s[3], &p.fc2, ((int64_t *)p.labels.data), 10, 64, 1e-6), 0, "%s", nerve_error());
    cr_assert_eq(nerve_findings_combine(overall, (const double *const *)s, 4, n), 0);
    double a = auc(overall, ((int64_t *)p.ood.data), n);
    cr_assert_geq(a, 0.95, "ROC AUC %.4f of the overall outlier score", a);
    for (int i = 0; i < 4; i++)
        free(s[i]);
    free(overall);
    planted_free(&p);
}

Test(findings, units_and_pca_dimension)
{
    /* 200 rows: unit 0 dead, unit 1 constant 3, units 2..4 random, unit 5 = 2 x unit 2 */
    nerve_mat x = { 0 };
    cr_assert_eq(nerve_mat_alloc(&x, 200, 6), 0);
    nerve_rng rng;
    nerve_rng_seed(&rng, 1);
    for (int64_t i = 0; i < 200; i++) {
        float *r = x.data + i * 6;
        r[1] = 3;
        for (int j = 2; j < 5; j++)
            r[j] = (float)nerve_rng_normal(&rng);
        r[5] = 2 * r[2];
    }
    int64_t dead, constant, k90;
    double pr;
    nerve_findings_units(&dead, &constant, &x);
    cr_assert_eq(dead, 1);
    cr_assert_eq(constant, 1);
    cr_assert_eq(nerve_findings_pca_dims(&k90, &pr, &x), 0);
    /* variances about 5, 1, 1 along three directions: 90% takes all three;
     * participation (7^2) / (25 + 1 + 1) = 1.81 */
    cr_assert_eq(k90, 3);
    cr_assert(pr > 1.5 && pr < 2.2, "participation ratio %.3f", pr);
    nerve_mat_free(&x);
}

/* A hand-made graph: a chain 0-1-2-3 (class 0, class 0, mixed 0/1, class 1),
 * a flare 3-4-5 off the branch node 3 (which also has 6), and the triangle
 * 6-7-8 (a loop). */
static void small_graph(nerve_mapper_graph *g, int64_t *counts, int64_t *start, int64_t *members,
                        nerve_mapper_edge *edges, int64_t *dominant, double *purity, int64_t *cycle_start,
                        int64_t *cycle_nodes)
{
    static const int64_t c[9][2] = { { 10, 0 }, { 10, 0 }, { 5, 5 }, { 0, 10 }, { 0, 10 }, { 0, 10 },
                                     { 0, 10 }, { 0, 10 }, { 0, 10 } };
    static const int64_t e[9][2] = { { 0, 1 }, { 1, 2 }, { 2, 3 }, { 3, 4 }, { 3, 6 }, { 4, 5 }, { 6, 7 },
                                     { 6, 8 }, { 7, 8 } };
    memset(g, 0, sizeof *g);
    g->n_nodes = 9;
    g->n_edges = 9;
    g->n_classes = 2;
    g->n_points = 90;
    for (int v = 0; v < 9; v++) {
        counts[2 * v] = c[v][0];
        counts[2 * v + 1] = c[v][1];
        start[v] = 10 * v;
        dominant[v] = c[v][1] > c[v][0];
        purity[v] = (double)(c[v][0] > c[v][1] ? c[v][0] : c[v][1]) / 10;
    }
    start[9] = 90;
    for (int i = 0; i < 90; i++)
        members[i] = i;
    for (int i = 0; i < 9; i++)
        edges[i] = (nerve_mapper_edge){ .a = e[i][0], .b = e[i][1], .shared = 1 };
    cycle_start[0] = 0;
    cycle_start[1] = 3;
    cycle_nodes[0] = 6;
    cycle_nodes[1] = 7;
    cycle_nodes[2] = 8;
    g->member_start = start;
    g->members = members;
    g->edges = edges;
    g->label_counts = counts;
    g->dominant = dominant;
    g->purity = purity;
    g->n_cycles = 1;
    g->cycle_start = cycle_start;
    g->cycle_nodes = cycle_nodes;
}

Test(findings, graph_bridges_loops_flares_and_pure_classes)
{
    nerve_mapper_graph g;
    int64_t counts[18], start[10], members[90], dominant[9], cs[2], cn[3];
    double purity[9];
    nerve_mapper_edge edges[9];
    small_graph(&g, counts, start, members, edges, dominant, purity, cs, cn);
    nerve_findings_bridge *b;
    int64_t nb;
    cr_assert_eq(nerve_findings_bridges(&b, &nb, &g, 5, 0.8), 0);
    cr_assert_eq(nb, 1);
    cr_assert_eq(b[0].node, 2);
    cr_assert(b[0].a == 0 && b[0].b == 1 && fabs(b[0].score - 0.5) < 1e-12);
    free(b);

    nerve_findings_shape *s;
    int64_t ns;
    cr_assert_eq(nerve_findings_shapes(&s, &ns, &g, 2), 0);
    cr_assert_eq(ns, 3, "the loop, the flare 5-4 and the chain 0-1-2");
    cr_assert(s[0].loop && s[0].n_nodes == 3 && s[0].dominant == 1 && s[0].purity == 1);
    cr_assert(!s[1].loop && s[1].n_nodes == 3 && s[1].nodes[0] == 0 && s[1].nodes[2] == 2 && s[1].dominant == 0);
    cr_assert(!s[2].loop && s[2].n_nodes == 2 && s[2].nodes[0] == 5 && s[2].nodes[1] == 4);
    nerve_findings_shapes_free(s, ns);

    /* one component holding everything: neither class is pure in it */
    int64_t labels[90];
    for (int v = 0; v < 9; v++)
        for (int i = 0; i < 10; i++)
            labels[10 * v + i] = i < counts[2 * v] ? 0 : 1;
    int pure[2];
    cr_assert_eq(nerve_findings_pure_classes(pure, &g, labels, 0.5, 0.9), 0);
    cr_assert(!pure[0] && !pure[1]);
    /* cut the edge 2-3: {0, 1, 2} holds 25 of class 0 and 5 of class 1 */
    g.edges[2] = g.edges[8];
    g.n_edges = 8;
    cr_assert_eq(nerve_findings_pure_classes(pure, &g, labels, 0.5, 0.8), 0);
    cr_assert(pure[0] && pure[1]);
    cr_assert_eq(nerve_findings_pure_classes(pure, &g, labels, 0.5, 0.9), 0);
    cr_assert(!pure[0] && pure[1]);
}

Test(findings, split_is_seeded_and_covers_every_row)
{
    int64_t train[100], test[100], ntr, nte, train2[100], test2[100], ntr2, nte2;
    nerve_findings_split(train, &ntr, test, &nte, 100, 0.25, 0, 3);
    nerve_findings_split(train2, &ntr2, test2, &nte2, 100, 0.25, 0, 3);
    cr_assert(ntr == 75 && nte == 25);
    cr_assert(memcmp(train, train2, sizeof(int64_t) * 75) == 0 && memcmp(test, test2, sizeof(int64_t) * 25) == 0);
    char seen[100] = { 0 };
    for (int i = 0; i < 75; i++)
        seen[train[i]]++;
    for (int i = 0; i < 25; i++)
        seen[test[i]]++;
    for (int i = 0; i < 100; i++)
        cr_assert_eq(seen[i], 1);
    /* a sample of 40 rows: 10 test, 30 training, none twice */
    nerve_findings_split(train, &ntr, test, &nte, 100, 0.25, 40, 3);
    cr_assert(ntr == 30 && nte == 10);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 30; i++)
        seen[train[i]]++;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(seen[test[i]]++, 0);
}
