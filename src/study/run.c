/*
 * run.c — `nerve run`: a whole study in one go. The stages, in order:
 *
 *   model      the user's .onnx, or the built-in cnn-small trained once
 *              (with checkpoints) and cached
 *   extract    every layer for the inputs (a random foreground position of
 *              each conv map: one where the map differs from a blank input's)
 *   mean       the same with conv maps averaged over positions (DIR/mean)
 *   mapper     every layer's Mapper graph and the links between layers
 *   ph         every layer's persistence (H0, H1) and the distance matrices
 *   embed      every layer's t-SNE
 *   sim        the layer x layer CKA, SVCCA and PWCCA matrices
 *   dynamics   every checkpoint extracted and compared (SVCCA, CKA) with
 *              the final model (DIR/checkpoints)
 *   featvis    feature visualisation: an image per Mapper node of the last
 *              conv layer, per class, and each conv layer's first channels
 *
 * Each stage has a key: its parameters and the key of what it reads
 * (ultimately the model's path, size and modification time). The manifest's
 * "run" section records each finished stage's key and time; a stage whose
 * key is recorded and whose output is there is skipped, so a rerun after an
 * interruption or a failure resumes where it stopped, and a failed stage
 * leaves the results of the others alone. A stage's record is removed on
 * disk before it touches its outputs and written back only once they are
 * committed, so a kill at any moment leaves either the old complete state
 * or one that reruns the stage. A lock file keeps two runs off one study.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nerve/internal/path.h"
#include "dist.h"
#include "study_internal.h"

enum { KEY_MAX = 4400 };

/* The built-in model's checkpoints, as fractions of its training. */
static const double builtin_checkpoints[] = { 0, 0.25, 0.5, 0.75 };

typedef struct run_ctx {
    const nerve_study_run_options *o;
    nerve_study_run_summary       *sum;
    char    model[PATH_MAX];
    char    model_key[KEY_MAX], extract_key[KEY_MAX];
    int     n_checkpoints;
    char    checkpoint[NERVE_STUDY_RUN_MAX_CHECKPOINTS][PATH_MAX];
    double  fraction[NERVE_STUDY_RUN_MAX_CHECKPOINTS];   /* -1: a user's file */
    json_t *record;      /* the manifest's "run" section */
    json_t *training;    /* the built-in model's training record, or NULL */
} run_ctx;

typedef struct run_stage {
    nerve_study_stage id;
    const char *output;   /* relative to the study: there when the stage is done */
    int (*key)(run_ctx *c, char *key);
    int (*run)(run_ctx *c);
} run_stage;

void nerve_study_run_defaults(nerve_study_run_options *o)
{
    memset(o, 0, sizeof *o);
    o->data = "fashion-mnist:test";
    o->out = "study";
    o->stages = (1u << NERVE_STAGE_COUNT) - 1;
    nerve_extract_options e;
    nerve_extract_defaults(&e);
    o->layers = e.layers;
    o->mode = NERVE_MODE_FOREGROUND_POSITION;   /* why: README, "Which positions" */
    o->per_input = e.per_input;
    o->batch = e.batch;
    o->pp = e.pp;
    o->lens = "l2norm";
    nerve_mapper_defaults(&o->mapper);
    nerve_study_ph_defaults(&o->ph);
    nerve_tsne_defaults(&o->tsne);
    o->n_metrics = nerve_sim_study_defaults(o->metrics);
    nerve_sim_defaults(&o->sim);
    o->dft_inputs = 1000;
    nerve_study_findings_defaults(&o->findings);
    nerve_study_featvis_defaults(&o->featvis);
}

static int stage_on(const nerve_study_run_options *o, nerve_study_stage s)
{
    return (o->stages >> s) & 1u;
}

/* ---- keys ------------------------------------------------------------------- */

/* "path size mtime" of a file, its path resolved (the same file named
 * from another folder, as a study file may, has the same key), or an
 * error naming it. */
static int file_key(char *key, size_t cap, const char *path)
{
    struct stat st;
    char real[PATH_MAX];
    if (stat(path, &st) != 0 || !realpath(path, real))
        return nerve_error_set(NERVE_EINPUT, "%s: cannot read the model", path);
    snprintf(key, cap, "%.4200s %lld %lld", real, (long long)st.st_size, (long long)st.st_mtime);
    return 0;
}

