/*
 * test_findings_cli.c — `nerve findings` on a small study of the fixture
 * CNN: every output written and well formed, the same again on a rerun;
 * bad input refused with exit 2, naming what is wrong, nothing written.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "nerve/study.h"
#include "../support/support.h"

static void small_study(char *dir, size_t cap, const char *name, int64_t n)
{
    snprintf(dir, cap, "%s", temp_path(name));
    nerve_extract_options o = fixture_study_options(dir, n);
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
}

static json_t *findings_json(const char *dir)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/findings/findings.json", dir);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    cr_assert(root, "%s: %s", path, err.text);
    return root;
}

Test(findings_cli, writes_scores_and_findings_of_a_study, .timeout = 120)
{
    char dir[4096], path[4300];
    small_study(dir, sizeof dir, "study", 120);
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "findings", "-q", "--study", dir, NULL }, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "findings in"), "%s", out);
    nerve_array a = { 0 };
    snprintf(path, sizeof path, "%s/findings/outlier.npy", dir);
    cr_assert_eq(nerve_npy_read(&a, NULL, path, NERVE_F32), 0, "%s", nerve_error());
    cr_assert_eq(a.shape[0], 120);
    nerve_array_free(&a);
    snprintf(path, sizeof path, "%s/findings/label_noise.npy", dir);
    cr_assert_eq(access(path, R_OK), 0, "no %s", path);

    json_t *root = findings_json(dir), *f;
    json_t *list = json_object_get(root, "findings"), *layers = json_object_get(root, "layers");
    cr_assert(json_array_size(layers) > 0);
    size_t i;
    int outliers = 0, noise = 0;
    json_array_foreach(list, i, f) {
        cr_assert(json_is_string(json_object_get(f, "kind")) && json_is_string(json_object_get(f, "text")) &&
                  json_is_number(json_object_get(f, "score")), "finding %zu lacks a kind, text or score", i);
        const char *kind = json_string_value(json_object_get(f, "kind"));
        outliers += strcmp(kind, "outliers") == 0;
        noise += strcmp(kind, "label_noise") == 0;
        if (strcmp(kind, "outliers") == 0)
            cr_assert_eq(json_array_size(json_object_get(f, "inputs")), 24);
    }
    cr_assert(outliers == 1 && noise == 1);
    json_t *first = json_array_get(layers, 0);
    double acc = json_real_value(json_object_get(first, "probe_accuracy"));
    cr_assert(acc >= 0 && acc <= 1, "probe accuracy %g", acc);

    /* a rerun on one thread gives the same file */
    char *before = json_dumps(root, JSON_SORT_KEYS);
    json_decref(root);
    cr_assert_eq(run_nerve((const char *[]){ "findings", "-q", "-t", "1", "--study", dir, NULL }, &out, &err), 0,
                 "%s", err);
    root = findings_json(dir);
    char *after = json_dumps(root, JSON_SORT_KEYS);
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
    json_decref(root);
}

Test(findings_cli, bad_input_exits_2_naming_it)
{
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "findings", "--study", "/nonexistent-study-21", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "/nonexistent-study-21"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "findings", "extra", NULL }, &out, &err), 2);
    cr_assert_eq(run_nerve((const char *[]){ "findings", "-k", "0", NULL }, &out, &err), 2);
    cr_assert_eq(run_nerve((const char *[]){ "findings", "--help", NULL }, &out, &err), 0);
    cr_assert(strstr(out, "label_noise.npy") && strstr(out, "--study"), "%s", out);
}

/* Every layer with two rows per input: nothing to score, an empty result
 * that says why, and a run that goes on. */
Test(findings_cli, a_study_of_several_rows_per_input_is_skipped_not_failed, .timeout = 120)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", temp_path("two-rows"));
    nerve_extract_options o = fixture_study_options(dir, 40);
    o.layers = "/relu1/Relu_output_0";
    o.per_input = 2;
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "findings", "--study", dir, NULL }, &out, &err), 0, "%s", err);
    cr_assert(strstr(err, "one vector per input"), "%s", err);
    json_t *root = findings_json(dir);
    cr_assert(json_is_string(json_object_get(root, "skipped")));
    cr_assert_eq(json_array_size(json_object_get(root, "layers")), 0);
    json_decref(root);
}
