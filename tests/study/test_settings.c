/*
 * test_settings.c — a study's settings (src/study/settings.c): a study file
 * sets what it names and nothing else, relative paths are read from its
 * folder, what the manifest records reads back to the same settings, and a
 * wrong key, type or preset is refused naming the file and the key.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nerve/study.h"
#include "../support/support.h"

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

Test(settings, a_study_file_sets_what_it_names)
{
    const char *path = temp_path("study.json");
    write_text(path, "{ \"model\": \"m.onnx\", \"limit\": 300, \"seed\": 7,\n"
                     "  \"preprocess\": { \"resize\": 40, \"mean\": [0.5, 0.25, 0.125] },\n"
                     "  \"extract\": { \"layers\": [\"a\", \"b.c\"], \"mode\": \"max-norm\" },\n"
                     "  \"mapper\": { \"intervals\": 12, \"overlap\": 0.4, \"cluster\": \"linkage-gap\" },\n"
                     "  \"ph\": { \"dimension\": 0, \"points\": 50 },\n"
                     "  \"embed\": { \"perplexity\": 5 },\n"
                     "  \"sim\": { \"metrics\": [\"cka\", \"rsa\"] },\n"
                     "  \"stages\": [\"mapper\", \"embed\"] }\n");
    nerve_study_run_options o, d;
    nerve_study_run_defaults(&o);
    nerve_study_run_defaults(&d);
    cr_assert_eq(nerve_study_settings_read(&o, path), 0, "%s", nerve_error());
    /* the file's folder is the temporary folder, so m.onnx is read there */
    char want_model[4200];
    snprintf(want_model, sizeof want_model, "%s", path);
    strcpy(strrchr(want_model, '/') + 1, "m.onnx");
    cr_expect_str_eq(o.model, want_model);
    cr_expect_eq(o.limit, 300);
    cr_expect_eq(o.seed, 7);
    cr_expect_eq(o.pp.resize, 40);
    cr_expect_eq(o.pp.crop, 0);
    cr_expect_eq(o.pp.n_mean, 3);
    cr_expect_float_eq(o.pp.mean[2], 0.125f, 1e-7);
    cr_expect_str_eq(o.layers, "a,b.c");
    cr_expect_eq(o.mode, NERVE_MODE_MAX_NORM);
    cr_expect_eq(o.mapper.intervals, 12);
    cr_expect_float_eq(o.mapper.overlap, 0.4, 1e-12);
    cr_expect_eq(o.mapper.cluster, NERVE_CLUSTER_LINKAGE_GAP);
    cr_expect_eq(o.ph.ph.max_dim, 0);
    cr_expect_eq(o.ph.max_points, 50);
    cr_expect_float_eq(o.tsne.perplexity, 5, 1e-12);
    cr_expect_eq(o.n_metrics, 2);
    cr_expect_eq(o.metrics[1], NERVE_SIM_RSA);
    cr_expect_eq(o.stages, 1u << NERVE_STAGE_EXTRACT | 1u << NERVE_STAGE_MAPPER | 1u << NERVE_STAGE_EMBED);
    /* what the file does not name keeps its value */
    cr_expect_str_eq(o.data, d.data);
    cr_expect_eq(o.mapper.min_samples, d.mapper.min_samples);
    cr_expect_eq(o.tsne.iters, d.tsne.iters);
    cr_expect_eq(o.per_input, d.per_input);
    nerve_study_run_options_free(&o);
}

Test(settings, what_the_manifest_records_reads_back_the_same)
{
    /* A study folder with the model and data beside it: the recorded paths
     * are seen from the study, and read back from there. */
    const char *root = temp_path("recorded");
    char study[4200], model[4200], data[4200], manifest[4300];
    snprintf(study, sizeof study, "%s/study", root);
    snprintf(model, sizeof model, "%s/model.onnx", root);
    snprintf(data, sizeof data, "%s/photos", root);
    cr_assert_eq(nerve_dir_create(study), 0, "%s", nerve_error());
    cr_assert_eq(nerve_dir_create(data), 0);
    write_text(model, "not read");
    nerve_study_run_options o;
    nerve_study_run_defaults(&o);
    o.model = model;
    o.data = data;
    o.out = study;
    o.preset = "imagenet";
    o.layers = "x,y";
    o.mapper.intervals = 9;
    o.tsne.iters = 123;
    o.pp.n_std = 1;
    o.pp.std[0] = 0.5f;
    json_t *recorded = nerve_study_settings_json(&o, study);
    cr_assert(recorded);
    cr_expect_str_eq(json_string_value(json_object_get(recorded, "model")), "../model.onnx");
    cr_expect_str_eq(json_string_value(json_object_get(recorded, "data")), "../photos");
    cr_expect_str_eq(json_string_value(json_object_get(recorded, "out")), ".");
    snprintf(manifest, sizeof manifest, "%s/manifest.json", study);
    json_t *m = json_pack("{s:{s:O}}", "run", "settings", recorded);
    cr_assert_eq(json_dump_file(m, manifest, 0), 0);
    json_decref(m);

    nerve_study_run_options back;
    nerve_study_run_defaults(&back);
    cr_assert_eq(nerve_study_settings_read(&back, manifest), 0, "%s", nerve_error());
    json_t *again = nerve_study_settings_json(&back, study);
    char *a = json_dumps(recorded, JSON_SORT_KEYS), *b = json_dumps(again, JSON_SORT_KEYS);
    cr_expect_str_eq(a, b);
    struct stat st;
    cr_expect_eq(stat(back.model, &st), 0, "the model read back as %s", back.model);
    free(a);
    free(b);
    json_decref(recorded);
    json_decref(again);
    nerve_study_run_options_free(&back);
}

