/*
 * test_tsne.c — t-SNE against scikit-learn's on real activations (KL and
 * neighbourhood preservation), the three force methods agreeing, results
 * independent of the thread count, and bad input refused.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "nerve/embed.h"
#include "nerve/knn.h"
#include "../support/support.h"

static json_t *reference(void)
{
    json_error_t err;
    json_t *ref = json_load_file(fixture("embed/tsne.json"), 0, &err);
    cr_assert(ref, "%s", err.text);
    return ref;
}

static void reference_points(nerve_mat *x)
{
    nerve_mat all;
    cr_assert_eq(nerve_mat_read_npy(&all, fixture("mapper/acts.points.npy")), 0, "%s", nerve_error());
    cr_assert_eq(nerve_mat_alloc(x, 1400, all.cols), 0);
    memcpy(x->data, all.data, (size_t)(1400 * all.cols) * sizeof *x->data);
    nerve_mat_free(&all);
}

/* The share of each point's 10 nearest neighbours in x kept in y. */
static double kept10(const nerve_mat *x, const nerve_mat *y)
{
    nerve_knn a, b;
    cr_assert_eq(nerve_knn_exact(&a, x, 10, NERVE_METRIC_EUCLIDEAN), 0);
    cr_assert_eq(nerve_knn_exact(&b, y, 10, NERVE_METRIC_EUCLIDEAN), 0);
    int64_t hit = 0;
    for (int64_t i = 0; i < x->rows; i++)
        for (int p = 0; p < 10; p++)
            for (int q = 0; q < 10; q++)
                hit += a.index[i * 10 + p] == b.index[i * 10 + q];
    nerve_knn_free(&a);
    nerve_knn_free(&b);
    return (double)hit / (double)(x->rows * 10);
}

Test(tsne, as_good_as_scikit_learn_with_every_method, .disabled = SANITIZED_BUILD)
{
    json_t *ref = reference();
    double kl_ref = json_real_value(json_object_get(ref, "kl"));
    double kept_ref = json_real_value(json_object_get(ref, "kept10"));
    json_decref(ref);
    nerve_mat x;
    reference_points(&x);
    nerve_tsne_method methods[] = { NERVE_TSNE_EXACT, NERVE_TSNE_FFT, NERVE_TSNE_BARNES_HUT };
    for (int m = 0; m < 3; m++) {
        nerve_tsne_options o;
        nerve_tsne_defaults(&o);
        o.method = methods[m];
        nerve_tsne t;
        cr_assert_eq(nerve_tsne_fit(&t, &x, &o, NULL), 0, "%s", nerve_error());
        double kept = kept10(&x, &t.y);
        /* Approximate methods report KL with an approximate Z: a little slack. */
        double slack = methods[m] == NERVE_TSNE_EXACT ? 1.03 : 1.05;
        cr_assert_leq(t.kl, slack * kl_ref, "%s: KL %g, scikit-learn %g", nerve_tsne_method_name(methods[m]), t.kl,
                      kl_ref);
        cr_assert_geq(kept, kept_ref - 0.02, "%s: 10-NN kept %g, scikit-learn %g", nerve_tsne_method_name(methods[m]),
                      kept, kept_ref);
        nerve_tsne_free(&t);
    }
    nerve_mat_free(&x);
}

Test(tsne, thread_count_changes_nothing)
{
    nerve_mat x;
    reference_points(&x);
    nerve_tsne_options o;
    nerve_tsne_defaults(&o);
    o.iters = 120;
    o.early_iters = 60;
    for (int m = NERVE_TSNE_EXACT; m <= NERVE_TSNE_FFT; m++) {
        o.method = (nerve_tsne_method)m;
        nerve_tsne a, b;
        nerve_threads_init(1);
        cr_assert_eq(nerve_tsne_fit(&a, &x, &o, NULL), 0, "%s", nerve_error());
        nerve_threads_init(2);
        cr_assert_eq(nerve_tsne_fit(&b, &x, &o, NULL), 0);
        cr_assert_eq(memcmp(a.y.data, b.y.data, (size_t)(2 * x.rows) * sizeof *a.y.data), 0, "%s",
                     nerve_tsne_method_name(o.method));
        nerve_tsne_free(&a);
        nerve_tsne_free(&b);
    }
    nerve_mat_free(&x);
}

Test(tsne, bad_input)
{
    nerve_mat x;
    cr_assert_eq(nerve_mat_alloc(&x, 90, 4), 0);
    for (int64_t i = 0; i < 90 * 4; i++)
        x.data[i] = (float)(i % 7);
    nerve_tsne_options o;
    nerve_tsne_defaults(&o);
    nerve_tsne t;
    cr_assert_eq(nerve_tsne_fit(&t, &x, &o, NULL), NERVE_EINPUT);   /* 90 <= 3 x 30 */
    cr_assert(strstr(nerve_error(), "3 x perplexity"), "%s", nerve_error());
    o.perplexity = 10;
    x.data[4 * 17 + 2] = NAN;
    cr_assert_eq(nerve_tsne_fit(&t, &x, &o, NULL), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "row 17"), "%s", nerve_error());
    nerve_mat_free(&x);
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "embed", "--method", "tsne", "--perplexity", "200", "-o",
                                             temp_path("t.npy"), fixture("embed/points.npy"), NULL },
                           &out, &err),
                 2);
    cr_assert(strstr(err, "400 points; perplexity 200 needs more than 600"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "embed", "--method", "isomap", fixture("embed/points.npy"), NULL }, &out,
                           &err),
                 2);
}

Test(tsne, cli_writes_n_by_2_and_reports_kl)
{
    const char *out, *err, *path = temp_path("t.npy");
    int status = run_nerve((const char *[]){ "embed", "-q", "--method", "tsne", "--iters", "200", "--early-iters",
                                             "100", "-o", path, fixture("embed/points.npy"), NULL },
                           &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "\"kl_divergence\""), "%s", out);
    nerve_mat y;
    cr_assert_eq(nerve_mat_read_npy(&y, path), 0);
    cr_assert_eq(y.rows, 400);
    cr_assert_eq(y.cols, 2);
    nerve_mat_free(&y);
}
