/*
 * test_umap.c — UMAP: a and b against umap-learn's find_ab_params (scipy's
 * curve_fit), quality against umap-js's on real activations, clusters kept
 * apart, the spectral start against a dense eigen-decomposition (its naive
 * twin), the fast power against powf, the same output for a seed at any
 * thread count, and bad input refused.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/embed.h"
#include "nerve/internal/linalg.h"
#include "nerve/knn.h"
#include "../../src/embed/embed_internal.h"
#include "../support/support.h"

static json_t *reference(void)
{
    json_error_t err;
    json_t *ref = json_load_file(fixture("embed/umap.json"), 0, &err);
    cr_assert(ref, "%s", err.text);
    return ref;
}

/* The share of each point's k nearest neighbours in x kept in y. */
static double kept(const nerve_mat *x, const nerve_mat *y, int64_t k)
{
    nerve_knn a, b;
    cr_assert_eq(nerve_knn_exact(&a, x, k, NERVE_METRIC_EUCLIDEAN), 0);
    cr_assert_eq(nerve_knn_exact(&b, y, k, NERVE_METRIC_EUCLIDEAN), 0);
    int64_t hit = 0;
    for (int64_t i = 0; i < x->rows; i++)
        for (int64_t p = 0; p < k; p++)
            for (int64_t q = 0; q < k; q++)
                hit += a.index[i * k + p] == b.index[i * k + q];
    nerve_knn_free(&a);
    nerve_knn_free(&b);
    return (double)hit / (double)(x->rows * k);
}

/* scikit-learn's trustworthiness (Venna and Kaski): 1 - 2 / (n k (2n - 3k
 * - 1)) x the sum, over each point's k nearest in y that are not among its
 * k nearest in x, of (their rank in x - k). Ranks from all distances. */
static double trustworthiness(const nerve_mat *x, const nerve_mat *y, int64_t k)
{
    int64_t n = x->rows;
    nerve_knn in_y;
    cr_assert_eq(nerve_knn_exact(&in_y, y, k, NERVE_METRIC_EUCLIDEAN), 0);
    double *d = malloc((size_t)n * sizeof *d), total = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++)
            d[j] = nerve_knn_distance(x->data + i * x->cols, x->data + j * x->cols, x->cols, NERVE_METRIC_EUCLIDEAN);
        for (int64_t a = 0; a < k; a++) {
            int64_t j = in_y.index[i * k + a], rank = 0;
            for (int64_t m = 0; m < n; m++)   /* rank 1 = nearest other; ties by index as a stable sort */
                rank += m != i && (d[m] < d[j] || (d[m] == d[j] && m < j));
            rank += 1;
            if (rank > k)
                total += (double)(rank - k);
        }
    }
    free(d);
    nerve_knn_free(&in_y);
    return 1 - 2.0 / ((double)n * (double)k * (2.0 * (double)n - 3.0 * (double)k - 1)) * total;
}

static void activations(nerve_mat *x, int64_t rows)
{
    nerve_mat all;
    cr_assert_eq(nerve_mat_read_npy(&all, fixture("mapper/acts.points.npy")), 0, "%s", nerve_error());
    cr_assert_eq(nerve_mat_alloc(x, rows, all.cols), 0);
    memcpy(x->data, all.data, (size_t)(rows * all.cols) * sizeof *x->data);
    nerve_mat_free(&all);
}

/* n points in c Gaussian clusters (standard deviation 1) in d dimensions,
 * their centres 30 apart on the axes; labels into label. */
static void clusters(nerve_mat *x, int32_t *label, int64_t n, int64_t c, int64_t d, uint64_t seed)
{
    cr_assert_eq(nerve_mat_alloc(x, n, d), 0);
    nerve_rng r;
    nerve_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        label[i] = (int32_t)(i % c);
        for (int64_t j = 0; j < d; j++)
            x->data[i * d + j] = (float)(nerve_rng_normal(&r) + (j == label[i] ? 30 : 0));
    }
}

