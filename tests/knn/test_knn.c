/*
 * test_knn.c — exact kNN by blocked GEMM against its naive twin and
 * against scikit-learn's brute-force NearestNeighbors, at any thread count.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "nerve/knn.h"
#include "../support/support.h"

static void random_points(nerve_mat *m, int64_t n, int64_t d, uint64_t seed)
{
    cr_assert_eq(nerve_mat_alloc(m, n, d), 0);
    nerve_rng r;
    nerve_rng_seed(&r, seed);
    for (int64_t i = 0; i < n * d; i++)
        m->data[i] = (float)nerve_rng_normal(&r);
}

static void assert_same(const nerve_knn *a, const nerve_knn *b, const char *what)
{
    cr_assert_eq(a->n, b->n);
    cr_assert_eq(a->k, b->k);
    for (int64_t i = 0; i < a->n * a->k; i++) {
        cr_assert_eq(a->index[i], b->index[i], "%s: point %lld neighbour %lld: %lld vs %lld", what,
                     (long long)(i / a->k), (long long)(i % a->k), (long long)a->index[i], (long long)b->index[i]);
        cr_assert(fabsf(a->dist[i] - b->dist[i]) <= 1e-5f * fmaxf(1, b->dist[i]), "%s: distance %g vs %g", what,
                  a->dist[i], b->dist[i]);
    }
}

Test(knn, blocked_gemm_matches_the_naive_twin)
{
    /* Sizes that straddle the query and point blocks. */
    int64_t sizes[][3] = { { 300, 7, 5 }, { 1500, 32, 15 }, { 129, 3, 1 } };
    for (int t = 0; t < 3; t++) {
        nerve_mat m;
        random_points(&m, sizes[t][0], sizes[t][1], (uint64_t)t);
        for (int metric = 0; metric < 2; metric++) {
            nerve_knn fast, slow;
            cr_assert_eq(nerve_knn_exact(&fast, &m, sizes[t][2], (nerve_metric)metric), 0, "%s", nerve_error());
            cr_assert_eq(nerve_knn_naive(&slow, &m, sizes[t][2], (nerve_metric)metric), 0);
            assert_same(&fast, &slow, nerve_metric_name((nerve_metric)metric));
            nerve_knn_free(&fast);
            nerve_knn_free(&slow);
        }
        nerve_mat_free(&m);
    }
}

Test(knn, matches_scikit_learn)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_read_npy(&m, fixture("knn/points.npy")), 0);
    const char *metrics[] = { "euclidean", "cosine" };
    for (int t = 0; t < 2; t++) {
        nerve_metric metric;
        cr_assert_eq(nerve_metric_parse(metrics[t], &metric), 0);
        nerve_knn nn;
        cr_assert_eq(nerve_knn_exact(&nn, &m, 8, metric), 0, "%s", nerve_error());
        char rel[64];
        snprintf(rel, sizeof rel, "knn/%s.index.npy", metrics[t]);
        nerve_array index, dist;
        cr_assert_eq(nerve_npy_read(&index, NULL, fixture(rel), NERVE_I64), 0);
        snprintf(rel, sizeof rel, "knn/%s.dist.npy", metrics[t]);
        cr_assert_eq(nerve_npy_read(&dist, NULL, fixture(rel), NERVE_F32), 0);
        for (int64_t i = 0; i < 300 * 8; i++) {
            cr_assert_eq(nn.index[i], ((int64_t *)index.data)[i], "%s: point %lld", metrics[t], (long long)(i / 8));
            cr_assert(fabsf(nn.dist[i] - ((float *)dist.data)[i]) < 1e-5f, "%s: %g vs %g", metrics[t],
                      nn.dist[i], ((float *)dist.data)[i]);
        }
        nerve_array_free(&index);
        nerve_array_free(&dist);
        nerve_knn_free(&nn);
    }
    nerve_mat_free(&m);
}

Test(knn, same_result_at_any_thread_count_and_queries)
{
    nerve_mat m, q;
    random_points(&m, 2000, 24, 9);
    random_points(&q, 70, 24, 10);
    nerve_knn one, two;
    nerve_threads_init(1);
    cr_assert_eq(nerve_knn_exact(&one, &m, 10, NERVE_METRIC_EUCLIDEAN), 0);
    nerve_threads_init(2);
    cr_assert_eq(nerve_knn_exact(&two, &m, 10, NERVE_METRIC_EUCLIDEAN), 0);
    cr_assert_eq(memcmp(one.index, two.index, (size_t)(2000 * 10) * sizeof *one.index), 0);
    cr_assert_eq(memcmp(one.dist, two.dist, (size_t)(2000 * 10) * sizeof *one.dist), 0);
    nerve_knn_free(&one);
    nerve_knn_free(&two);
    /* A query that is one of the points finds itself first, at distance 0. */
    memcpy(q.data, m.data + 5 * 24, 24 * sizeof *q.data);
    cr_assert_eq(nerve_knn_query(&one, &q, &m, 3, NERVE_METRIC_EUCLIDEAN), 0, "%s", nerve_error());
    cr_assert_eq(one.index[0], 5);
    cr_assert_eq(one.dist[0], 0.0f);
    nerve_knn_free(&one);
    nerve_mat_free(&q);
    nerve_mat_free(&m);
}

