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
