/*
 * test_pca.c — PCA against scikit-learn's (scores with its sign convention,
 * explained variance ratios), and bad input.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "nerve/embed.h"
#include "../support/support.h"

Test(pca, matches_scikit_learn)
{
    nerve_mat points;
    cr_assert_eq(nerve_mat_read_npy(&points, fixture("embed/points.npy")), 0);
    nerve_pca p;
    cr_assert_eq(nerve_pca_fit(&p, &points, 3), 0, "%s", nerve_error());
    nerve_mat scores, ratio;
    cr_assert_eq(nerve_mat_read_npy(&scores, fixture("embed/pca.scores.npy")), 0);
    cr_assert_eq(nerve_mat_read_npy(&ratio, fixture("embed/pca.ratio.npy")), 0);
    for (int64_t i = 0; i < 400 * 3; i++)
        cr_assert(fabsf(p.scores.data[i] - scores.data[i]) < 1e-4f * fmaxf(1, fabsf(scores.data[i])),
                  "score %lld: %g, scikit-learn %g", (long long)i, p.scores.data[i], scores.data[i]);
    for (int c = 0; c < 3; c++)
        cr_assert(fabs(p.explained_ratio[c] - ratio.data[c]) < 1e-6, "ratio %d: %g vs %g", c,
                  p.explained_ratio[c], ratio.data[c]);
    nerve_mat_free(&scores);
    nerve_mat_free(&ratio);
    nerve_pca_free(&p);
    nerve_mat_free(&points);
}

/* Fewer points than dimensions (a wide layer, a flattened conv map) take
 * the n x n Gram route: the same axes and ratios as the d x d covariance
 * gives for the same points repeated four times (which only scales it). */
Test(pca, fewer_points_than_dimensions)
{
    enum { N = 12, D = 40, K = 4 };
    nerve_mat wide, tall;
    cr_assert_eq(nerve_mat_alloc(&wide, N, D), 0);
    cr_assert_eq(nerve_mat_alloc(&tall, 4 * N, D), 0);
    nerve_rng rng;
    nerve_rng_seed(&rng, 5);
    for (int64_t i = 0; i < N * D; i++)
        wide.data[i] = (float)(nerve_rng_normal(&rng) * (1 + i % D));   /* unequal variances */
    for (int r = 0; r < 4; r++)
        memcpy(tall.data + r * N * D, wide.data, sizeof(float) * N * D);
    nerve_pca a, b;
    cr_assert_eq(nerve_pca_fit(&a, &wide, K), 0, "%s", nerve_error());
    cr_assert_eq(nerve_pca_fit(&b, &tall, K), 0, "%s", nerve_error());
    for (int c = 0; c < K; c++) {
        cr_expect(fabs(a.explained_ratio[c] - b.explained_ratio[c]) < 1e-9, "ratio %d: %g vs %g", c,
                  a.explained_ratio[c], b.explained_ratio[c]);
        for (int j = 0; j < D; j++)
            cr_expect(fabs(a.components[c * D + j] - b.components[c * D + j]) < 1e-6, "axis %d [%d]: %g vs %g", c, j,
                      a.components[c * D + j], b.components[c * D + j]);
    }
    for (int64_t i = 0; i < N * K; i++)
        cr_expect(fabsf(a.scores.data[i] - b.scores.data[i]) < 1e-4f * fmaxf(1, fabsf(b.scores.data[i])));
    nerve_pca_free(&a);
    nerve_pca_free(&b);
    nerve_mat_free(&wide);
    nerve_mat_free(&tall);
}

Test(pca, bad_input_and_cli)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_alloc(&m, 5, 3), 0);
    nerve_pca p;
    cr_assert_eq(nerve_pca_fit(&p, &m, 4), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "4 components"), "%s", nerve_error());
    m.data[4] = NAN;
    cr_assert_eq(nerve_pca_fit(&p, &m, 2), NERVE_EINPUT);
    nerve_mat_free(&m);

    const char *out, *err, *dest = temp_path("pca.npy");
    int status = run_nerve((const char *[]){ "embed", "--method", "pca", "-k", "3", "-o", dest,
                                             fixture("embed/points.npy"), NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "\"explained_variance_ratio\""), "%s", out);
    nerve_mat back;
    cr_assert_eq(nerve_mat_read_npy(&back, dest), 0);
    cr_assert_eq(back.rows, 400);
    cr_assert_eq(back.cols, 3);
    nerve_mat_free(&back);
    cr_assert_eq(run_nerve((const char *[]){ "embed", "--method", "isomap", fixture("embed/points.npy"), NULL }, &out, &err), 2);
    cr_assert(strstr(err, "unknown --method 'isomap'"), "%s", err);
}
