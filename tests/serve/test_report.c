/*
 * test_report.c — `nerve report`: one HTML file holding the viewer and the
 * study's files the viewer reads (and not the raw activations), written
 * whole or not at all. That the page works from disk in a browser is
 * tests/browser's job.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/study.h"
#include "../support/support.h"

/* A study of 300 inputs with Mapper graphs only: a report needs no more. */
static const char *mapper_study(void)
{
    static char study[4096];
    snprintf(study, sizeof study, "%s", temp_path("reported"));
    nerve_extract_options o = fixture_study_options(study, 300);
    cr_assert_eq(nerve_extract(&o), 0, "%s", nerve_error());
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "mapper", "-q", "--study", study, NULL }, &out, &err), 0, "%s", err);
    return study;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: not written", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* window.NERVE_FILES of the page. */
static json_t *inlined_files(const char *html)
{
    const char *start = strstr(html, "window.NERVE_FILES = ");
    cr_assert(start, "the report inlines no files");
    start += strlen("window.NERVE_FILES = ");
    const char *end = strstr(start, ";</script>");
    cr_assert(end);
    json_error_t e;
    json_t *files = json_loadb(start, (size_t)(end - start), 0, &e);
    cr_assert(files, "NERVE_FILES is not JSON: %s", e.text);
    return files;
}

Test(report, inlines_the_viewer_and_what_it_reads, .timeout = 300)
{
    const char *study = mapper_study();
    char html[4096], graph_path[4200];
    snprintf(html, sizeof html, "%s", temp_path("r.html"));
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "report", "-q", "--activations", "2", "-o", html, study, NULL }, &out,
                           &err),
                 0, "%s", err);
    char *page = slurp(html);
    cr_assert(strstr(page, "<style nonce=") && !strstr(page, "href=\"style.css\""), "the stylesheet is not inlined");
    cr_assert(!strstr(page, "<script src="), "a script is loaded rather than inlined");
    cr_assert(strstr(page, "window.NERVE_OFFLINE"), "offline.js is missing");
    json_t *files = inlined_files(page);
    json_t *doc = json_object_get(json_object_get(files, "api/study"), "json");
    cr_assert(json_is_object(doc), "no study document");
    /* Every layer's graph, exactly as on disk. */
    json_t *layers = json_object_get(json_object_get(doc, "mapper"), "layers"), *layer;
    size_t i;
    cr_assert_gt(json_array_size(layers), 0);
    json_array_foreach(layers, i, layer) {
        const char *rel = json_string_value(json_object_get(layer, "graph"));
        char key[4200];
        snprintf(key, sizeof key, "study/%s", rel);
        snprintf(graph_path, sizeof graph_path, "%s/%s", study, rel);
        json_t *on_disk = json_load_file(graph_path, 0, NULL);
        cr_assert(json_equal(json_object_get(json_object_get(files, key), "json"), on_disk), "%s differs", key);
        json_decref(on_disk);
    }
    cr_assert(json_object_get(files, "study/inputs/labels.npy"), "no labels");
    cr_assert(json_object_get(files, "study/inputs/sprite.png"), "no sprite");
    cr_assert(json_object_get(files, "api/activations?input=1") && !json_object_get(files, "api/activations?input=2"),
              "--activations 2 wants inputs 0 and 1");
    const char *key;
    json_t *v;
    json_object_foreach(files, key, v)
        cr_assert(!strstr(key, "acts/"), "%s: the raw activations went in", key);
    json_decref(files);
    free(page);
}

Test(report, bad_input_exits_2_and_writes_nothing, .timeout = 300)
{
    char html[4096], not_study[4096];
    snprintf(html, sizeof html, "%s", temp_path("bad.html"));
    snprintf(not_study, sizeof not_study, "%s", temp_path("empty"));
    nerve_dir_create(not_study);
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "report", "-o", html, not_study, NULL }, &out, &err), 2);
    cr_assert(strstr(err, "not a study"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "report", "-o", html, "/no/such/study", NULL }, &out, &err), 2);
    cr_assert(strstr(err, "no such study"), "%s", err);
    cr_assert_eq(run_nerve((const char *[]){ "report", "--activations", "-1", not_study, NULL }, &out, &err), 2);
    cr_assert_neq(access(html, F_OK), 0, "a report was written");
}

/* Row 9 of issue 15: names from the study are data in the page, never
 * markup: no "</script>" or "<" of a name reaches the HTML, and the page
 * allows only its own scripts (a CSP with this report's nonce). */
Test(report, hostile_names_stay_inside_the_data, .timeout = 300)
{
    const char *study = mapper_study();
    char manifest[4200], html[4096];
    snprintf(manifest, sizeof manifest, "%s/manifest.json", study);
    json_t *m = json_load_file(manifest, 0, NULL);
    cr_assert(m);
    json_t *classes = json_object_get(json_object_get(m, "inputs"), "classes");
    json_array_set_new(classes, 0, json_string("</script><script>alert(2)</script>"));
    json_array_set_new(classes, 1, json_string("<!--<script>"));
    json_array_set_new(classes, 2, json_string("<img src=x onerror=alert(1)>"));
    cr_assert_eq(json_dump_file(m, manifest, 0), 0);
    json_decref(m);
    snprintf(html, sizeof html, "%s", temp_path("hostile.html"));
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "report", "-q", "--activations", "0", "-o", html, study, NULL }, &out,
                           &err),
                 0, "%s", err);
    char *page = slurp(html);
    cr_assert(!strstr(page, "alert(2)</script>"), "a name closed the data's script element");
    cr_assert(!strstr(page, "<!--<script>") && !strstr(page, "<img src=x"), "a name reached the page as markup");
    cr_assert(strstr(page, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                           "script-src 'nonce-"), "no Content-Security-Policy");
    cr_assert(!strstr(page, "unsafe-inline"));
    /* Every script element carries the nonce. */
    int scripts = 0;
    for (const char *at = page; (at = strstr(at, "<script")); at++, scripts++)
        cr_assert(strncmp(at, "<script nonce=\"", 15) == 0, "%.60s", at);
    cr_assert_eq(scripts, 11);   /* d3, the data, offline.js, featvis.js, findings.js, graphcanvas.js, scatter.js,
                                    embed.js, select.js, urlstate.js, app.js */
    json_t *files = inlined_files(page);
    json_t *names = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(files,
                                    "api/study"), "json"), "manifest"), "inputs"), "classes");
    cr_assert_str_eq(json_string_value(json_array_get(names, 0)), "</script><script>alert(2)</script>");
    json_decref(files);
    free(page);
}
