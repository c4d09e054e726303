/*
 * test_mapper.c — Mapper graphs equal KeplerMapper 2.1's (with
 * scikit-learn's DBSCAN) on synthetic shapes and real activations; the
 * cover follows KeplerMapper's and giotto-tda's arithmetic; the figures,
 * exports and links hold; bad input is refused with exit status 2.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nerve/mapper.h"
#include "nerve/study.h"
#include "../support/support.h"

static void read_points(nerve_mat *x, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "mapper/%s.points.npy", name);
    cr_assert_eq(nerve_mat_read_npy(x, fixture(rel)), 0, "%s", nerve_error());
}

/* Builds the case's graph with KeplerMapper's parameters and nerve's
 * exact DBSCAN; returns the reference JSON (caller frees). */
static json_t *build_case(nerve_mapper_graph *g, const char *name)
{
    char rel[256], spec[4200];
    snprintf(rel, sizeof rel, "mapper/%s.kmapper.json", name);
    json_error_t err;
    json_t *ref = json_load_file(fixture(rel), 0, &err);
    cr_assert(ref, "%s: %s", rel, err.text);
    json_t *params = json_object_get(ref, "params");
    nerve_mapper_params p;
    nerve_mapper_defaults(&p);
    p.intervals = json_integer_value(json_object_get(params, "intervals"));
    p.overlap = json_real_value(json_object_get(params, "overlap"));
    p.eps = json_number_value(json_object_get(params, "eps"));
    p.min_samples = json_integer_value(json_object_get(params, "min_samples"));
    p.neighbours = NERVE_NEIGHBOURS_EXACT;
    cr_assert_eq(nerve_metric_parse(json_string_value(json_object_get(params, "metric")), &p.metric), 0);
    nerve_mat x;
    nerve_lens lens;
    read_points(&x, name);
    snprintf(rel, sizeof rel, "mapper/%s.lens.npy", name);
    snprintf(spec, sizeof spec, "npy:%s", fixture(rel));
    cr_assert_eq(nerve_lens_compute(&lens, spec, &x, NULL), 0, "%s", nerve_error());
    cr_assert_eq(nerve_mapper_build(g, &x, &lens, &p, NULL), 0, "%s", nerve_error());
    nerve_lens_free(&lens);
    nerve_mat_free(&x);
    return ref;
}

static int64_t node_named(const nerve_mapper_graph *g, const char *id)
{
    for (int64_t v = 0; v < g->n_nodes; v++) {
        char name[64];
        snprintf(name, sizeof name, "cube%lld_cluster%lld", (long long)g->node_element[v],
                 (long long)g->node_cluster[v]);
        if (strcmp(name, id) == 0)
            return v;
    }
    return -1;
}

static void assert_same_graph(const char *name)
{
    nerve_mapper_graph g;
    json_t *ref = build_case(&g, name);
    json_t *nodes = json_object_get(ref, "nodes"), *edges = json_object_get(ref, "edges");
    cr_assert_eq(g.n_nodes, (int64_t)json_object_size(nodes), "%s: %lld nodes, KeplerMapper %zu", name,
                 (long long)g.n_nodes, json_object_size(nodes));
    const char *id;
    json_t *members;
    json_object_foreach(nodes, id, members) {
        int64_t v = node_named(&g, id);
        cr_assert(v >= 0, "%s: KeplerMapper's node %s is missing", name, id);
        cr_assert_eq(g.member_start[v + 1] - g.member_start[v], (int64_t)json_array_size(members), "%s: %s size",
                     name, id);
        for (size_t i = 0; i < json_array_size(members); i++)
            cr_assert_eq(g.members[g.member_start[v] + (int64_t)i], json_integer_value(json_array_get(members, i)),
                         "%s: %s member %zu", name, id, i);
    }
    cr_assert_eq(g.n_edges, (int64_t)json_array_size(edges), "%s: %lld edges, KeplerMapper %zu", name,
                 (long long)g.n_edges, json_array_size(edges));
    for (size_t e = 0; e < json_array_size(edges); e++) {
        int64_t a = node_named(&g, json_string_value(json_array_get(json_array_get(edges, e), 0)));
        int64_t b = node_named(&g, json_string_value(json_array_get(json_array_get(edges, e), 1)));
        int found = 0;
        for (int64_t k = 0; k < g.n_edges && !found; k++)
            found = g.edges[k].a == (a < b ? a : b) && g.edges[k].b == (a < b ? b : a);
        cr_assert(found, "%s: KeplerMapper's edge %zu is missing", name, e);
    }
    json_decref(ref);
    nerve_mapper_graph_free(&g);
}

