/*
 * test_ph.c — Vietoris-Rips barcodes equal ripser's (Debian ripser 1.2.1)
 * as multisets in dimensions 0 to 2 on the committed clouds; distance
 * matrices and text formats give the same; bad input exits 2.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"
#include "nerve/study.h"
#include "../../src/ph/ph_internal.h"
#include "../support/support.h"

typedef struct bar {
    double birth, death;
} bar;

static int by_bar(const void *pa, const void *pb)
{
    const bar *a = pa, *b = pb;
    if (a->birth != b->birth)
        return a->birth < b->birth ? -1 : 1;
    return (a->death > b->death) - (a->death < b->death);
}

/* ripser's output: bars of one dimension. */
static int read_ripser(bar *out, int cap, const char *path, int dim)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    char line[256];
    int current = -1, n = 0;
    while (fgets(line, sizeof line, f)) {
        int d;
        if (sscanf(line, "persistence intervals in dim %d:", &d) == 1) {
            current = d;
            continue;
        }
        double b, e;
        if (current != dim)
            continue;
        if (sscanf(line, " [%lf,%lf)", &b, &e) == 2)
            out[n++] = (bar){ b, e };
        else if (sscanf(line, " [%lf, )", &b) == 1)
            out[n++] = (bar){ b, INFINITY };
        cr_assert_lt(n, cap);
    }
    fclose(f);
    return n;
}

static int close_enough(double a, double b)
{
    if (isinf(a) || isinf(b))
        return isinf(a) && isinf(b);
    return fabs(a - b) <= 1e-5 * fmax(1, fabs(b));
}

static void assert_same_bars(const nerve_diagram *d, const char *ripser_out, int dim, const char *name)
{
    static bar want[4096], got[4096];
    int n = read_ripser(want, 4096, ripser_out, dim);
    cr_assert_eq(d->n, n, "%s dim %d: %lld bars, ripser %d", name, dim, (long long)d->n, n);
    for (int64_t i = 0; i < d->n; i++)
        got[i] = (bar){ d->birth[i], d->death[i] };
    qsort(want, (size_t)n, sizeof *want, by_bar);
    qsort(got, (size_t)n, sizeof *got, by_bar);
    for (int i = 0; i < n; i++)
        cr_assert(close_enough(got[i].birth, want[i].birth) && close_enough(got[i].death, want[i].death),
                  "%s dim %d bar %d: [%g, %g), ripser [%g, %g)", name, dim, i, got[i].birth, got[i].death,
                  want[i].birth, want[i].death);
}

/* nerve's bars of fixture cloud ph/NAME.npy in dims 0..max_dim against
 * ripser's in ph/NAME.ripser.txt; the top dimension's bar count returned. */
static int64_t assert_ripsers_bars(const char *name, int max_dim)
{
    char rel[128], ref[4200];
    snprintf(rel, sizeof rel, "ph/%s.npy", name);
    nerve_mat x;
    cr_assert_eq(nerve_mat_read_npy(&x, fixture(rel)), 0, "%s", nerve_error());
    snprintf(rel, sizeof rel, "ph/%s.ripser.txt", name);
    snprintf(ref, sizeof ref, "%s", fixture(rel));
    nerve_ph_options o;
    nerve_ph_defaults(&o);
    o.max_dim = max_dim;
    nerve_ph ph;
    cr_assert_eq(nerve_ph_points(&ph, &x, &o), 0, "%s", nerve_error());
    for (int d = 0; d <= max_dim; d++)
        assert_same_bars(&ph.dgm[d], ref, d, name);
    int64_t top = ph.dgm[max_dim].n;
    nerve_ph_free(&ph);
    nerve_mat_free(&x);
    return top;
}

Test(ph, barcodes_equal_ripser)
{
    const char *clouds[] = { "circle", "cube", "sphere", "torus", "blobs", "acts" };
    for (int c = 0; c < 6; c++)
        assert_ripsers_bars(clouds[c], 2);
}

