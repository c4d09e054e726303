/*
 * test_neighbours.c — GET /api/neighbours (issue 22): the list the viewer
 * shows for a clicked point is the knn room's exact k nearest rows of that
 * row in the layer's activations (itself left out), with the same
 * distances; its parameters are bounded and a row or layer the study does
 * not have is a 404.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/knn.h"
#include "nerve/study.h"
#include "../../src/serve/serve_internal.h"
#include "../support/support.h"

static char study[4096];
static pid_t server;
static int port;

/* A small study (300 inputs of the fixture CNN), served. */
static void start(void)
{
    snprintf(study, sizeof study, "%s", temp_path("neighbours"));
    nerve_extract_options o = fixture_study_options(study, 300);
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    server = serve_study(study, &port);
}

static void stop(void)
{
    if (server > 0)
        cr_expect_eq(stop_serving(server), 0);
    server = 0;
}

static json_t *get(const char *path, int want)
{
    http_reply r;
    cr_assert_eq(http_get(&r, port, path), 0, "GET %s failed", path);
    cr_assert_eq(r.status, want, "GET %s: %d, not %d: %s", path, r.status, want, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert(j, "GET %s: not JSON: %.200s", path, r.body);
    free(r.body);
    return j;
}

TestSuite(neighbours, .init = start, .fini = stop, .timeout = 120);

/* Every third row of two layers, k = 10, against nerve_knn_exact over the
 * whole layer (the knn room's brute force, a different code path: all
 * points at once, not one query). */
Test(neighbours, the_list_is_the_exact_knn_of_the_clicked_row)
{
    static const char *const layers[] = { "/relu1/Relu_output_0", "/fc1/Gemm_output_0" };
    for (size_t l = 0; l < sizeof layers / sizeof *layers; l++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/acts/%s.npy", study, layers[l][0] == '/' ? layers[l] + 1 : layers[l]);
        for (char *c = path + strlen(study) + 6; *c; c++)   /* the study's file names: '/' becomes '_' */
            if (*c == '/')
                *c = '_';
        nerve_mat m = { 0 };
        cr_assert_eq(nerve_mat_read_npy(&m, path), 0, "%s", nerve_error());
        nerve_knn exact = { 0 };
        cr_assert_eq(nerve_knn_exact(&exact, &m, 10, NERVE_METRIC_EUCLIDEAN), 0, "%s", nerve_error());
        for (int64_t row = 0; row < m.rows; row += 3) {
            char target[512];
            snprintf(target, sizeof target, "/api/neighbours?layer=%s&row=%lld&k=10", layers[l], (long long)row);
            json_t *r = get(target, 200), *list = json_object_get(r, "neighbours");
            cr_assert_eq(json_array_size(list), 10, "%s", target);
            for (size_t j = 0; j < 10; j++) {
                json_t *nb = json_array_get(list, j);
                int64_t want = exact.index[row * 10 + (int64_t)j];
                double got_d = json_real_value(json_object_get(nb, "distance")), want_d = exact.dist[row * 10 + (int64_t)j];
                cr_assert_eq(json_integer_value(json_object_get(nb, "row")), want, "%s: neighbour %zu", target, j);
                cr_assert_float_eq(got_d, want_d, 1e-5 * (1 + want_d), "%s: distance %zu", target, j);
            }
            json_decref(r);
        }
        nerve_knn_free(&exact);
        nerve_mat_free(&m);
    }
}

Test(neighbours, rows_layers_and_k_are_bounded)
{
    json_decref(get("/api/neighbours?layer=/relu1/Relu_output_0&row=300", 404));
    json_decref(get("/api/neighbours?layer=/no/such&row=0", 404));
    json_decref(get("/api/neighbours?layer=/relu1/Relu_output_0&row=0&k=101", 400));
    json_decref(get("/api/neighbours?layer=/relu1/Relu_output_0&row=0&k=0", 400));
    json_decref(get("/api/neighbours?layer=/relu1/Relu_output_0&row=-1", 400));
    json_decref(get("/api/neighbours?layer=/relu1/Relu_output_0", 400));
    json_decref(get("/api/neighbours?layer=/relu1/Relu_output_0&row=0&metric=manhattan", 400));
    /* k past the other rows: all of them, no more */
    json_t *r = get("/api/neighbours?layer=/relu1/Relu_output_0&row=5&k=100&metric=cosine", 200);
    cr_assert_eq(json_array_size(json_object_get(r, "neighbours")), 100);
    cr_assert_str_eq(json_string_value(json_object_get(r, "metric")), "cosine");
    json_decref(r);
}