Test(mapper, equals_keplermapper_on_shapes)
{
    const char *cases[] = { "circle", "eight", "two_circles", "y", "blobs" };
    for (int i = 0; i < 5; i++)
        assert_same_graph(cases[i]);
}

Test(mapper, equals_keplermapper_on_activations)
{
    assert_same_graph("acts");
    assert_same_graph("acts_cosine");
}

Test(mapper, loops_of_a_circle_and_a_figure_eight)
{
    nerve_mapper_graph g;
    json_decref(build_case(&g, "circle"));
    cr_assert_eq(g.loops, 1);
    cr_assert_eq(g.components, 1);
    cr_assert_eq(g.n_cycles, 1);
    /* The cycle basis lists a closed walk: consecutive nodes are joined. */
    int64_t len = g.cycle_start[1] - g.cycle_start[0];
    cr_assert_geq(len, 3);
    nerve_mapper_graph_free(&g);
    json_decref(build_case(&g, "eight"));
    cr_assert_eq(g.loops, 2);
    cr_assert_eq(g.n_cycles, 2);
    nerve_mapper_graph_free(&g);
}

static void lens_of(nerve_lens *l, const double *v, int64_t n)
{
    memset(l, 0, sizeof *l);
    l->n = n;
    l->dims = 1;
    l->values = malloc((size_t)n * sizeof *l->values);
    memcpy(l->values, v, (size_t)n * sizeof *v);
}

Test(mapper, kmapper_cover_is_closed_and_spans_the_range)
{
    /* range 10, n = 2, p = 0.5: radius 10 / (2 * 2 * 0.5) = 5, centres 2.5
     * and 7.5: [-2.5, 7.5] and [2.5, 12.5], closed. */
    double v[] = { 0, 2.5, 5, 7.5, 10 };
    nerve_lens l;
    lens_of(&l, v, 5);
    nerve_cover c;
    cr_assert_eq(nerve_cover_build(&c, &l, NERVE_COVER_KMAPPER, 2, 0.5), 0, "%s", nerve_error());
    cr_assert_eq(c.n_elements, 2);
    cr_assert_eq(c.start[1] - c.start[0], 4);   /* 0, 2.5, 5, 7.5 */
    cr_assert_eq(c.start[2] - c.start[1], 4);   /* 2.5, 5, 7.5, 10 */
    nerve_cover_free(&c);
    /* giotto: length 10 / (2 * 0.5 + 0.5) = 6.67, open, outer ends
     * unbounded: (-inf, 6.67) and (3.33, inf). */
    cr_assert_eq(nerve_cover_build(&c, &l, NERVE_COVER_GIOTTO, 2, 0.5), 0);
    cr_assert_eq(c.start[1] - c.start[0], 3);
    cr_assert_eq(c.start[2] - c.start[1], 3);
    nerve_cover_free(&c);
    /* A constant lens is one interval, not a division by zero. */
    double flat[] = { 3, 3, 3 };
    nerve_lens_free(&l);
    lens_of(&l, flat, 3);
    cr_assert_eq(nerve_cover_build(&c, &l, NERVE_COVER_KMAPPER, 10, 0.3), 0);
    cr_assert_eq(c.n_elements, 1);
    cr_assert_eq(c.start[1], 3);
    nerve_cover_free(&c);
    nerve_lens_free(&l);
}

