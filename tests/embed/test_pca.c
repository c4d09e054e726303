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