static void expect_refused(const char *name, const char *text, const char *why)
{
    const char *path = temp_path(name);
    write_text(path, text);
    nerve_study_run_options o;
    nerve_study_run_defaults(&o);
    cr_expect_eq(nerve_study_settings_read(&o, path), NERVE_EINPUT, "%s was accepted", text);
    cr_expect(strstr(nerve_error(), path) && strstr(nerve_error(), why), "%s: the message was: %s", text,
              nerve_error());
    nerve_study_run_options_free(&o);
}

Test(settings, a_wrong_key_or_type_is_refused_naming_file_and_key)
{
    expect_refused("a.json", "{ \"mapper\": { \"intervalz\": 3 } }", "unknown setting 'mapper.intervalz'");
    expect_refused("b.json", "{ \"mapper\": { \"intervals\": \"ten\" } }", "mapper.intervals must be");
    expect_refused("c.json", "{ \"mapper\": { \"intervals\": 0 } }", "mapper.intervals must be");
    expect_refused("d.json", "{ \"limit\": 2.5 }", "limit must be a whole number");
    expect_refused("e.json", "{ \"extract\": { \"mode\": \"sideways\" } }", "extract.mode must be");
    expect_refused("f.json", "{ \"preprocess\": { \"std\": [0.2, 0] } }", "preprocess.std must be");
    expect_refused("g.json", "{ \"stages\": [\"mapper\", \"dance\"] }", "stages must be");
    expect_refused("h.json", "{ \"sim\": { \"metrics\": [] } }", "sim.metrics must be");
    expect_refused("i.json", "{ \"ph\": 3 }", "ph must be an object");
    expect_refused("j.json", "[1, 2]", "a study file is a JSON object");
    expect_refused("k.json", "{ \"seed\": 1, \"seed\": 2 }", "not a study file");
    expect_refused("l.json", "{ \"limit\": 1", "not a study file");
}

Test(settings, presets_fill_only_what_is_unset)
{
    nerve_study_run_options o;
    nerve_study_run_defaults(&o);
    o.preset = "imagenet";
    o.pp.resize = 300;
    cr_assert_eq(nerve_study_settings_resolve(&o), 0, "%s", nerve_error());
    cr_expect_eq(o.pp.resize, 300);
    cr_expect_eq(o.pp.crop, 224);
    cr_expect_eq(o.pp.n_mean, 3);
    cr_expect_float_eq(o.pp.std[2], 0.225f, 1e-7);
    o.preset = "imagenette";
    cr_expect_eq(nerve_study_settings_resolve(&o), NERVE_EINPUT);
    cr_expect(strstr(nerve_error(), "unknown preset 'imagenette'"), "%s", nerve_error());
}

Test(settings, stage_lists)
{
    unsigned mask;
    cr_assert_eq(nerve_study_stages_parse("mapper,sim", &mask), 0);
    cr_expect_eq(mask, 1u << NERVE_STAGE_EXTRACT | 1u << NERVE_STAGE_MAPPER | 1u << NERVE_STAGE_SIM);
    cr_assert_eq(nerve_study_stages_parse("all", &mask), 0);
    cr_expect_eq(mask, (1u << NERVE_STAGE_COUNT) - 1);
    cr_expect_eq(nerve_study_stages_parse("mapper,,ph", &mask), NERVE_EINPUT);
    cr_expect_eq(nerve_study_stages_parse("tsne", &mask), NERVE_EINPUT);
    cr_expect(strstr(nerve_error(), "unknown stage 'tsne'"), "%s", nerve_error());
}

Test(settings, output_folders_are_made_with_their_parents)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/a/b/c", temp_path("parents"));
    cr_assert_eq(nerve_dir_create(path), 0, "%s", nerve_error());
    struct stat st;
    cr_expect(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    char file[4300];
    snprintf(file, sizeof file, "%s/x/y/out.json", temp_path("parents2"));
    nerve_outfile o;
    cr_assert_eq(nerve_outfile_open(&o, file), 0, "%s", nerve_error());
    fputs("{}", o.f);
    cr_assert_eq(nerve_outfile_commit(&o), 0);
    cr_expect_eq(stat(file, &st), 0);
    /* a file where a folder should be is an error, not a crash */
    char under_file[4400];
    snprintf(under_file, sizeof under_file, "%s/z", file);
    cr_expect_eq(nerve_dir_create(under_file), NERVE_EINPUT);
    cr_expect(strstr(nerve_error(), "is a file"), "%s", nerve_error());
}