Test(ph, ties_of_a_lattice_give_ripsers_bars_up_to_dimension_3)
{
    cr_assert_gt(assert_ripsers_bars("lattice", 3), 0, "the lattice's cubes leave voids");
}

Test(ph, a_circle_has_one_long_loop_and_a_threshold_cuts)
{
    nerve_mat x;
    cr_assert_eq(nerve_mat_read_npy(&x, fixture("ph/circle.npy")), 0);
    nerve_ph_options o;
    nerve_ph_defaults(&o);
    nerve_ph ph;
    cr_assert_eq(nerve_ph_points(&ph, &x, &o), 0);
    int long_loops = 0, essential = 0;
    for (int64_t i = 0; i < ph.dgm[1].n; i++)
        long_loops += ph.dgm[1].death[i] - ph.dgm[1].birth[i] > 1;
    for (int64_t i = 0; i < ph.dgm[0].n; i++)
        essential += isinf(ph.dgm[0].death[i]);
    cr_assert_eq(long_loops, 1);
    cr_assert_eq(essential, 1);
    nerve_ph_free(&ph);
    /* Below the loop's death, the loop never dies. */
    o.threshold = 1.0;
    cr_assert_eq(nerve_ph_points(&ph, &x, &o), 0);
    int open = 0;
    for (int64_t i = 0; i < ph.dgm[1].n; i++)
        open += isinf(ph.dgm[1].death[i]);
    cr_assert_eq(open, 1);
    nerve_ph_free(&ph);
    nerve_mat_free(&x);
}

Test(ph, maxmin_landmarks_spread_out_and_are_seeded)
{
    nerve_mat x, a, b;
    cr_assert_eq(nerve_mat_read_npy(&x, fixture("ph/torus.npy")), 0);
    int64_t pa[20], pb[20];
    cr_assert_eq(nerve_ph_subsample(&a, pa, &x, 20, NERVE_SUBSAMPLE_MAXMIN, NERVE_METRIC_EUCLIDEAN, 7), 0);
    cr_assert_eq(nerve_ph_subsample(&b, pb, &x, 20, NERVE_SUBSAMPLE_MAXMIN, NERVE_METRIC_EUCLIDEAN, 7), 0);
    cr_assert_eq(memcmp(pa, pb, sizeof pa), 0);
    for (int i = 0; i < 20; i++)
        for (int j = 0; j < i; j++)
            cr_assert_neq(pa[i], pa[j], "landmark %d repeats %d", i, j);
    nerve_mat_free(&a);
    nerve_mat_free(&b);
    nerve_mat_free(&x);
}

static void expect_refusal(const char **args, const char *needle)
{
    const char *out, *err;
    int status = run_nerve(args, &out, &err);
    cr_assert_eq(status, 2, "status %d for '%s': %s", status, needle, err);
    cr_assert(strstr(err, needle), "wanted '%s' in: %s", needle, err);
}

static void write_matrix(const char *path, int64_t rows, int64_t cols, const float *v)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_alloc(&m, rows, cols), 0);
    memcpy(m.data, v, (size_t)(rows * cols) * sizeof *v);
    cr_assert_eq(nerve_mat_write_npy(path, &m), 0);
    nerve_mat_free(&m);
}