Test(mapper, balanced_cover_holds_equal_counts)
{
    double v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = exp(i / 100.0);   /* very uneven spacing */
    nerve_lens l;
    lens_of(&l, v, 1000);
    nerve_cover c;
    cr_assert_eq(nerve_cover_build(&c, &l, NERVE_COVER_BALANCED, 10, 0), 0);
    cr_assert_eq(c.n_elements, 10);
    for (int64_t e = 0; e < 10; e++)
        cr_assert(c.start[e + 1] - c.start[e] >= 99 && c.start[e + 1] - c.start[e] <= 101);
    nerve_cover_free(&c);
    nerve_lens_free(&l);
}

/* Two far-apart blobs of 2-D points. */
static void two_blobs(nerve_mat *x, int64_t n)
{
    cr_assert_eq(nerve_mat_alloc(x, n, 2), 0);
    nerve_rng r;
    nerve_rng_seed(&r, 5);
    for (int64_t i = 0; i < n; i++) {
        x->data[2 * i] = (float)(nerve_rng_normal(&r) * 0.1 + (i % 2 ? 10 : 0));
        x->data[2 * i + 1] = (float)(nerve_rng_normal(&r) * 0.1);
    }
}

Test(mapper, single_linkage_splits_two_blobs)
{
    nerve_mat x;
    two_blobs(&x, 200);
    nerve_lens lens;
    cr_assert_eq(nerve_lens_compute(&lens, "coord:1", &x, NULL), 0, "%s", nerve_error());
    nerve_mapper_params p;
    nerve_mapper_defaults(&p);
    p.intervals = 1;
    for (int kind = 0; kind < 2; kind++) {
        p.cluster = kind ? NERVE_CLUSTER_LINKAGE : NERVE_CLUSTER_LINKAGE_GAP;
        p.distance = 2;
        nerve_mapper_graph g;
        cr_assert_eq(nerve_mapper_build(&g, &x, &lens, &p, NULL), 0, "%s", nerve_error());
        cr_assert_eq(g.n_nodes, 2, "%s: %lld nodes", nerve_cluster_name(p.cluster), (long long)g.n_nodes);
        cr_assert_eq(g.member_start[1], 100);
        nerve_mapper_graph_free(&g);
    }
    nerve_lens_free(&lens);
    nerve_mat_free(&x);
}

Test(mapper, node_figures_and_links_between_graphs)
{
    nerve_mat x;
    two_blobs(&x, 200);
    int64_t labels[200], predictions[200];
    for (int i = 0; i < 200; i++) {
        labels[i] = i % 2;
        predictions[i] = i < 20 ? 1 - i % 2 : i % 2;   /* the first 20 wrong */
    }
    nerve_mapper_meta meta = { .labels = labels, .predictions = predictions };
    nerve_lens lens;
    cr_assert_eq(nerve_lens_compute(&lens, "coord:0,meta:label", &x, &meta), 0, "%s", nerve_error());
    cr_assert_eq(lens.dims, 2);
    nerve_mapper_params p;
    nerve_mapper_defaults(&p);
    p.intervals = 2;
    p.eps = 1;
    nerve_mapper_graph g;
    cr_assert_eq(nerve_mapper_build(&g, &x, &lens, &p, &meta), 0, "%s", nerve_error());
    cr_assert_eq(g.n_nodes, 2);
    for (int64_t v = 0; v < 2; v++) {
        cr_assert_eq(g.purity[v], 1.0);
        cr_assert_float_eq(g.misclassified[v], 0.1, 1e-12);
        cr_assert_eq(g.label_counts[v * g.n_classes + g.dominant[v]], 100);
    }
    nerve_mapper_links links;
    cr_assert_eq(nerve_mapper_links_between(&links, &g, &g), 0);
    cr_assert_eq(links.n, 2);   /* each node with itself */
    cr_assert_eq(links.shared[0], 100);
    nerve_mapper_links_free(&links);
    nerve_mapper_graph_free(&g);
    nerve_lens_free(&lens);
    nerve_mat_free(&x);
}

