/*
 * test_ph_between.c — persistence distances across studies (issue 18
 * point 6): two studies of the fixture CNN (80 inputs, two seeds), compared
 * with `nerve compare --study A --study B` (the L x L2 block of A's layers
 * to B's) and `--studies A --studies B` (the stacked matrix): the block is
 * the stacked matrix's off-diagonal block, A's own block is A's ph stage's
 * matrix, and studies whose diagrams were made differently are refused.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../support/support.h"

static void study(const char *dir, const char *seed, const char *dim)
{
    const char *out, *err;
    int rc = run_nerve((const char *[]){ "run", "-q", "-m", fixture("nn/small_cnn.onnx"), "-n", "80", "--stages",
                                         "ph", "--seed", seed, "--ph-dim", dim, "-o", dir, NULL },
                       &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
}

static nerve_mat matrix(const char *dir, const char *rel)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    nerve_mat m;
    cr_assert_eq(nerve_mat_read_npy(&m, path), 0, "%s", nerve_error());
    return m;
}

Test(ph_between, blocks_of_the_stacked_matrix, .timeout = 300)
{
    char a[4096], b[4096], c[4096];
    snprintf(a, sizeof a, "%s", temp_path("a"));
    snprintf(b, sizeof b, "%s", temp_path("b"));
    snprintf(c, sizeof c, "%s", temp_path("c"));
    study(a, "0", "1");
    study(b, "1", "1");
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-q", "--study", a, "--study", b, NULL }, &out, &err), 0,
                 "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-q", "--studies", a, "--studies", b, NULL }, &out, &err), 0,
                 "%s", err);
    static const char *const files[] = { "bottleneck.dim0.npy", "bottleneck.dim1.npy", "wasserstein.dim1.npy",
                                         "sliced_wasserstein.dim1.npy" };
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char rel[256];
        snprintf(rel, sizeof rel, "studies/ph/%s", files[f]);
        nerve_mat all = matrix(a, rel);
        snprintf(rel, sizeof rel, "ph/vs_b/%s", files[f]);
        nerve_mat block = matrix(a, rel);
        snprintf(rel, sizeof rel, "ph/%s", files[f]);
        nerve_mat own = matrix(a, rel);
        int64_t l = own.rows;
        cr_assert_eq(all.rows, 2 * l);
        cr_assert_eq(block.rows, l);
        cr_assert_eq(block.cols, l);
        double off = 0, within = 0, cross = 0;
        for (int64_t i = 0; i < l; i++)
            for (int64_t j = 0; j < l; j++) {
                off += fabs(all.data[i * 2 * l + l + j] - block.data[i * l + j]);
                within += fabs(all.data[i * 2 * l + j] - own.data[i * l + j]);
                cross += block.data[i * l + j];
            }
        cr_expect_eq(off, 0, "%s: the pair's block differs from the stacked matrix", files[f]);
        cr_expect_eq(within, 0, "%s: A's block differs from A's own matrix", files[f]);
        cr_expect_gt(cross, 0, "%s: two seeds' layers at distance 0 everywhere", files[f]);
        nerve_mat_free(&all);
        nerve_mat_free(&block);
        nerve_mat_free(&own);
    }
    char index[4200];
    snprintf(index, sizeof index, "%s/studies/index.json", a);
    json_t *j = json_load_file(index, 0, NULL);
    cr_assert(j);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "studies"), 1), "study")),
                     "../b");
    json_decref(j);
    /* diagrams of dimension 0 only: they do not compare */
    study(c, "0", "0");
    cr_assert_eq(run_nerve((const char *[]){ "compare", "-q", "--studies", a, "--studies", c, NULL }, &out, &err), 2);
    cr_expect(strstr(err, "max_dim") && strstr(err, c), "%s", err);
}