Test(ph_cli, text_formats_and_bad_input)
{
    /* The same circle as text (ripser's point-cloud format) and as a
     * lower-distance file: ripser's text output, bar for bar. */
    nerve_mat x;
    cr_assert_eq(nerve_mat_read_npy(&x, fixture("ph/circle.npy")), 0);
    char txt[4200], low[4200];
    snprintf(txt, sizeof txt, "%s", temp_path("circle.txt"));
    snprintf(low, sizeof low, "%s", temp_path("circle.ld"));
    FILE *f = fopen(txt, "w"), *g = fopen(low, "w");
    for (int64_t i = 0; i < x.rows; i++) {
        fprintf(f, "%.9g,%.9g\n", x.data[2 * i], x.data[2 * i + 1]);
        for (int64_t j = 0; j < i; j++)
            fprintf(g, "%s%.17g", j ? "," : "",
                    (double)nerve_knn_distance_float(x.data + 2 * i, x.data + 2 * j, 2, NERVE_METRIC_EUCLIDEAN));
        if (i)
            fprintf(g, "\n");
    }
    fclose(f);
    fclose(g);
    nerve_mat_free(&x);
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "ph", "--text", "--format", "point-cloud", "--dim", "2", txt, NULL }, &out,
                           &err),
                 0, "%s", err);
    cr_assert(strstr(out, "persistence intervals in dim 2:"), "%s", out);
    char from_points[65536];
    snprintf(from_points, sizeof from_points, "%s", out);
    cr_assert_eq(run_nerve((const char *[]){ "ph", "--text", "--dim", "2", low, NULL }, &out, &err), 0, "%s", err);
    cr_assert_str_eq(out, from_points);

    float asym[9] = { 0, 1, 2, 1, 0, 3, 2, 4, 0 }, neg[9] = { 0, -1, 2, -1, 0, 3, 2, 3, 0 };
    float nan_cloud[6] = { 0, 0, 1, NAN, 2, 2 }, one[2] = { 1, 2 };
    char a[4200], n[4200], c[4200], o1[4200];
    snprintf(a, sizeof a, "%s", temp_path("asym.npy"));
    snprintf(n, sizeof n, "%s", temp_path("neg.npy"));
    snprintf(c, sizeof c, "%s", temp_path("nan.npy"));
    snprintf(o1, sizeof o1, "%s", temp_path("one.npy"));
    write_matrix(a, 3, 3, asym);
    write_matrix(n, 3, 3, neg);
    write_matrix(c, 3, 2, nan_cloud);
    write_matrix(o1, 1, 2, one);
    expect_refusal((const char *[]){ "ph", "--format", "npy-distance", a, NULL }, "not symmetric");
    expect_refusal((const char *[]){ "ph", "--format", "npy-distance", n, NULL }, "negative");
    expect_refusal((const char *[]){ "ph", "--format", "npy-distance", c, NULL }, "must be square");
    expect_refusal((const char *[]){ "ph", c, NULL }, "row 1, column 1");
    expect_refusal((const char *[]){ "ph", o1, NULL }, "at least 2");
    expect_refusal((const char *[]){ "ph", "--dim", "4", c, NULL }, "--dim");
    expect_refusal((const char *[]){ "ph", "--threshold", "0", c, NULL }, "--threshold");
}

#include <jansson.h>

static void diagram_of(nerve_diagram *d, json_t *pairs)
{
    d->n = (int64_t)json_array_size(pairs);
    d->birth = malloc((size_t)(d->n + 1) * sizeof *d->birth);
    d->death = malloc((size_t)(d->n + 1) * sizeof *d->death);
    for (int64_t i = 0; i < d->n; i++) {
        json_t *p = json_array_get(pairs, (size_t)i);
        d->birth[i] = json_number_value(json_array_get(p, 0));
        json_t *death = json_array_get(p, 1);
        d->death[i] = json_is_null(death) ? INFINITY : json_number_value(death);
    }
}

static void assert_distance(double got, json_t *want, const char *what, size_t k)
{
    if (json_is_null(want)) {
        cr_assert(isinf(got), "case %zu %s: %g, gudhi infinite", k, what, got);
        return;
    }
    double w = json_number_value(want);
    cr_assert(fabs(got - w) <= 1e-6 * fmax(1, fabs(w)), "case %zu %s: %.12g, gudhi %.12g", k, what, got, w);
}