Test(mapper, automatic_eps_is_at_the_knee)
{
    nerve_mat x;
    two_blobs(&x, 400);
    double eps;
    cr_assert_eq(nerve_mapper_auto_eps(&eps, &x, 5, NERVE_METRIC_EUCLIDEAN, 0), 0, "%s", nerve_error());
    /* Within-blob neighbour distances (sd 0.1), far below the gap of 10. */
    cr_assert(eps > 0.01 && eps < 0.5, "eps %g", eps);
    nerve_mat_free(&x);
}

/* ---- the command line --------------------------------------------------- */

static void mapper_case_args(const char **args, const char *name, char *lens, char *points)
{
    char rel[256];
    snprintf(rel, 256, "mapper/%s.lens.npy", name);
    snprintf(lens, 4200, "npy:%s", fixture(rel));
    snprintf(rel, 256, "mapper/%s.points.npy", name);
    snprintf(points, 4200, "%s", fixture(rel));
    (void)args;
}

Test(mapper_cli, every_format_loads)
{
    char lens[4200], points[4200];
    mapper_case_args(NULL, "circle", lens, points);
    const char *formats[] = { "json", "node-link", "kmapper", "graphml" };
    for (int f = 0; f < 4; f++) {
        const char *out, *err, *path = temp_path(f == 3 ? "g.graphml" : "g.json");
        int status = run_nerve((const char *[]){ "mapper", "-q", "--lens", lens, "-n", "8", "-p", "0.3", "-e", "0.25",
                                                 "-s", "3", "-f", formats[f], "-o", path, points, NULL },
                               &out, &err);
        cr_assert_eq(status, 0, "%s: %s", formats[f], err);
        cr_assert(strstr(out, "\"loops\": 1"), "%s", out);
        if (f == 3) {
            FILE *fp = fopen(path, "r");
            char buf[256] = "";
            cr_assert(fp && fread(buf, 1, sizeof buf - 1, fp) > 0);
            fclose(fp);
            cr_assert(strstr(buf, "<graphml"));
            continue;
        }
        json_error_t e;
        json_t *root = json_load_file(path, 0, &e);
        cr_assert(root, "%s: %s", formats[f], e.text);
        if (f == 0)
            cr_assert_eq(json_integer_value(json_object_get(json_object_get(root, "figures"), "nodes")), 14);
        if (f == 1)
            cr_assert(json_object_get(json_array_get(json_object_get(root, "nodes"), 0), "membership"));
        if (f == 2)
            cr_assert_eq(json_object_size(json_object_get(root, "nodes")), 14);
        json_decref(root);
    }
}

/* An .npy's matrix in memory of our own (a read may map the file). */
static void writable_copy(nerve_mat *x, const char *path)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_read_npy(&m, path), 0);
    cr_assert_eq(nerve_mat_alloc(x, m.rows, m.cols), 0);
    memcpy(x->data, m.data, (size_t)(m.rows * m.cols) * sizeof *m.data);
    nerve_mat_free(&m);
}

static void expect_refusal(const char **args, const char *needle)
{
    const char *out, *err;
    int status = run_nerve(args, &out, &err);
    cr_assert_eq(status, 2, "status %d for '%s': %s", status, needle, err);
    cr_assert(strstr(err, needle), "wanted '%s' in: %s", needle, err);
}

