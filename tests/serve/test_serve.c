/*
 * test_serve.c — `nerve serve` over real HTTP on loopback: the viewer and
 * the API answer, unknown routes are 404 JSON and bad parameters 400 JSON,
 * no path reaches a file outside the study (.., %2e%2e, absolute paths,
 * symlinks), a live Mapper graph matches the study's, and 32 connections
 * for 10 s get no error while the server's memory stays flat.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nerve/study.h"
#include "../support/support.h"

/* ---- the server under test --------------------------------------------------- */

static char study[4096];
static pid_t server;
static int port;

/* A small study (500 inputs of the fixture CNN, with its graphs), served
 * by the nerve binary on a free port read from its first line. */
static void start_server(void)
{
    snprintf(study, sizeof study, "%s", temp_path("served"));
    nerve_extract_options o = fixture_study_options(study, 500);
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "mapper", "-q", "--study", study, NULL }, &out, &err), 0, "%s", err);
    server = serve_study(study, &port);
}

static void stop_server(void)
{
    if (server > 0) {
        cr_expect_eq(stop_serving(server), 0, "nerve serve did not stop cleanly on SIGINT");
        server = 0;
    }
}

static long server_rss_kb(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)server);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static json_t *get_json(const char *path, int want_status)
{
    http_reply r;
    cr_assert_eq(http_get(&r, port, path), 0, "GET %s failed", path);
    cr_assert_eq(r.status, want_status, "GET %s: %d, not %d: %s", path, r.status, want_status, r.body);
    json_error_t e;
    json_t *j = json_loads(r.body, 0, &e);
    cr_assert(j, "GET %s: not JSON: %.200s", path, r.body);
    free(r.body);
    return j;
}

static void expect_status(const char *path, int want)
{
    http_reply r;
    cr_assert_eq(http_get(&r, port, path), 0, "GET %s failed", path);
    cr_assert_eq(r.status, want, "GET %s: %d, not %d: %.200s", path, r.status, want, r.body);
    cr_assert(!strstr(r.body, "root:"), "GET %s leaked a system file", path);
    free(r.body);
}

TestSuite(serve, .init = start_server, .fini = stop_server, .timeout = 300);

Test(serve, viewer_api_and_errors)
{
    http_reply r;
    cr_assert_eq(http_get(&r, port, "/"), 0);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "<script src=\"app.js\">"), "%.200s", r.body);
    free(r.body);
    cr_assert_eq(http_get(&r, port, "/d3.min.js"), 0);
    cr_assert(r.status == 200 && r.len > 100000);
    free(r.body);

    json_t *s = get_json("/api/study", 200);
    size_t layers = json_array_size(json_object_get(json_object_get(s, "manifest"), "layers"));
    cr_assert_gt(layers, 2);
    json_t *first = json_array_get(json_object_get(json_object_get(s, "mapper"), "layers"), 0);
    const char *name = json_string_value(json_object_get(first, "name"));
    char path[512];
    /* The stored graph and the live one with the same parameters agree. */
    snprintf(path, sizeof path, "/api/mapper?layer=%s", name);
    json_t *live = get_json(path, 200);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(live, "figures"), "nodes")),
                 json_integer_value(json_object_get(first, "nodes")));
    cr_assert_lt(json_real_value(json_object_get(live, "seconds")), 1.0);
    json_decref(live);
    snprintf(path, sizeof path, "/api/mapper?layer=%s&intervals=8&overlap=0.2", name);
    live = get_json(path, 200);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(live, "params"), "intervals")), 8);
    json_decref(live);
    json_decref(s);

    json_t *e = get_json("/api/nothing", 404);
    cr_assert(json_string_value(json_object_get(e, "error")));
    json_decref(e);
    json_decref(get_json("/api/mapper", 400));
    json_decref(get_json("/api/mapper?layer=relu1&intervals=abc", 400));
    json_decref(get_json("/api/mapper?layer=relu1&overlap=2", 400));
    json_decref(get_json("/api/mapper?layer=no-such-layer", 404));
    json_decref(get_json("/api/activations?input=x", 400));
    json_decref(get_json("/api/activations?input=500", 404));
    json_t *maps = get_json("/api/activations?input=3", 200);
    cr_assert_eq(json_array_size(json_object_get(maps, "layers")), layers);
    json_decref(maps);
}

Test(serve, no_path_leaves_the_study)
{
    expect_status("/study/manifest.json", 200);
    expect_status("/study/../manifest.json", 404);
    expect_status("/study/../../../../etc/passwd", 404);
    expect_status("/study/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 404);
    expect_status("/study/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", 404);
    expect_status("/study//etc/passwd", 404);
    expect_status("/study/acts/../../../etc/passwd", 404);
    expect_status("/study/./manifest.json", 404);
    expect_status("/study/acts", 404);   /* a folder */
    expect_status("/etc/passwd", 404);
    /* A symlink inside the study pointing out of it is not followed out. */
    char link[4200];
    snprintf(link, sizeof link, "%s/escape.txt", study);
    cr_assert_eq(symlink("/etc/passwd", link), 0);
    expect_status("/study/escape.txt", 404);
    snprintf(link, sizeof link, "%s/escape_dir", study);
    cr_assert_eq(symlink("/etc", link), 0);
    expect_status("/study/escape_dir/passwd", 404);
}

/* ---- load --------------------------------------------------------------------- */

typedef struct load_worker {
    double until;
    long   requests, errors;
    int    k;
} load_worker;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *load(void *arg)
{
    static const char *paths[] = { "/api/study", "/study/manifest.json", "/", "/app.js", "/nope" };
    static const int want[] = { 200, 200, 200, 200, 404 };
    load_worker *w = arg;
    for (long i = 0; now() < w->until; i++) {
        int p = (int)((i + w->k) % 5);
        http_reply r;
        if (http_get(&r, port, paths[p]) < 0 || r.status != want[p])
            w->errors++;
        free(r.body);
        w->requests++;
    }
    return NULL;
}

Test(serve, thirty_two_connections_for_ten_seconds)
{
    enum { CONNECTIONS = 32 };
    /* Warm up, then take the memory the server settles at. */
    load_worker warm = { now() + 1.0, 0, 0, 0 };
    load(&warm);
    long before = server_rss_kb();
    pthread_t t[CONNECTIONS];
    load_worker w[CONNECTIONS];
    double until = now() + 10.0;
    for (int k = 0; k < CONNECTIONS; k++) {
        w[k] = (load_worker){ until, 0, 0, k };
        pthread_create(&t[k], NULL, load, &w[k]);
    }
    long requests = 0, errors = 0;
    for (int k = 0; k < CONNECTIONS; k++) {
        pthread_join(t[k], NULL);
        requests += w[k].requests;
        errors += w[k].errors;
    }
    long after = server_rss_kb();
    cr_log_info("load: %ld requests in 10 s over %d connections, %ld errors; server RSS %ld -> %ld kB", requests,
                CONNECTIONS, errors, before, after);
    cr_assert_eq(errors, 0, "%ld of %ld requests failed", errors, requests);
    cr_assert_gt(requests, 1000);
    /* No growth beyond what allocator arenas of the pool's threads take. */
    cr_assert_lt(after - before, 16 * 1024, "server memory grew from %ld to %ld kB", before, after);
}