Test(ph, diagram_distances_equal_gudhi)
{
    json_error_t err;
    json_t *cases = json_load_file(fixture("ph/distances.json"), 0, &err);
    cr_assert(cases, "%s", err.text);
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *c = json_array_get(cases, k);
        nerve_diagram a, b;
        diagram_of(&a, json_object_get(c, "a"));
        diagram_of(&b, json_object_get(c, "b"));
        double bn, w1, w2;
        cr_assert_eq(nerve_diagram_bottleneck(&bn, &a, &b), 0, "%s", nerve_error());
        cr_assert_eq(nerve_diagram_wasserstein(&w1, &a, &b, 1), 0, "%s", nerve_error());
        cr_assert_eq(nerve_diagram_wasserstein(&w2, &a, &b, 2), 0, "%s", nerve_error());
        assert_distance(bn, json_object_get(c, "bottleneck"), "bottleneck", k);
        assert_distance(w1, json_object_get(c, "wasserstein1"), "wasserstein q=1", k);
        assert_distance(w2, json_object_get(c, "wasserstein2"), "wasserstein q=2", k);
        double sw;
        cr_assert_eq(nerve_diagram_sliced_wasserstein(&sw, &a, &b, 10), 0);
        assert_distance(sw, json_object_get(c, "sliced10"), "sliced wasserstein", k);
        free(a.birth), free(a.death), free(b.birth), free(b.death);
    }
    json_decref(cases);
}

/* n random points: births on a coarse grid (ties, and all zero like H0's
 * when zero_births), persistences exponential, a few exact duplicates. */
static void random_points(ph_point *p, int64_t n, nerve_rng *r, int zero_births)
{
    for (int64_t i = 0; i < n; i++) {
        double b = zero_births ? 0 : (double)nerve_rng_below(r, 8) / 8;
        p[i] = (ph_point){ b, b + 0.05 + -0.3 * log(1 - nerve_rng_uniform(r)) };
        if (i > 0 && nerve_rng_below(r, 6) == 0)
            p[i] = p[nerve_rng_below(r, (uint64_t)i)];
    }
}

Test(ph, fast_bottleneck_equals_its_naive_twin)
{
    nerve_rng r;
    nerve_rng_seed(&r, 7);
    ph_point a[40], b[40];
    for (int trial = 0; trial < 300; trial++) {
        int64_t n1 = (int64_t)nerve_rng_below(&r, 40), n2 = (int64_t)nerve_rng_below(&r, 40);
        int zero = trial % 3 == 0;
        random_points(a, n1, &r, zero);
        random_points(b, n2, &r, zero);
        if (trial % 10 == 1)   /* equal diagrams: distance 0 */
            memcpy(b, a, (size_t)(n2 = n1) * sizeof *a);
        double fast, naive;
        cr_assert_eq(ph_bottleneck_finite(&fast, a, n1, b, n2), 0);
        cr_assert_eq(ph_bottleneck_naive(&naive, a, n1, b, n2), 0);
        cr_assert_eq(fast, naive, "trial %d (%lld vs %lld points): fast %.17g, naive %.17g", trial, (long long)n1,
                     (long long)n2, fast, naive);
    }
}

Test(ph, auction_wasserstein_is_within_its_bound_of_the_exact_one)
{
    nerve_rng r;
    nerve_rng_seed(&r, 11);
    int64_t n = 300;
    double ba[300], da[300], bb[300], db[300];
    ph_point pa[300], pb[300];
    for (int trial = 0; trial < 6; trial++) {
        random_points(pa, n, &r, trial % 2);
        random_points(pb, n - 40 * trial, &r, trial % 2);
        for (int64_t i = 0; i < n; i++) {
            ba[i] = pa[i].b, da[i] = pa[i].d;
            bb[i] = pb[i].b, db[i] = pb[i].d;
        }
        nerve_diagram a = { n, ba, da }, b = { n - 40 * trial, bb, db };
        for (double q = 1; q <= 2; q++) {
            double exact, approx, fine;
            cr_assert_eq(nerve_diagram_wasserstein(&exact, &a, &b, q), 0);
            cr_assert_eq(nerve_diagram_wasserstein_within(&approx, &a, &b, q, 0.01), 0);
            cr_assert_eq(nerve_diagram_wasserstein_within(&fine, &a, &b, q, 1e-6), 0);
            cr_assert(approx >= exact * (1 - 1e-12) && approx <= exact * 1.01, "trial %d q %g: %.12g vs exact %.12g",
                      trial, q, approx, exact);
            cr_assert(fabs(fine - exact) <= 1e-6 * exact, "trial %d q %g: %.12g vs exact %.12g", trial, q, fine, exact);
        }
    }
}