Test(umap, a_and_b_as_umap_learn)
{
    json_t *ref = reference(), *row;
    size_t i;
    json_array_foreach(json_object_get(ref, "ab"), i, row) {
        double min_dist = json_number_value(json_array_get(row, 0)), spread = json_number_value(json_array_get(row, 1));
        double a_ref = json_number_value(json_array_get(row, 2)), b_ref = json_number_value(json_array_get(row, 3));
        double a, b;
        cr_assert_eq(nerve_umap_find_ab(&a, &b, spread, min_dist), 0, "%s", nerve_error());
        cr_assert(fabs(a - a_ref) < 1e-3 && fabs(b - b_ref) < 1e-3, "min_dist %g spread %g: a %g b %g, umap-learn %g %g",
                  min_dist, spread, a, b, a_ref, b_ref);
    }
    json_decref(ref);
    /* umap-learn's documented defaults. */
    double a, b;
    cr_assert_eq(nerve_umap_find_ab(&a, &b, 1, 0.1), 0);
    cr_assert(fabs(a - 1.577) < 1e-3 && fabs(b - 0.895) < 1e-3, "a %g b %g", a, b);
    cr_assert_eq(nerve_umap_find_ab(&a, &b, 0, 0.1), NERVE_EINPUT);
}

Test(umap, as_trustworthy_as_umap_js)
{
    json_t *ref = reference(), *run;
    double trust_ref = 0, kept_ref = 0;
    size_t i, runs = json_array_size(json_object_get(ref, "umapjs"));
    json_array_foreach(json_object_get(ref, "umapjs"), i, run) {
        trust_ref += json_number_value(json_object_get(run, "trustworthiness")) / (double)runs;
        kept_ref += json_number_value(json_object_get(run, "kept15")) / (double)runs;
    }
    json_decref(ref);
    nerve_mat x;
    activations(&x, 1000);
    nerve_umap_options o;
    nerve_umap_defaults(&o);
    nerve_umap u;
    cr_assert_eq(nerve_umap_fit(&u, &x, &o, NULL), 0, "%s", nerve_error());
    cr_assert_eq(u.epochs, 500);
    cr_assert(u.exact_neighbors);
    double trust = trustworthiness(&x, &u.y, 15), kp = kept(&x, &u.y, 15);
    cr_assert_geq(trust, trust_ref - 0.01, "trustworthiness %g, umap-js %g", trust, trust_ref);
    cr_assert_geq(kp, kept_ref - 0.02, "15-NN kept %g, umap-js %g", kp, kept_ref);
    nerve_umap_free(&u);
    nerve_mat_free(&x);
}

/* Five clusters far apart: the graph falls into five components, laid out
 * apart; every point's nearest neighbours in the embedding are of its own
 * cluster as they are in the input, and no cluster's spread reaches
 * another. */