Test(mapper_cli, bad_input_exits_2)
{
    char lens[4200], points[4200];
    mapper_case_args(NULL, "circle", lens, points);
    /* A NaN row, named; --drop-nonfinite skips and lists it. */
    char nan_path[4200], flat_path[4200];
    snprintf(nan_path, sizeof nan_path, "%s", temp_path("nan.npy"));
    snprintf(flat_path, sizeof flat_path, "%s", temp_path("flat.npy"));
    nerve_mat x;
    writable_copy(&x, points);
    x.data[2 * 17 + 1] = NAN;
    cr_assert_eq(nerve_mat_write_npy(nan_path, &x), 0);
    nerve_mat_free(&x);
    expect_refusal((const char *[]){ "mapper", "-q", "-o", temp_path("o.json"), nan_path, NULL }, "row 17");
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "mapper", "-q", "--drop-nonfinite", "-o", temp_path("o.json"), nan_path,
                                             NULL },
                           &out, &err),
                 0, "%s", err);
    cr_assert(strstr(out, "\"dropped_rows\": [\n    17\n  ]") || strstr(out, "17"), "%s", out);
    expect_refusal((const char *[]){ "mapper", "--overlap", "1", points, NULL }, "overlap");
    expect_refusal((const char *[]){ "mapper", "--intervals", "0", points, NULL }, "intervals");
    expect_refusal((const char *[]){ "mapper", "--eps", "-1", points, NULL }, "eps");
    expect_refusal((const char *[]){ "mapper", "-q", "--min-samples", "100000", "-o", temp_path("o.json"), points,
                                     NULL },
                   "min_samples");
    expect_refusal((const char *[]){ "mapper", "--lens", "bogus", "-o", temp_path("o.json"), points, NULL },
                   "valid: l2norm");
    expect_refusal((const char *[]){ "mapper", "--metric", "manhattan", points, NULL }, "euclidean, cosine");
    expect_refusal((const char *[]){ "mapper", "-q", "--labels", fixture("knn/euclidean.index.npy"), "-o",
                                     temp_path("o.json"), points, NULL },
                   "values, but the points have 400 rows");
    /* One point, and none. */
    nerve_mat one;
    cr_assert_eq(nerve_mat_alloc(&one, 1, 3), 0);
    cr_assert_eq(nerve_mat_write_npy(temp_path("one.npy"), &one), 0);
    expect_refusal((const char *[]){ "mapper", "-q", "-o", temp_path("o.json"), temp_path("one.npy"), NULL },
                   "at least 2");
    one.rows = 0;
    cr_assert_eq(nerve_mat_write_npy(temp_path("none.npy"), &one), 0);
    expect_refusal((const char *[]){ "mapper", "-q", "-o", temp_path("o.json"), temp_path("none.npy"), NULL },
                   "at least 2");
    nerve_mat_free(&one);
    /* A constant lens: one interval, not a division by zero. */
    writable_copy(&x, points);
    for (int64_t i = 0; i < x.rows; i++)
        x.data[2 * i] = 1.5f;
    cr_assert_eq(nerve_mat_write_npy(flat_path, &x), 0);
    nerve_mat_free(&x);
    cr_assert_eq(run_nerve((const char *[]){ "mapper", "-q", "--lens", "coord:0", "-o", temp_path("c.json"),
                                             flat_path, NULL },
                           &out, &err),
                 0, "%s", err);
    cr_assert(strstr(out, "\"nodes\": "), "%s", out);
}

Test(mapper_cli, study_graphs_and_links)
{
    const char *dir = temp_path("study");
    nerve_extract_options o = fixture_study_options(dir, 500);
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    const char *out, *err;
    int status = run_nerve((const char *[]){ "mapper", "-q", "--study", dir, NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    char path[4200];
    snprintf(path, sizeof path, "%s/mapper/index.json", dir);
    json_error_t e;
    json_t *index = json_load_file(path, 0, &e);
    cr_assert(index, "%s", e.text);
    json_t *layers = json_object_get(index, "layers");
    cr_assert_gt(json_array_size(layers), 1);
    cr_assert_eq(json_array_size(json_object_get(index, "links")), json_array_size(layers) - 1);
    snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(json_array_get(layers, 0), "graph")));
    json_t *g = json_load_file(path, 0, &e);
    cr_assert(g, "%s: %s", path, e.text);
    /* The study's labels made it into the node figures. */
    json_t *counts = json_object_get(json_object_get(g, "nodes"), "label_counts");
    cr_assert(json_is_array(counts) && json_array_size(json_array_get(counts, 0)) == 10);
    json_decref(g);
    json_decref(index);
}