/* FNV-1a: what a key depends on, in 16 hex digits. */
static unsigned long long fingerprint(const char *s)
{
    unsigned long long h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* A stage's key: its own parameters (the start, to read, and the
 * fingerprint of all), then the fingerprint of the key of what it reads. */
static void chain(char *key, const char *params, const char *upstream)
{
    snprintf(key, KEY_MAX, "%.300s | %016llx | %016llx", params, fingerprint(params), fingerprint(upstream));
}

/* chain() of "<stage> <the section's settings> <extra>". */
static int chain_section(char *key, const run_ctx *c, const char *stage, const char *section, const char *extra,
                         const char *upstream)
{
    char *settings = study_settings_key(c->o, section), *params = NULL;
    if (!settings || asprintf(&params, "%s %s %s", stage, settings, extra) < 0)
        params = NULL;
    free(settings);
    if (!params)
        return nerve_error_set(NERVE_ENOMEM, "out of memory making the %s stage's key", stage);
    chain(key, params, upstream);
    free(params);
    return 0;
}

static void extract_settings(nerve_extract_options *e, const run_ctx *c, const char *model, const char *out,
                             nerve_vector_mode mode)
{
    nerve_extract_defaults(e);
    e->model = model;
    e->data = c->o->data;
    e->out = out;
    e->limit = c->o->limit;
    e->seed = c->o->seed;
    e->mode = mode;
    e->layers = c->o->layers;
    e->per_input = c->o->per_input;
    e->batch = c->o->batch;
    e->pp = c->o->pp;
}

/* The inputs and how they are read: what every extraction depends on. */
static int inputs_key(char *out, size_t cap, const run_ctx *c)
{
    char *pp = study_settings_key(c->o, "preprocess");
    if (!pp)
        return nerve_error_set(NERVE_ENOMEM, "out of memory making the extract stage's key");
    char real[PATH_MAX];
    const char *data = realpath(c->o->data, real) ? real : c->o->data;   /* fashion-mnist:test stays */
    snprintf(out, cap, "data %.1000s limit %lld preprocess %016llx", data, (long long)c->o->limit, fingerprint(pp));
    free(pp);
    return 0;
}

static int key_extract(run_ctx *c, char *key)
{
    char inputs[1200], extra[1300];
    int rc = inputs_key(inputs, sizeof inputs, c);
    snprintf(extra, sizeof extra, "%s seed %llu", inputs, (unsigned long long)c->o->seed);
    if (rc == 0 && (rc = chain_section(key, c, "extract", "extract", extra, c->model_key)) == 0)
        snprintf(c->extract_key, sizeof c->extract_key, "%s", key);
    return rc;
}

/* The mean study reads the same layers, averaged: mode, per-input and
 * seed do not change it. */
static int key_mean(run_ctx *c, char *key)
{
    char inputs[1200], params[1200 + 9000];
    int rc = inputs_key(inputs, sizeof inputs, c);
    snprintf(params, sizeof params, "extract mean %s layers %.8000s maps %lld", inputs, c->o->layers,
             (long long)c->o->dft_inputs);
    chain(key, params, c->model_key);
    return rc;
}

static int key_mapper(run_ctx *c, char *key)
{
    char extra[300];
    snprintf(extra, sizeof extra, "lens %.200s", c->o->lens);
    return chain_section(key, c, "mapper", "mapper", extra, c->extract_key);
}

static int key_ph(run_ctx *c, char *key)
{
    return chain_section(key, c, "ph", "ph", "", c->extract_key);
}

static int key_embed(run_ctx *c, char *key)
{
    char extra[64];
    snprintf(extra, sizeof extra, "tsne seed %llu", (unsigned long long)c->o->seed);
    return chain_section(key, c, "embed", "embed", extra, c->extract_key);
}

/* With the mean stage, sim compares its layers too. */
static int key_sim(run_ctx *c, char *key)
{
    return chain_section(key, c, "sim", "sim", stage_on(c->o, NERVE_STAGE_MEAN) ? "with mean" : "",
                         c->extract_key);
}