Test(umap, clusters_stay_apart)
{
    enum { N = 600, C = 5, D = 10 };
    int32_t label[N];
    nerve_mat x;
    clusters(&x, label, N, C, D, 3);
    nerve_umap_options o;
    nerve_umap_defaults(&o);
    o.epochs = 200;
    nerve_umap u;
    cr_assert_eq(nerve_umap_fit(&u, &x, &o, NULL), 0, "%s", nerve_error());
    cr_assert_eq(u.components, C);
    nerve_knn in_x, in_y;
    cr_assert_eq(nerve_knn_exact(&in_x, &x, 15, NERVE_METRIC_EUCLIDEAN), 0);
    cr_assert_eq(nerve_knn_exact(&in_y, &u.y, 15, NERVE_METRIC_EUCLIDEAN), 0);
    int64_t same_x = 0, same_y = 0;
    for (int64_t e = 0; e < N * 15; e++) {
        same_x += label[in_x.index[e]] == label[e / 15];
        same_y += label[in_y.index[e]] == label[e / 15];
    }
    cr_assert_geq(same_y, same_x, "neighbours of the same cluster: %lld in the embedding, %lld in the input",
                  (long long)same_y, (long long)same_x);
    /* Each cluster's centre and radius (largest distance from its centre). */
    double cx[C] = { 0 }, cy[C] = { 0 }, radius[C] = { 0 };
    for (int64_t i = 0; i < N; i++) {
        cx[label[i]] += u.y.data[2 * i] / (N / C);
        cy[label[i]] += u.y.data[2 * i + 1] / (N / C);
    }
    for (int64_t i = 0; i < N; i++)
        radius[label[i]] = fmax(radius[label[i]], hypot(u.y.data[2 * i] - cx[label[i]], u.y.data[2 * i + 1] - cy[label[i]]));
    for (int p = 0; p < C; p++)
        for (int q = p + 1; q < C; q++)
            cr_assert_gt(hypot(cx[p] - cx[q], cy[p] - cy[q]), radius[p] + radius[q],
                         "clusters %d and %d overlap: centres %g apart, radii %g and %g", p, q,
                         hypot(cx[p] - cx[q], cy[p] - cy[q]), radius[p], radius[q]);
    /* The baseline from the data: the best linear picture, PCA's. */
    nerve_pca p;
    cr_assert_eq(nerve_pca_fit(&p, &x, 2), 0);
    double trust = trustworthiness(&x, &u.y, 15), trust_pca = trustworthiness(&x, &p.scores, 15);
    cr_assert_geq(trust, trust_pca, "trustworthiness %g, PCA's %g", trust, trust_pca);
    nerve_pca_free(&p);
    nerve_knn_free(&in_x);
    nerve_knn_free(&in_y);
    nerve_umap_free(&u);
    nerve_mat_free(&x);
}

/* The spectral start of one component equals the two eigenvectors after
 * the trivial one of the normalised adjacency, computed densely. */
Test(umap, spectral_start_is_the_laplacian_eigenvectors)
{
    nerve_mat x;
    activations(&x, 400);
    nerve_knn nn;
    cr_assert_eq(nerve_knn_exact(&nn, &x, 14, NERVE_METRIC_EUCLIDEAN), 0);
    tsne_graph g;
    cr_assert_eq(umap_fuzzy_graph(&g, &nn, 500), 0);
    int64_t n = g.n;
    int32_t *label = malloc((size_t)n * sizeof *label);
    cr_assert_eq(umap_components(label, &g), 1, "the fixture's graph should be connected");
    double *y = malloc((size_t)(2 * n) * sizeof *y);
    cr_assert_eq(umap_spectral(y, &g, label, 1, &x, 0), 0, "%s", nerve_error());
    /* The naive twin: N = D^-1/2 W D^-1/2 in full, every eigenvector. */
    double *m = calloc((size_t)(n * n), sizeof *m), *w = malloc((size_t)n * sizeof *w), *deg = calloc((size_t)n, sizeof *deg);
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = g.start[i]; e < g.start[i + 1]; e++)
            deg[i] += g.p[e];
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = g.start[i]; e < g.start[i + 1]; e++)
            m[i * n + g.col[e]] = g.p[e] / sqrt(deg[i] * deg[g.col[e]]);
    cr_assert_eq(nerve_linalg_eigh(w, m, n), 0);
    cr_assert(fabs(w[n - 1] - 1) < 1e-9, "largest eigenvalue %g", w[n - 1]);
    for (int c = 0; c < 2; c++) {
        double dot = 0, norm = 0, ref = 0;
        for (int64_t i = 0; i < n; i++) {
            dot += y[2 * i + c] * m[i * n + n - 2 - c];
            norm += y[2 * i + c] * y[2 * i + c];
            ref += m[i * n + n - 2 - c] * m[i * n + n - 2 - c];
        }
        cr_assert_gt(fabs(dot) / sqrt(norm * ref), 0.999, "eigenvector %d: cosine %g (eigenvalues %g %g %g)", c + 1,
                     fabs(dot) / sqrt(norm * ref), w[n - 2], w[n - 3], w[n - 4]);
    }
    free(m);
    free(w);
    free(deg);
    free(y);
    free(label);
    tsne_graph_free(&g);
    nerve_knn_free(&nn);
    nerve_mat_free(&x);
}