Test(knn, bad_input)
{
    nerve_mat m, q;
    random_points(&m, 10, 4, 1);
    random_points(&q, 3, 5, 2);
    nerve_knn nn;
    cr_assert_eq(nerve_knn_exact(&nn, &m, 10, NERVE_METRIC_EUCLIDEAN), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "k = 10, but there are 10 points"), "%s", nerve_error());
    cr_assert_eq(nerve_knn_exact(&nn, &m, 0, NERVE_METRIC_EUCLIDEAN), NERVE_EINPUT);
    cr_assert_eq(nerve_knn_query(&nn, &q, &m, 2, NERVE_METRIC_EUCLIDEAN), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "5 dimensions, points 4"), "%s", nerve_error());
    nerve_metric metric;
    cr_assert_eq(nerve_metric_parse("manhattan", &metric), -1);
    nerve_mat_free(&m);
    nerve_mat_free(&q);
}

Test(knn, radius_lists_equal_the_direct_distances)
{
    nerve_mat m;
    random_points(&m, 700, 6, 9);
    for (int metric = 0; metric < 2; metric++) {
        double r = metric == NERVE_METRIC_COSINE ? 0.3 : 2.0;
        nerve_radius nb;
        cr_assert_eq(nerve_knn_radius(&nb, &m, r, (nerve_metric)metric), 0, "%s", nerve_error());
        for (int64_t i = 0; i < m.rows; i++) {
            int64_t e = nb.start[i];
            for (int64_t j = 0; j < m.rows; j++) {
                double d = nerve_knn_distance(m.data + i * 6, m.data + j * 6, 6, (nerve_metric)metric);
                int in = j == i || d <= r;
                int listed = e < nb.start[i + 1] && nb.index[e] == j;
                cr_assert_eq(listed, in, "%s: %lld-%lld at %g (r %g)", nerve_metric_name((nerve_metric)metric),
                             (long long)i, (long long)j, d, r);
                e += listed;
            }
        }
        nerve_radius_free(&nb);
    }
    nerve_mat_free(&m);
}

/* Points near a 3-dimensional subspace of R^32: the low intrinsic
 * dimension of activations, where NN-descent is meant to work. */
static void low_dimensional_points(nerve_mat *m, int64_t n)
{
    cr_assert_eq(nerve_mat_alloc(m, n, 32), 0);
    nerve_rng r;
    nerve_rng_seed(&r, 4);
    float basis[3][32];
    for (int a = 0; a < 3; a++)
        for (int j = 0; j < 32; j++)
            basis[a][j] = (float)nerve_rng_normal(&r);
    for (int64_t i = 0; i < n; i++) {
        double c[3] = { nerve_rng_normal(&r), nerve_rng_normal(&r), nerve_rng_normal(&r) };
        for (int j = 0; j < 32; j++)
            m->data[i * 32 + j] = (float)(c[0] * basis[0][j] + c[1] * basis[1][j] + c[2] * basis[2][j] +
                                          0.05 * nerve_rng_normal(&r));
    }
}

Test(knn, descent_recall_and_thread_independence)
{
    nerve_mat m;
    low_dimensional_points(&m, 6000);
    nerve_knn exact, one, two;
    cr_assert_eq(nerve_knn_exact(&exact, &m, 15, NERVE_METRIC_EUCLIDEAN), 0);
    nerve_threads_init(1);
    cr_assert_eq(nerve_knn_descent(&one, &m, 15, NERVE_METRIC_EUCLIDEAN, 3), 0, "%s", nerve_error());
    nerve_threads_init(2);
    cr_assert_eq(nerve_knn_descent(&two, &m, 15, NERVE_METRIC_EUCLIDEAN, 3), 0);
    cr_assert_eq(memcmp(one.index, two.index, (size_t)(m.rows * 15) * sizeof *one.index), 0,
                 "the thread count changed the result");
    int64_t hit = 0;
    for (int64_t i = 0; i < m.rows; i++)
        for (int a = 0; a < 15; a++)
            for (int b = 0; b < 15; b++)
                if (one.index[i * 15 + b] == exact.index[i * 15 + a]) {
                    hit++;
                    break;
                }
    double recall = (double)hit / (double)(m.rows * 15);
    cr_assert_geq(recall, 0.95, "recall %.4f", recall);
    nerve_knn_free(&exact);
    nerve_knn_free(&one);
    nerve_knn_free(&two);
    nerve_mat_free(&m);
}