static int key_dynamics(run_ctx *c, char *key)
{
    char files[KEY_MAX * 2] = "", k[KEY_MAX];
    for (int i = 0; i < c->n_checkpoints; i++) {
        int rc = file_key(k, sizeof k, c->checkpoint[i]);
        if (rc < 0)
            return rc;
        snprintf(files + strlen(files), sizeof files - strlen(files), "%016llx ", fingerprint(k));
    }
    char params[KEY_MAX * 2 + 40];
    snprintf(params, sizeof params, "dynamics svcca cka classes %s%s", stage_on(c->o, NERVE_STAGE_MEAN) ? "averaged " : "",
             files);
    chain(key, params, c->extract_key);
    return 0;
}

/* The key of a stage that reads other stages' results when the study has
 * them (n sections, each named as its stage): "seed S", the names of those
 * that run, then each one's settings, chained to the extraction. */
static int chain_reading(char *key, const run_ctx *c, const char *stage, const nerve_study_stage *reads, int n)
{
    char *all = NULL, *next = NULL;
    if (asprintf(&all, "seed %llu", (unsigned long long)c->o->seed) < 0)
        all = NULL;
    for (int i = 0; all && i < n; i++, free(all), all = next)
        if (asprintf(&next, "%s%s%s", all, stage_on(c->o, reads[i]) ? " " : "",
                     stage_on(c->o, reads[i]) ? nerve_study_stage_name(reads[i]) : "") < 0)
            next = NULL;
    for (int i = 0; all && i < n; i++, free(all), all = next) {
        char *settings = study_settings_key(c->o, nerve_study_stage_name(reads[i]));
        if (!settings || asprintf(&next, "%s %s", all, settings) < 0)
            next = NULL;
        free(settings);
    }
    if (!all)
        return nerve_error_set(NERVE_ENOMEM, "out of memory making the %s stage's key", stage);
    int rc = chain_section(key, c, stage, stage, all, c->extract_key);
    free(all);
    return rc;
}

/* The findings read the Mapper graphs and similarity matrices. */
static int key_findings(run_ctx *c, char *key)
{
    static const nerve_study_stage reads[] = { NERVE_STAGE_MAPPER, NERVE_STAGE_SIM };
    return chain_reading(key, c, "findings", reads, 2);
}

/* The node images read the Mapper graphs. */
static int key_featvis(run_ctx *c, char *key)
{
    static const nerve_study_stage reads[] = { NERVE_STAGE_MAPPER };
    return chain_reading(key, c, "featvis", reads, 1);
}

/* ---- the stages ------------------------------------------------------------- */

static int run_extract(run_ctx *c)
{
    nerve_extract_options e;
    extract_settings(&e, c, c->model, c->o->out, c->o->mode);
    return nerve_extract(&e);
}

/* The whole maps of the first inputs (DIR/mean/maps) for svcca-dft, as
 * many as fit; none when the model has fewer than two conv maps. */
static int extract_maps(run_ctx *c, const char *mean_dir)
{
    char dir[PATH_MAX];
    int64_t count = 0;
    int rc = nerve_path(dir, sizeof dir, "%s/maps", mean_dir);
    if (rc == 0 && c->o->dft_inputs > 0)
        rc = nerve_study_maps_inputs(&count, mean_dir, c->o->dft_inputs);
    if (rc < 0 || count == 0)
        return rc;
    nerve_extract_options e;
    extract_settings(&e, c, c->model, dir, NERVE_MODE_FLATTEN);
    e.limit = count;
    e.no_sprite = 1;
    return nerve_extract(&e);
}

static int run_mean(run_ctx *c)
{
    char dir[PATH_MAX];
    int rc = nerve_path(dir, sizeof dir, "%s/mean", c->o->out);
    if (rc < 0)
        return rc;
    nerve_extract_options e;
    extract_settings(&e, c, c->model, dir, NERVE_MODE_MEAN);
    e.no_sprite = 1;   /* the viewer's thumbnails are the main study's */
    if ((rc = nerve_extract(&e)) == 0)
        rc = extract_maps(c, dir);
    return rc;
}

static int run_mapper(run_ctx *c)
{
    nerve_study_mapper_summary s;
    return nerve_study_mapper(c->o->out, c->o->lens, &c->o->mapper, &s);
}

static int run_ph(run_ctx *c)
{
    int layers;
    return nerve_study_ph(c->o->out, &c->o->ph, &layers);
}

static int run_embed(run_ctx *c)
{
    nerve_tsne_options t = c->o->tsne;
    t.seed = c->o->seed;
    json_t *figures;
    int rc = nerve_study_embed(c->o->out, &t, 2, &figures);
    json_decref(figures);
    return rc;
}