Test(ph, auction_ends_on_equal_diagrams_and_repeated_points)
{
    /* Every point ties with its copy: prices rise by eps alone, which must
     * stay above their rounding (this used to bid forever). A diagram and
     * its reordered copy are 0 apart exactly; with one point moved by h,
     * at most h^q apart (plus the auction's floor). */
    nerve_rng r;
    nerve_rng_seed(&r, 12);
    ph_point p[600];
    double birth[600], death[600], birth2[600], death2[600];
    for (int zero_births = 0; zero_births < 2; zero_births++) {
        random_points(p, 600, &r, zero_births);
        for (int i = 0; i < 600; i++) {
            birth[i] = birth2[599 - i] = p[i].b;
            death[i] = death2[599 - i] = p[i].d;
        }
        nerve_diagram a = { 600, birth, death }, reordered = { 600, birth2, death2 };
        for (double q = 1; q <= 2; q++) {
            double w;
            cr_assert_eq(nerve_diagram_wasserstein_within(&w, &a, &reordered, q, 0.001), 0);
            cr_assert_eq(w, 0, "q %g: %.17g between a diagram and itself", q, w);
            death2[0] += 1e-3;
            cr_assert_eq(nerve_diagram_wasserstein_within(&w, &a, &reordered, q, 0.001), 0);
            cr_assert(w > 0 && w <= 1e-3 * (1 + 1e-3), "q %g: %.17g with one point moved by 1e-3", q, w);
            death2[0] -= 1e-3;
        }
    }
}

Test(ph, bad_diagrams)
{
    double birth[2] = { 0.5, 0.2 }, death[2] = { 0.4, 0.9 };
    nerve_diagram d = { 2, birth, death };
    cr_assert_eq(nerve_diagram_check(&d, "d.json"), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "dies (0.4) before it is born (0.5)"), "%s", nerve_error());
    double q;
    cr_assert_eq(nerve_diagram_wasserstein(&q, &d, &d, 0.5), NERVE_EINPUT);
}

Test(ph_cli, ph_distance_of_two_runs)
{
    char a[4200], b[4200], bad[4200];
    snprintf(a, sizeof a, "%s", temp_path("a.json"));
    snprintf(b, sizeof b, "%s", temp_path("b.json"));
    snprintf(bad, sizeof bad, "%s", temp_path("bad.json"));
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "ph", "-q", "-o", a, fixture("ph/circle.npy"), NULL }, &out, &err), 0, "%s",
                 err);
    cr_assert_eq(run_nerve((const char *[]){ "ph", "-q", "-o", b, fixture("ph/torus.npy"), NULL }, &out, &err), 0, "%s",
                 err);
    cr_assert_eq(run_nerve((const char *[]){ "ph-distance", "--order", "2", a, b, NULL }, &out, &err), 0, "%s", err);
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    cr_assert(j, "%s", out);
    json_t *dims = json_object_get(j, "distances");
    cr_assert_eq(json_array_size(dims), 2);
    /* dim 0: both clouds are connected, one essential class each: finite. */
    cr_assert(json_is_real(json_object_get(json_array_get(dims, 0), "bottleneck")), "%s", out);
    json_decref(j);
    write_bytes(bad, "[[0.5, 0.2]]", 12);
    expect_refusal((const char *[]){ "ph-distance", a, bad, NULL }, "before it is born");
    expect_refusal((const char *[]){ "ph-distance", "--order", "0.5", a, b, NULL }, "--order");
}