/* The fuzzy union is symmetric, its weights in (0, 1], and a pair's weight
 * is a + b - ab of its two directed memberships. */
Test(umap, fuzzy_graph_is_the_fuzzy_union)
{
    nerve_mat x;
    activations(&x, 300);
    nerve_knn nn;
    cr_assert_eq(nerve_knn_exact(&nn, &x, 9, NERVE_METRIC_EUCLIDEAN), 0);
    tsne_graph g;
    cr_assert_eq(umap_fuzzy_graph(&g, &nn, 1000000), 0);   /* so large that nothing is pruned */
    /* The directed memberships, recomputed. */
    int64_t n = nn.n, k = nn.k;
    double *dir = calloc((size_t)(n * n), sizeof *dir), mean = 0;
    for (int64_t e = 0; e < n * k; e++)
        mean += nn.dist[e] / (double)(n * (k + 1));
    for (int64_t i = 0; i < n; i++) {
        double rho, sigma, sum = 0;
        umap_smooth_knn(&rho, &sigma, nn.dist + i * k, k, mean);
        for (int64_t a = 0; a < k; a++) {
            double d = nn.dist[i * k + a] - rho;
            dir[i * n + nn.index[i * k + a]] = d <= 0 ? 1 : exp(-d / sigma);
            sum += d <= 0 ? 1 : exp(-d / sigma);
        }
        cr_assert(fabs(sum - log2((double)(k + 1))) < 1e-3, "point %lld: memberships sum to %g, not log2(k + 1)",
                  (long long)i, sum);
    }
    int64_t pairs = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            pairs += dir[i * n + j] > 0 || dir[j * n + i] > 0;
    cr_assert_eq(g.start[n], pairs);
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = g.start[i]; e < g.start[i + 1]; e++) {
            int64_t j = g.col[e];
            double a = dir[i * n + j], b = dir[j * n + i];
            cr_assert(fabs(g.p[e] - (a + b - a * b)) < 1e-12 && g.p[e] > 0 && g.p[e] <= 1, "(%lld, %lld): %g, want %g",
                      (long long)i, (long long)j, g.p[e], a + b - a * b);
        }
    free(dir);
    tsne_graph_free(&g);
    nerve_knn_free(&nn);
    nerve_mat_free(&x);
}

Test(umap, fast_power_against_powf)
{
    nerve_rng r;
    nerve_rng_seed(&r, 5);
    double worst = 0;
    for (int i = 0; i < 200000; i++) {
        float x = powf(10, (float)(24 * nerve_rng_uniform(&r) - 12)), b = (float)(0.3 + 2 * nerve_rng_uniform(&r));
        double want = powf(x, b);
        if (want > 1e-36 && want < 1e36)
            worst = fmax(worst, fabs(umap_pow(x, b) - want) / want);
    }
    cr_assert_lt(worst, 3e-5, "worst relative error %g", worst);
}

Test(umap, seed_decides_at_any_thread_count)
{
    nerve_mat x;
    activations(&x, 500);
    nerve_umap_options o;
    nerve_umap_defaults(&o);
    o.epochs = 100;
    o.seed = 7;
    nerve_umap a, b, c;
    nerve_threads_init(1);
    cr_assert_eq(nerve_umap_fit(&a, &x, &o, NULL), 0, "%s", nerve_error());
    nerve_threads_init(2);
    cr_assert_eq(nerve_umap_fit(&b, &x, &o, NULL), 0);
    o.seed = 8;
    cr_assert_eq(nerve_umap_fit(&c, &x, &o, NULL), 0);
    cr_assert_eq(memcmp(a.y.data, b.y.data, (size_t)(2 * x.rows) * sizeof *a.y.data), 0);
    cr_assert_neq(memcmp(a.y.data, c.y.data, (size_t)(2 * x.rows) * sizeof *a.y.data), 0);
    nerve_umap_free(&a);
    nerve_umap_free(&b);
    nerve_umap_free(&c);
    nerve_mat_free(&x);
}