static const nerve_sim_metric dynamics_metrics[] = { NERVE_SIM_SVCCA, NERVE_SIM_CKA };

static int run_sim(run_ctx *c)
{
    int skipped;
    char dir[PATH_MAX];
    int rc = nerve_study_similarity(c->o->out, c->o->metrics, c->o->n_metrics, &c->o->sim, &skipped);
    if (rc == 0 && stage_on(c->o, NERVE_STAGE_MEAN) && (rc = nerve_path(dir, sizeof dir, "%s/mean", c->o->out)) == 0)
        rc = nerve_study_similarity(dir, c->o->metrics, c->o->n_metrics, &c->o->sim, &skipped);
    char maps[PATH_MAX];
    /* The metrics above are shared by the ranks; the DFT's is rank 0's. */
    if (rc == 0 && study_dist_rank() == 0 && stage_on(c->o, NERVE_STAGE_MEAN) && c->o->dft_inputs > 0 &&
        (rc = nerve_path(maps, sizeof maps, "%s/maps/manifest.json", dir)) == 0 && access(maps, R_OK) == 0) {
        study_dist_solo_begin();
        rc = nerve_study_similarity_dft(dir, &c->o->sim);
        study_dist_solo_end();
    }
    if (rc == 0)
        study_dist_barrier();
    return rc;
}

/* Each layer against the classes in `dir` (a checkpoint's study, or the
 * final one), when the inputs are labelled: its classes.json, relative to
 * the study, into *rel; "" when there are no labels. */
static int dynamics_classes(char *rel, size_t cap, const char *dir, const char *dir_rel)
{
    char labels[PATH_MAX];
    int rc = nerve_path(labels, sizeof labels, "%s/inputs/labels.npy", dir);
    rel[0] = '\0';
    if (rc < 0 || access(labels, R_OK) != 0)
        return rc;
    if ((rc = nerve_study_class_sensitivity(dir, 0.99)) == 0)
        rc = nerve_path(rel, cap, "%s%ssim/classes.json", dir_rel, *dir_rel ? "/" : "");
    return rc;
}

/* Each checkpoint extracted as its own study under DIR/checkpoints/ckpt<i>,
 * with its layers' SVCCA and CKA against the final model's: position-
 * averaged against DIR/mean when the study has it (as the sim stage
 * compares, so that conv layers read the same thing in both), else with
 * the study's own mode; and each one's layers against the classes. */
static int run_dynamics(run_ctx *c)
{
    int averaged = stage_on(c->o, NERVE_STAGE_MEAN);
    char root[PATH_MAX], final[PATH_MAX], final_classes[PATH_MAX];
    int rc = nerve_path(final, sizeof final, "%s%s", c->o->out, averaged ? "/mean" : "");
    if (rc == 0 && (rc = nerve_path(root, sizeof root, "%s/checkpoints", c->o->out)) == 0)
        rc = nerve_dir_create(root);
    if (rc == 0)
        rc = dynamics_classes(final_classes, sizeof final_classes, final, averaged ? "mean" : "");
    json_t *list = json_array();
    nerve_sim_options so = { .keep = 0.99 };
    for (int i = 0; rc == 0 && i < c->n_checkpoints; i++) {
        char dir[PATH_MAX], rel[64], classes[PATH_MAX];
        snprintf(rel, sizeof rel, "checkpoints/ckpt%d", i);
        if ((rc = nerve_path(dir, sizeof dir, "%s/%s", c->o->out, rel)) < 0)
            break;
        if (!nerve_quiet())
            fprintf(stderr, "nerve: run: checkpoint %d of %d (%s)\n", i + 1, c->n_checkpoints, c->checkpoint[i]);
        nerve_extract_options e;
        extract_settings(&e, c, c->checkpoint[i], dir, averaged ? NERVE_MODE_MEAN : c->o->mode);
        e.no_sprite = 1;
        int skipped;
        if ((rc = nerve_extract(&e)) == 0 &&
            (rc = nerve_study_similarity_between(dir, final, dynamics_metrics, 2, &so, &skipped)) == 0 &&
            (rc = dynamics_classes(classes, sizeof classes, dir, rel)) == 0)
        {
            char sim[1200], index[1300];
            nerve_study_between_folder(sim, sizeof sim, final);
            if ((rc = nerve_path(index, sizeof index, "%s/%s/index.json", rel, sim)) < 0)
                break;
            json_t *entry = json_pack("{s:s, s:o, s:s, s:s}", "model", c->checkpoint[i], "fraction",
                                      c->fraction[i] >= 0 ? json_real(c->fraction[i]) : json_null(), "study", rel,
                                      "similarity", index);
            if (*classes)
                json_object_set_new(entry, "classes", json_string(classes));
            json_array_append_new(list, entry);
        }
    }
    if (rc == 0)
        rc = nerve_path(root, sizeof root, "%s/checkpoints/index.json", c->o->out);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    json_t *index = json_pack("{s:o, s:[s, s], s:s}", "checkpoints", list, "metrics", "svcca", "cka", "vectors",
                              averaged ? "positions averaged" : nerve_vector_mode_name(c->o->mode));
    if (*final_classes)
        json_object_set_new(index, "classes", json_string(final_classes));
    return study_write_json(root, index);
}