static void assert_close_array(const double *got, json_t *want, int64_t n, double tol, const char *what)
{
    cr_assert_eq((int64_t)json_array_size(want), n, "%s: %zu values, nerve %lld", what, json_array_size(want),
                 (long long)n);
    for (int64_t i = 0; i < n; i++) {
        double w = json_number_value(json_array_get(want, (size_t)i));
        cr_assert(fabs(got[i] - w) <= tol * fmax(1, fabs(w)), "%s [%lld]: %.10g, gudhi %.10g", what, (long long)i,
                  got[i], w);
    }
}

Test(ph, vectorisations_equal_gudhi_representations)
{
    json_error_t err;
    json_t *v = json_load_file(fixture("ph/vectors.json"), 0, &err);
    cr_assert(v, "%s", err.text);
    nerve_diagram g;
    diagram_of(&g, json_object_get(v, "diagram"));
    double betti[30], land[90], image[64];
    nerve_diagram_betti(betti, &g, 0, 2, 30);
    assert_close_array(betti, json_object_get(v, "betti"), 30, 0, "Betti curve");
    cr_assert_eq(nerve_diagram_landscape(land, &g, 3, 0, 2, 30), 0);
    assert_close_array(land, json_object_get(v, "landscape"), 90, 1e-9, "landscapes");
    nerve_diagram_image(image, &g, 0.2, 0, 1, 0, 1, 8);
    assert_close_array(image, json_object_get(v, "image"), 64, 1e-9, "persistence image");
    cr_assert_float_eq(nerve_diagram_entropy(&g), json_number_value(json_object_get(v, "entropy")), 1e-12);
    cr_assert_float_eq(nerve_diagram_total_persistence(&g, 1),
                       json_number_value(json_object_get(v, "total_persistence")), 1e-12);
    free(g.birth), free(g.death);
    json_decref(v);
}

/* A study's layers: one diagram file per layer, scaled by its diameter (so
 * every H0 death is at most 1), and L x L distance matrices that are
 * symmetric, zero on the diagonal, and agree with nerve ph-distance on the
 * written diagrams. */
Test(ph_cli, study_layers_and_distance_matrices)
{
    const char *dir = temp_path("ph_study");
    nerve_extract_options o = fixture_study_options(dir, 300);
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "ph", "-q", "--study", dir, "-n", "150", NULL }, &out, &err), 0, "%s",
                 err);
    char path[4200];
    snprintf(path, sizeof path, "%s/ph/index.json", dir);
    json_error_t e;
    json_t *index = json_load_file(path, 0, &e);
    cr_assert(index, "%s", e.text);
    json_t *layers = json_object_get(index, "layers");
    int64_t n = (int64_t)json_array_size(layers);
    cr_assert_gt(n, 2);
    char first[4200], second[4200];
    snprintf(first, sizeof first, "%s/%s", dir, json_string_value(json_object_get(json_array_get(layers, 0), "diagrams")));
    snprintf(second, sizeof second, "%s/%s", dir,
             json_string_value(json_object_get(json_array_get(layers, 1), "diagrams")));
    json_t *d0 = json_load_file(first, 0, &e);
    cr_assert(d0, "%s", e.text);
    json_t *pairs = json_object_get(json_array_get(json_object_get(d0, "diagrams"), 0), "pairs");
    cr_assert_eq(json_array_size(pairs), 150);
    for (size_t i = 0; i < json_array_size(pairs); i++) {
        json_t *death = json_array_get(json_array_get(pairs, i), 1);
        cr_assert(json_is_null(death) || json_real_value(death) <= 1 + 1e-6);
    }
    json_decref(d0);
    json_t *files = json_object_get(json_object_get(index, "distances"), "bottleneck");
    cr_assert_eq(json_array_size(files), 2);   /* dims 0 and 1 */
    snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_array_get(files, 1)));
    nerve_mat m;
    cr_assert_eq(nerve_mat_read_npy(&m, path), 0, "%s", nerve_error());
    cr_assert(m.rows == n && m.cols == n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            cr_assert_eq(m.data[i * n + j], m.data[j * n + i]);
            cr_assert(i == j ? m.data[i * n + j] == 0 : m.data[i * n + j] >= 0);
        }
    cr_assert_eq(run_nerve((const char *[]){ "ph-distance", "-m", "bottleneck", "-d", "1", first, second, NULL },
                           &out, &err),
                 0, "%s", err);
    json_t *r = json_loads(out, 0, &e);
    cr_assert(r, "%s", out);
    double want = json_real_value(json_object_get(json_array_get(json_object_get(r, "distances"), 0), "bottleneck"));
    cr_assert(fabs(m.data[1 * n + 0] - want) <= 1e-6 * (1 + want), "%g vs %g", m.data[n], want);
    json_decref(r);
    nerve_mat_free(&m);
    json_decref(index);
    cr_assert_eq(run_nerve((const char *[]){ "ph", "--study", dir, "--scale", "huge", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "unknown --scale 'huge'"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "ph", "--study", dir, "points.npy", NULL }, &out, &err), 2);
}

