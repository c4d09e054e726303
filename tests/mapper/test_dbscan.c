/*
 * test_dbscan.c — DBSCAN from streamed pairs equals scikit-learn's
 * depth-first labelling (written out naively here), whether the first
 * pass keeps every run, some, or none (the second pass then searches
 * again), on a cloud of dense duplicates, border points and noise.
 */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdlib.h>

#include "nerve/knn.h"
#include "../../src/mapper/mapper_internal.h"

/* Three blobs, one of them 300 copies of a few points (billions of pairs
 * at scale, the case that streams), a thin bridge of border points, and
 * scattered noise. */
static void make_cloud(nerve_mat *x)
{
    enum { N = 1200 };
    cr_assert_eq(nerve_mat_alloc(x, N, 3), 0);
    nerve_rng r;
    nerve_rng_seed(&r, 7);
    for (int64_t i = 0; i < N; i++) {
        float *p = x->data + i * 3;
        int64_t kind = i % 6;
        double c = kind < 2 ? 0 : kind < 4 ? 3 : kind == 4 ? 6 : 0;
        for (int k = 0; k < 3; k++)
            p[k] = (float)(c + 0.3 * nerve_rng_normal(&r));
        if (kind == 1)   /* duplicates */
            for (int k = 0; k < 3; k++)
                p[k] = (float)(0.01 * (double)(i % 5));
        if (kind == 5)   /* the bridge and the noise */
            for (int k = 0; k < 3; k++)
                p[k] = (float)(k == 0 ? 9 * nerve_rng_uniform(&r) : 2 * nerve_rng_normal(&r));
    }
}

/* scikit-learn's dbscan_inner over full neighbour lists. */
static int64_t naive_dbscan(int32_t *labels, const nerve_mat *x, double eps, int64_t min_samples)
{
    nerve_radius nb;
    cr_assert_eq(nerve_knn_radius(&nb, x, eps, NERVE_METRIC_EUCLIDEAN), 0, "%s", nerve_error());
    /* a point goes on the stack once for each core neighbour at most */
    int64_t n = x->rows, clusters = 0, *stack = malloc((size_t)(nb.start[n] + 1) * sizeof *stack), top = 0;
    for (int64_t i = 0; i < n; i++)
        labels[i] = -1;
    for (int64_t s = 0; s < n; s++) {
        if (labels[s] != -1 || nb.start[s + 1] - nb.start[s] < min_samples)
            continue;
        stack[top++] = s;
        while (top > 0) {
            int64_t i = stack[--top];
            if (labels[i] != -1)
                continue;
            labels[i] = (int32_t)clusters;
            if (nb.start[i + 1] - nb.start[i] >= min_samples)
                for (int64_t k = nb.start[i]; k < nb.start[i + 1]; k++)
                    if (labels[nb.index[k]] == -1)
                        stack[top++] = nb.index[k];
        }
        clusters++;
    }
    free(stack);
    nerve_radius_free(&nb);
    return clusters;
}

static void expect_streamed_equal(int64_t kept_max, int threads)
{
    nerve_mat x;
    make_cloud(&x);
    int64_t n = x.rows;
    int32_t *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
    const double eps = 0.35;
    const int64_t min_samples = 5;
    int64_t clusters = naive_dbscan(want, &x, eps, min_samples);
    int64_t border = 0, noise = 0;
    for (int64_t i = 0; i < n; i++)
        noise += want[i] < 0;
    omp_set_num_threads(threads);
    int64_t rc = mapper_dbscan_points(got, &x, eps, NERVE_METRIC_EUCLIDEAN, min_samples, kept_max);
    cr_assert_eq(rc, clusters, "%lld clusters, scikit-learn's way %lld (%s)", (long long)rc, (long long)clusters,
                 rc < 0 ? nerve_error() : "");
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "point %lld: label %d, scikit-learn's way %d", (long long)i, got[i], want[i]);
    nerve_radius nb;
    cr_assert_eq(nerve_knn_radius(&nb, &x, eps, NERVE_METRIC_EUCLIDEAN), 0);
    for (int64_t i = 0; i < n; i++)
        border += want[i] >= 0 && nb.start[i + 1] - nb.start[i] < min_samples;
    nerve_radius_free(&nb);
    cr_assert(clusters >= 2 && border > 0 && noise > 0, "the cloud should have clusters (%lld), border points "
              "(%lld) and noise (%lld)", (long long)clusters, (long long)border, (long long)noise);
    free(want);
    free(got);
    nerve_mat_free(&x);
}

Test(dbscan, every_run_kept_equals_scikit_learns_labels)
{
    expect_streamed_equal(MAPPER_DBSCAN_KEPT_RUNS, 2);
}

Test(dbscan, no_run_kept_searches_again_and_equals_them)
{
    expect_streamed_equal(0, 2);
}

Test(dbscan, runs_kept_until_the_budget_runs_out_equal_them_on_one_thread)
{
    expect_streamed_equal(1000, 1);
}