static int run_findings(run_ctx *c)
{
    nerve_study_findings_options f = c->o->findings;
    f.seed = c->o->seed;
    return nerve_study_findings(c->o->out, &f, NULL);
}

static int run_featvis(run_ctx *c)
{
    nerve_study_featvis_options f = c->o->featvis;
    f.seed = c->o->seed;
    return nerve_study_featvis(c->o->out, &f);
}

static const run_stage stages[] = {
    { NERVE_STAGE_EXTRACT, "manifest.json", key_extract, run_extract },
    { NERVE_STAGE_MEAN, "mean/manifest.json", key_mean, run_mean },
    { NERVE_STAGE_MAPPER, "mapper/index.json", key_mapper, run_mapper },
    { NERVE_STAGE_PH, "ph/index.json", key_ph, run_ph },
    { NERVE_STAGE_EMBED, "embed/index.tsne.json", key_embed, run_embed },
    { NERVE_STAGE_SIM, "sim/index.json", key_sim, run_sim },
    { NERVE_STAGE_DYNAMICS, "checkpoints/index.json", key_dynamics, run_dynamics },
    { NERVE_STAGE_FINDINGS, "findings/findings.json", key_findings, run_findings },
    { NERVE_STAGE_FEATVIS, "featvis/index.json", key_featvis, run_featvis },
};

/* ---- the model -------------------------------------------------------------- */

static void report_epoch(void *ctx, int e, const nerve_train_result *r)
{
    (void)ctx;
    if (!nerve_quiet())
        fprintf(stderr, "nerve: run: training epoch %d: loss %.4f, test accuracy %.4f (%.1f s)\n", e + 1, r->loss[e],
                r->test_accuracy[e], r->seconds[e]);
}

static int builtin_model(run_ctx *c)
{
    nerve_train_options t;
    nerve_train_defaults(&t);
    t.checkpoints = builtin_checkpoints;
    t.n_checkpoints = (int)(sizeof builtin_checkpoints / sizeof *builtin_checkpoints);
    int rc = nerve_train_cache_path(c->model, sizeof c->model, &t);
    if (rc < 0)
        return rc;
    t.out = c->model;
    t.on_epoch = report_epoch;
    if (!nerve_quiet())
        fprintf(stderr, "nerve: run: the built-in cnn-small model (trained once, then cached)\n");
    if ((rc = nerve_train_cached(&t, 0, &c->training)) < 0)
        return rc;
    c->n_checkpoints = t.n_checkpoints;
    for (int i = 0; i < t.n_checkpoints; i++) {
        if ((rc = nerve_checkpoint_path(c->checkpoint[i], sizeof c->checkpoint[i], c->model, t.checkpoints[i])) < 0)
            return rc;
        c->fraction[i] = t.checkpoints[i];
    }
    return 0;
}

static int choose_model(run_ctx *c)
{
    int rc = 0;
    if (c->o->model) {
        rc = nerve_path(c->model, sizeof c->model, "%s", c->o->model);
        c->n_checkpoints = c->o->n_checkpoints;
        for (int i = 0; rc == 0 && i < c->o->n_checkpoints; i++) {
            rc = nerve_path(c->checkpoint[i], sizeof c->checkpoint[i], "%s", c->o->checkpoints[i]);
            c->fraction[i] = -1;
        }
    } else {
        rc = builtin_model(c);
    }
    return rc < 0 ? rc : file_key(c->model_key, sizeof c->model_key, c->model);
}