/* The descent alone at 1 and 2 threads: the same positions, and they did
 * move. */
Test(umap, descent_is_the_same_at_any_thread_count)
{
    nerve_mat x;
    activations(&x, 500);
    nerve_knn nn;
    cr_assert_eq(nerve_knn_exact(&nn, &x, 14, NERVE_METRIC_EUCLIDEAN), 0);
    tsne_graph g;
    cr_assert_eq(umap_fuzzy_graph(&g, &nn, 100), 0);
    umap_sgd s = { .a = 1.577, .b = 0.895, .gamma = 1, .alpha = 1, .epochs = 100, .negative_rate = 5, .seed = 3 };
    size_t bytes = (size_t)(2 * x.rows) * sizeof(float);
    float *y0 = malloc(bytes), *y1 = malloc(bytes), *y2 = malloc(bytes);
    nerve_rng r;
    nerve_rng_seed(&r, 1);
    for (int64_t i = 0; i < 2 * x.rows; i++)
        y0[i] = y1[i] = y2[i] = (float)(10 * nerve_rng_uniform(&r));
    nerve_threads_init(1);
    cr_assert_eq(umap_optimize(y1, &g, &s, NULL), 0);
    nerve_threads_init(2);
    cr_assert_eq(umap_optimize(y2, &g, &s, NULL), 0);
    cr_assert_eq(memcmp(y1, y2, bytes), 0);
    int64_t moved = 0;   /* and the descent did move the points */
    for (int64_t i = 0; i < 2 * x.rows; i++)
        moved += isfinite(y1[i]) && y1[i] != y0[i];
    cr_assert_eq(moved, 2 * x.rows);
    free(y0);
    free(y1);
    free(y2);
    tsne_graph_free(&g);
    nerve_knn_free(&nn);
    nerve_mat_free(&x);
}

Test(umap, bad_input)
{
    nerve_mat x;
    cr_assert_eq(nerve_mat_alloc(&x, 15, 4), 0);
    for (int64_t i = 0; i < 15 * 4; i++)
        x.data[i] = (float)(i % 7);
    nerve_umap_options o;
    nerve_umap_defaults(&o);
    nerve_umap u;
    cr_assert_eq(nerve_umap_fit(&u, &x, &o, NULL), NERVE_EINPUT);   /* 15 points, 15 neighbours */
    cr_assert(strstr(nerve_error(), "15 points; 15 neighbors need more than 15"), "%s", nerve_error());
    cr_assert_null(u.y.data);
    o.neighbors = 0;
    cr_assert_eq(nerve_umap_fit(&u, &x, &o, NULL), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "neighbors must be at least 2"), "%s", nerve_error());
    o.neighbors = 5;
    x.data[4 * 11 + 2] = NAN;
    cr_assert_eq(nerve_umap_fit(&u, &x, &o, NULL), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "row 11"), "%s", nerve_error());
    x.data[4 * 11 + 2] = 1;
    o.min_dist = 2;
    cr_assert_eq(nerve_umap_fit(&u, &x, &o, NULL), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "min_dist"), "%s", nerve_error());
    o.min_dist = 0.1;
    cr_assert_eq(nerve_umap_fit(&u, &x, &o, NULL), 0, "%s", nerve_error());   /* the same, repaired */
    cr_assert_eq(u.y.rows, 15);
    nerve_umap_free(&u);
    nerve_mat_free(&x);
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "embed", "--method", "umap", "--neighbors", "400", "-o", temp_path("u.npy"),
                                             fixture("embed/points.npy"), NULL },
                           &out, &err),
                 2);
    cr_assert(strstr(err, "400 points; 400 neighbors need more than 400"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "embed", "--method", "umap", "--neighbors", "0", fixture("embed/points.npy"),
                                             NULL },
                           &out, &err),
                 2);
    cr_assert_eq(run_nerve((const char *[]){ "embed", "--method", "umap", "--metric", "manhattan",
                                             fixture("embed/points.npy"), NULL },
                           &out, &err),
                 2);
}

