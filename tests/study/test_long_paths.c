/*
 * test_long_paths.c — paths longer than nerve handles (issue 16 point 4):
 * a study folder nested so deep that a stage's output path passes
 * PATH_MAX, and a manifest naming a layer file of 5000 characters, are
 * refused with a message that says so (exit status 2), never cut into the
 * name of another file and never a crash.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nerve/study.h"
#include "../support/support.h"

/* Makes dir, a folder of exactly `length` characters under the temporary
 * folder, as nested folders of at most 200 characters (a name's limit is
 * 255). */
static void make_deep_dir(char *dir, size_t cap, const char *name, size_t length)
{
    cr_assert(length < cap);
    snprintf(dir, cap, "%s", temp_path(name));
    cr_assert_eq(mkdir(dir, 0777), 0);
    size_t n = strlen(dir);
    while (n < length) {
        size_t part = length - n - 1 > 200 ? 200 : length - n - 1;
        if (length - n - 1 - part == 1)   /* no one-character remainder after a '/' */
            part--;
        dir[n++] = '/';
        memset(dir + n, 'd', part);
        n += part;
        dir[n] = '\0';
        cr_assert_eq(mkdir(dir, 0777), 0, "mkdir of a %zu-character path", n);
    }
    cr_assert_eq(strlen(dir), length);
}

/* The entries of a folder other than "." and ".." (-1: no folder). */
static int entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void write_manifest(const char *dir, const char *file)
{
    char path[PATH_MAX];
    cr_assert_lt(snprintf(path, sizeof path, "%s/manifest.json", dir), (int)sizeof path);
    json_t *m = json_pack("{s:{s:i, s:s}, s:[{s:s, s:s, s:i}]}", "inputs", "count", 10, "spec", "x.npy", "layers",
                          "name", "a", "file", file, "rows", 10);
    cr_assert_eq(json_dump_file(m, path, 0), 0);
    json_decref(m);
}

static void assert_refused_as_too_long(int status, const char *err)
{
    cr_assert_eq(status, 2, "exit status %d: %s", status, err);
    cr_assert(strstr(err, "longer than nerve handles"), "%s", err);
}

Test(long_paths, extract_into_a_folder_too_deep_is_refused, .timeout = 120)
{
    /* The folder and acts/ fit; acts/<layer>.npy.partial does not. */
    char dir[PATH_MAX];
    make_deep_dir(dir, sizeof dir, "deep-extract", PATH_MAX - 12);
    const char *out, *err;
    int status = run_nerve((const char *[]){ "extract", "-q", "-m", fixture("nn/small_cnn.onnx"), "-d",
                                             "fashion-mnist:test", "-n", "8", "-o", dir, NULL }, &out, &err);
    assert_refused_as_too_long(status, err);
    char acts[PATH_MAX];
    snprintf(acts, sizeof acts, "%s/acts", dir);
    cr_assert_leq(entries(acts), 0, "no activations written under a cut name");
}

Test(long_paths, mapper_of_a_study_too_deep_fails_rather_than_skipping_layers)
{
    /* DIR/acts/<stem>.npy is 4095 characters, DIR/mapper/<stem>.json 4098. */
    char dir[PATH_MAX], file[256], path[PATH_MAX];
    size_t length = 4000, stem = PATH_MAX - 1 - length - strlen("/acts/.npy");
    make_deep_dir(dir, sizeof dir, "deep-mapper", length);
    snprintf(file, sizeof file, "acts/%.*s.npy", (int)stem, "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
             "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss");
    snprintf(path, sizeof path, "%s/acts", dir);
    cr_assert_eq(mkdir(path, 0777), 0);
    cr_assert_lt(snprintf(path, sizeof path, "%s/%s", dir, file), (int)sizeof path);
    cr_assert_eq(strlen(path), PATH_MAX - 1);
    nerve_mat m;
    cr_assert_eq(nerve_mat_alloc(&m, 10, 3), 0);
    for (int i = 0; i < 30; i++)
        m.data[i] = (float)(i * i % 7);
    /* Written beside and renamed: its temporary name would not fit. */
    char beside[PATH_MAX];
    snprintf(beside, sizeof beside, "%s", temp_path("points.npy"));
    cr_assert_eq(nerve_mat_write_npy(beside, &m), 0);
    cr_assert_eq(rename(beside, path), 0);
    nerve_mat_free(&m);
    write_manifest(dir, file);

    const char *out, *err;
    int status = run_nerve((const char *[]){ "mapper", "-q", "--study", dir, NULL }, &out, &err);
    assert_refused_as_too_long(status, err);
    snprintf(path, sizeof path, "%s/mapper", dir);
    cr_assert_leq(entries(path), 1, "only mapper/links/, no graph under a cut name");
}

Test(long_paths, a_layer_file_of_5000_characters_is_refused)
{
    char dir[PATH_MAX], *file = malloc(5001);
    snprintf(dir, sizeof dir, "%s", temp_path("long-layer"));
    cr_assert_eq(mkdir(dir, 0777), 0);
    memcpy(file, "acts/", 5);
    memset(file + 5, 'a', 4995);
    file[5000] = '\0';
    write_manifest(dir, file);
    free(file);

    nerve_study_layer_list l;
    int rc = nerve_study_layers(&l, dir);
    if (rc == 0)
        nerve_study_layer_list_free(&l);
    cr_assert_eq(rc, NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "manifest.json") && strstr(nerve_error(), "longer than nerve handles"), "%s",
              nerve_error());

    /* The server shows the study and refuses that layer's graph, and
     * goes on serving. */
    int port;
    pid_t server = serve_study(dir, &port);
    http_reply r;
    cr_assert_eq(http_get(&r, port, "/api/mapper?layer=a"), 0);
    cr_expect(r.status >= 400 && r.status < 600, "status %d", r.status);
    free(r.body);
    cr_assert_eq(http_get(&r, port, "/api/study"), 0);
    cr_expect_eq(r.status, 200, "%s", r.body);
    free(r.body);
    cr_expect_eq(stop_serving(server), 0, "nerve serve did not stop cleanly");
}