/* ---- the record ------------------------------------------------------------- */

/* The "run" section of the manifest, if the study has one. */
static json_t *read_record(const char *dir)
{
    char path[PATH_MAX];
    json_t *m = nerve_path(path, sizeof path, "%s/manifest.json", dir) == 0 ? json_load_file(path, 0, NULL) : NULL;
    json_t *r = json_object_get(m, "run");
    r = json_is_object(r) ? json_deep_copy(r) : json_pack("{s:{}}", "stages");
    json_decref(m);
    return r;
}

/* Writes the record into the manifest (which extract made). */
static int save_record(const run_ctx *c)
{
    if (study_dist_rank() != 0)
        return 0;   /* with several ranks, rank 0 keeps the record */
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/manifest.json", c->o->out);
    if (rc < 0)
        return rc;
    json_error_t err;
    json_t *m = json_load_file(path, 0, &err);
    if (!m)
        return 0;   /* no extraction yet: nothing to record in */
    json_object_set(m, "run", c->record);
    if (c->training)
        json_object_set(m, "training", c->training);
    return study_write_json(path, m);
}

static int output_exists(const char *dir, const char *rel)
{
    char path[PATH_MAX];
    struct stat st;
    return nerve_path(path, sizeof path, "%s/%s", dir, rel) == 0 && stat(path, &st) == 0;
}

/* For the tests: NERVE_TEST_KILL_STAGE=<stage> kills the run the moment
 * that stage begins, as a power cut or kill -9 would. */
static void test_kill_point(const char *stage)
{
    const char *at = getenv("NERVE_TEST_KILL_STAGE");
    if (at && strcmp(at, stage) == 0)
        kill(getpid(), SIGKILL);
}

/* With several ranks (nerve-mpi), the stages that split their work run on
 * every rank; the others on rank 0 alone, as one process, while the rest
 * wait for it. */
static int run_ranked(run_ctx *c, const run_stage *s)
{
    int split = s->id == NERVE_STAGE_EXTRACT || s->id == NERVE_STAGE_MEAN || s->id == NERVE_STAGE_MAPPER ||
                s->id == NERVE_STAGE_PH || s->id == NERVE_STAGE_EMBED || s->id == NERVE_STAGE_SIM;
    if (split || study_dist_size() == 1)
        return s->run(c);
    int rc = 0;
    if (study_dist_rank() == 0) {
        study_dist_solo_begin();
        rc = s->run(c);
        study_dist_solo_end();
    }
    if (rc == 0)
        study_dist_barrier();
    return rc;
}

static int run_one(run_ctx *c, const run_stage *s)
{
    const char *name = nerve_study_stage_name(s->id);
    char key[KEY_MAX];
    int rc = s->key(c, key);
    if (rc < 0)
        return rc;
    nerve_study_run_stage *r = &c->sum->stages[c->sum->n_stages++];
    snprintf(r->name, sizeof r->name, "%s", name);
    json_t *stages = json_object_get(c->record, "stages");
    const char *done = json_string_value(json_object_get(json_object_get(stages, name), "key"));
    /* Rank 0 decides for all: the others look at the disk while it writes. */
    int64_t up_to_date = !c->o->force && done && strcmp(done, key) == 0 && output_exists(c->o->out, s->output);
    study_dist_broadcast(&up_to_date, sizeof up_to_date);
    if (up_to_date) {
        r->skipped = 1;
        if (!nerve_quiet())
            fprintf(stderr, "nerve: run: %s is up to date\n", name);
        return 0;
    }
    if (!nerve_quiet())
        fprintf(stderr, "nerve: run: %s\n", name);
    /* Not done until it finishes, on disk too: its outputs are about to be
     * rewritten one by one. */
    json_object_del(stages, name);
    if ((rc = save_record(c)) < 0)
        return rc;
    test_kill_point(name);
    double t0 = nerve_now();
    if ((rc = run_ranked(c, s)) < 0)
        return rc;
    r->seconds = nerve_now() - t0;
    json_object_set_new(stages, name, json_pack("{s:s, s:f, s:s}", "key", key, "seconds", r->seconds,
                                                   "output", s->output));
    return save_record(c);
}