/* Exact duplicates add only zero-length H0 bars: a cloud with many of them
 * has the barcodes of its distinct points (and takes as little time: the
 * ties once made this 600-point cloud take minutes). */
Test(ph, duplicate_points_change_nothing, .timeout = 20)
{
    nerve_rng r;
    nerve_rng_seed(&r, 5);
    nerve_mat distinct, with_dups;
    cr_assert_eq(nerve_mat_alloc(&distinct, 400, 8), 0);
    cr_assert_eq(nerve_mat_alloc(&with_dups, 600, 8), 0);
    for (int64_t i = 0; i < 400 * 8; i++)   /* ReLU-like: many exact zeros */
        distinct.data[i] = (float)fmax(0, nerve_rng_normal(&r));
    for (int64_t i = 0; i < 600; i++) {
        int64_t src = i < 400 ? i : (int64_t)nerve_rng_below(&r, 400);
        memcpy(with_dups.data + i * 8, distinct.data + src * 8, 8 * sizeof(float));
    }
    nerve_ph_options o;
    nerve_ph_defaults(&o);
    nerve_ph a, b;
    cr_assert_eq(nerve_ph_points(&a, &distinct, &o), 0, "%s", nerve_error());
    cr_assert_eq(nerve_ph_points(&b, &with_dups, &o), 0, "%s", nerve_error());
    cr_assert_eq(b.points, 600);
    for (int d = 0; d <= 1; d++) {
        cr_assert_eq(a.dgm[d].n, b.dgm[d].n, "dim %d: %lld vs %lld bars", d, (long long)a.dgm[d].n,
                     (long long)b.dgm[d].n);
        for (int64_t i = 0; i < a.dgm[d].n; i++)
            cr_assert(a.dgm[d].birth[i] == b.dgm[d].birth[i] && a.dgm[d].death[i] == b.dgm[d].death[i]);
    }
    nerve_ph_free(&a);
    nerve_ph_free(&b);
    /* All the same point: one class that never dies. */
    memset(with_dups.data, 0, 600 * 8 * sizeof(float));
    cr_assert_eq(nerve_ph_points(&b, &with_dups, &o), 0, "%s", nerve_error());
    cr_assert(b.dgm[0].n == 1 && isinf(b.dgm[0].death[0]) && b.dgm[1].n == 0);
    nerve_ph_free(&b);
    nerve_mat_free(&distinct);
    nerve_mat_free(&with_dups);
}