Test(umap, cli_writes_n_by_2_with_its_settings)
{
    const char *out, *err, *path = temp_path("u.npy");
    int status = run_nerve((const char *[]){ "embed", "-q", "--method", "umap", "--neighbors", "10", "--min-dist",
                                             "0.25", "--metric", "cosine", "--epochs", "50", "-o", path,
                                             fixture("embed/points.npy"), NULL },
                           &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    json_error_t jerr;
    json_t *fig = json_loads(out, 0, &jerr);
    cr_assert(fig, "%s: %s", jerr.text, out);
    cr_assert_eq(json_integer_value(json_object_get(fig, "neighbors")), 10);
    cr_assert_float_eq(json_number_value(json_object_get(fig, "min_dist")), 0.25, 1e-12);
    cr_assert_str_eq(json_string_value(json_object_get(fig, "metric")), "cosine");
    cr_assert_eq(json_integer_value(json_object_get(fig, "epochs")), 50);
    json_decref(fig);
    nerve_mat y;
    cr_assert_eq(nerve_mat_read_npy(&y, path), 0);
    cr_assert_eq(y.rows, 400);
    cr_assert_eq(y.cols, 2);
    for (int64_t i = 0; i < 800; i++)
        cr_assert(isfinite(y.data[i]));
    nerve_mat_free(&y);
}

/* A study's every layer through UMAP: DIR/embed/<layer>.umap.npy of N x 2
 * and DIR/embed/index.umap.json recording the settings used. */
Test(umap, study_embeds_every_layer_and_records_its_settings)
{
    const char *study = temp_path("study");
    nerve_extract_options e = fixture_study_options(study, 120);
    cr_assert_eq(nerve_extract(&e), 0, "%s", nerve_error());
    nerve_umap_options o;
    nerve_umap_defaults(&o);
    o.neighbors = 8;
    o.epochs = 30;
    o.seed = 4;
    json_t *figures;
    cr_assert_eq(nerve_study_embed_umap(study, &o, &figures), 0, "%s", nerve_error());
    char path[4200];
    snprintf(path, sizeof path, "%s/embed/index.umap.json", study);
    json_error_t err;
    json_t *index = json_load_file(path, 0, &err), *layer;
    cr_assert(index, "%s", err.text);
    size_t i, layers = json_array_size(json_object_get(index, "layers"));
    cr_assert_gt(layers, 0);
    cr_assert_eq(layers, json_array_size(figures));
    json_array_foreach(json_object_get(index, "layers"), i, layer) {
        cr_assert_eq(json_integer_value(json_object_get(layer, "neighbors")), 8);
        cr_assert_eq(json_integer_value(json_object_get(layer, "epochs")), 30);
        cr_assert_eq(json_integer_value(json_object_get(layer, "seed")), 4);
        cr_assert_str_eq(json_string_value(json_object_get(layer, "metric")), "euclidean");
        snprintf(path, sizeof path, "%s/%s", study, json_string_value(json_object_get(layer, "file")));
        nerve_mat y;
        cr_assert_eq(nerve_mat_read_npy(&y, path), 0, "%s", nerve_error());
        cr_assert_eq(y.rows, 120);
        cr_assert_eq(y.cols, 2);
        nerve_mat_free(&y);
    }
    json_decref(index);
    json_decref(figures);
}