/* Holds DIR/.lock (flock, released by the kernel when the process ends,
 * however it ends) with the holder's pid in it; *fd is kept open while the
 * run lasts. A second run on the study is refused, naming the holder. */
static int lock_study(int *fd, const char *dir)
{
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/.lock", dir);
    *fd = -1;
    if (rc < 0)
        return rc;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot create the study's lock: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        char holder[32] = "";
        ssize_t got = pread(*fd, holder, sizeof holder - 1, 0);
        holder[got > 0 ? got : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(*fd);
        *fd = -1;
        return nerve_error_set(NERVE_EINPUT, "%s: another nerve run (pid %s) is working on this study; wait for it "
                               "to finish or stop it", dir, *holder ? holder : "unknown");
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)len, 0) != len) {
        /* the lock holds without the pid; the pid only improves the message */
    }
    return 0;
}

/* The stages the options ask for and the model allows, in order. */
static int stage_wanted(const run_ctx *c, nerve_study_stage s)
{
    if (s == NERVE_STAGE_DYNAMICS && c->n_checkpoints == 0)
        return 0;
    return s == NERVE_STAGE_EXTRACT || stage_on(c->o, s);
}

/* Every later stage compares inputs: one input (a folder of one image,
 * -n 1) is a clear stop after extraction, not a failure deep in one. */
static int enough_inputs(const run_ctx *c)
{
    study_manifest m;
    int rc = study_manifest_read(&m, c->o->out);
    if (rc == 0 && m.inputs < 2)
        rc = nerve_error_set(NERVE_EINPUT, "%s: %lld input: a study compares inputs, it needs at least 2",
                             c->o->data, (long long)m.inputs);
    study_manifest_free(&m);
    return rc;
}

static int run_stages(run_ctx *c)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof stages / sizeof *stages; i++) {
        if (!stage_wanted(c, stages[i].id))
            continue;
        rc = run_one(c, &stages[i]);
        if (rc == 0 && stages[i].id == NERVE_STAGE_EXTRACT)
            rc = enough_inputs(c);
        if (rc == 0 && nerve_interrupted())
            rc = nerve_error_set(NERVE_EINTERRUPTED, "interrupted; run the same command again to resume");
    }
    return rc;
}

int nerve_study_run(const nerve_study_run_options *given, nerve_study_run_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    if (given->n_checkpoints > NERVE_STUDY_RUN_MAX_CHECKPOINTS)
        return nerve_error_set(NERVE_EINPUT, "at most %d checkpoints, not %d", NERVE_STUDY_RUN_MAX_CHECKPOINTS,
                               given->n_checkpoints);
    nerve_study_run_options o = *given;   /* with the preset applied */
    run_ctx c = { .o = &o, .sum = sum };
    double t0 = nerve_now();
    int lock = -1;
    int rc = nerve_study_settings_resolve(&o);
    if (rc == 0)
        rc = nerve_dir_create(o.out);
    /* With several ranks: rank 0 holds the lock and trains the built-in
     * model if it is not cached yet, then the others find it; all have
     * read the record before rank 0 changes it. */
    int rank = study_dist_rank();
    if (rank != 0)
        nerve_set_quiet(1);
    if (rc == 0 && rank == 0)
        rc = lock_study(&lock, o.out);
    if (rc == 0 && rank == 0)
        rc = choose_model(&c);
    study_dist_barrier();
    if (rc == 0 && rank != 0)
        rc = choose_model(&c);
    c.record = read_record(o.out);
    if (study_dist_size() > 1)
        json_object_set_new(c.record, "ranks", json_integer(study_dist_size()));
    else
        json_object_del(c.record, "ranks");
    study_dist_barrier();
    /* What was asked, as a study file from the study's folder: nerve run
     * --config DIR/manifest.json makes the study again. */
    json_object_set_new(c.record, "settings", nerve_study_settings_json(given, o.out));
    if (rc == 0)
        rc = run_stages(&c);
    sum->seconds = nerve_now() - t0;
    if (rc == 0) {
        json_object_set_new(c.record, "seconds", json_real(sum->seconds));
        json_object_set_new(c.record, "model", json_string(c.model));
        rc = save_record(&c);
    }
    json_decref(c.record);
    json_decref(c.training);
    if (lock >= 0)
        close(lock);
    return rc;
}
