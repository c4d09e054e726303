/*
 * settings.c — every setting of a study in one table: read from a study
 * file a person writes (JSON, through jansson), written back as the
 * manifest's run.settings, and the source of each stage's key, so a new
 * setting is read, recorded and reruns its stage by adding one row.
 *
 * A study file:
 *
 *   { "model": "resnet18.onnx", "data": "photos", "limit": 300,
 *     "preprocess": { "preset": "imagenet" },
 *     "extract": { "layers": ["layer1", "layer4"], "mode": "max-norm" },
 *     "mapper": { "intervals": 12, "overlap": 0.4 },
 *     "stages": ["extract", "mapper", "embed"] }
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/path.h"
#include "study_internal.h"

typedef enum setting_kind {
    S_TEXT,      /* const char * */
    S_PATH,      /* const char *, a file: read from the study file's folder */
    S_PATHS,     /* const char *[], count at count_at */
    S_INPUTS,    /* an inputs spec: fashion-mnist:SPLIT, or a path */
    S_INT,       /* int64_t within [lo, hi] */
    S_INT32,     /* int within [lo, hi] */
    S_SEED,      /* uint64_t */
    S_REAL,      /* double within [lo, hi] */
    S_BOOL,      /* int */
    S_FLOATS,    /* float[4], count at count_at; positive: each > 0 */
    S_ENUM,      /* a room's enum, through parse and name */
    S_LAYERS,    /* "all", or a list of tap names kept comma-separated */
    S_STAGES,    /* unsigned mask of stages */
    S_METRICS,   /* nerve_sim_metric[], count at count_at */
} setting_kind;

typedef struct setting {
    const char  *section;    /* NULL: the top level */
    const char  *key;
    setting_kind kind;
    size_t       at, count_at;
    double       lo, hi;
    int          positive;
    int          keyless;    /* does not change results (batch size) */
    int (*parse)(const char *s, void *field);
    const char *(*name)(const void *field);
} setting;

#define ENUM_FNS(id, type, parse_fn, name_fn)                                                          \
    static int id##_parse(const char *s, void *f) { return parse_fn(s, (type *)f) < 0 ? -1 : 0; }       \
    static const char *id##_name(const void *f) { return name_fn(*(const type *)f); }
ENUM_FNS(mode, nerve_vector_mode, nerve_vector_mode_parse, nerve_vector_mode_name)
ENUM_FNS(cover, nerve_cover_kind, nerve_cover_parse, nerve_cover_name)
ENUM_FNS(cluster, nerve_cluster_kind, nerve_cluster_parse, nerve_cluster_name)
ENUM_FNS(metric, nerve_metric, nerve_metric_parse, nerve_metric_name)
ENUM_FNS(scale, nerve_scale, nerve_scale_parse, nerve_scale_name)
ENUM_FNS(subsample, nerve_subsample, nerve_subsample_parse, nerve_subsample_name)
ENUM_FNS(tsne_method, nerve_tsne_method, nerve_tsne_method_parse, nerve_tsne_method_name)
#define ENUM(id) .kind = S_ENUM, .parse = id##_parse, .name = id##_name

#define AT(field) .at = offsetof(nerve_study_run_options, field)
#define COUNT(field) .count_at = offsetof(nerve_study_run_options, field)
#define RANGE(a, b) .lo = (a), .hi = (b)
static const setting settings[] = {
    { NULL, "model", S_PATH, AT(model) },
    { NULL, "checkpoints", S_PATHS, AT(checkpoints), COUNT(n_checkpoints) },
    { NULL, "data", S_INPUTS, AT(data) },
    { NULL, "out", S_PATH, AT(out) },
    { NULL, "limit", S_INT, AT(limit), RANGE(0, 1e15) },
    { NULL, "seed", S_SEED, AT(seed) },
    { NULL, "stages", S_STAGES, AT(stages) },
    { "preprocess", "preset", S_TEXT, AT(preset) },
    { "preprocess", "resize", S_INT, AT(pp.resize), RANGE(0, 65536) },
    { "preprocess", "center_crop", S_INT, AT(pp.crop), RANGE(0, 65536) },
    { "preprocess", "mean", S_FLOATS, AT(pp.mean), COUNT(pp.n_mean) },
    { "preprocess", "std", S_FLOATS, AT(pp.std), COUNT(pp.n_std), .positive = 1 },
    { "preprocess", "no_scale", S_BOOL, AT(pp.no_scale) },
    { "preprocess", "labels", S_PATH, AT(pp.labels) },
    { "preprocess", "class_names", S_PATH, AT(pp.class_names) },
    { "preprocess", "attention_mask", S_PATH, AT(pp.attention_mask) },
    { "preprocess", "strict", S_BOOL, AT(pp.strict) },
    { "extract", "layers", S_LAYERS, AT(layers) },
    { "extract", "mode", .at = offsetof(nerve_study_run_options, mode), ENUM(mode) },
    { "extract", "per_input", S_INT, AT(per_input), RANGE(1, 1e6) },
    { "extract", "batch", S_INT, AT(batch), RANGE(1, 1e6), .keyless = 1 },
    { "mapper", "lens", S_TEXT, AT(lens) },
    { "mapper", "cover", .at = offsetof(nerve_study_run_options, mapper.cover), ENUM(cover) },
    { "mapper", "intervals", S_INT, AT(mapper.intervals), RANGE(1, 1e6) },
    { "mapper", "overlap", S_REAL, AT(mapper.overlap), RANGE(0, 0.999) },
    { "mapper", "cluster", .at = offsetof(nerve_study_run_options, mapper.cluster), ENUM(cluster) },
    { "mapper", "eps", S_REAL, AT(mapper.eps), RANGE(0, 1e300) },
    { "mapper", "min_samples", S_INT, AT(mapper.min_samples), RANGE(1, 1e9) },
    { "mapper", "distance", S_REAL, AT(mapper.distance), RANGE(0, 1e300) },
    { "mapper", "metric", .at = offsetof(nerve_study_run_options, mapper.metric), ENUM(metric) },
    { "mapper", "min_intersection", S_INT, AT(mapper.min_intersection), RANGE(1, 1e9) },
    { "ph", "dimension", S_INT32, AT(ph.ph.max_dim), RANGE(0, NERVE_PH_MAX_DIM) },
    { "ph", "points", S_INT, AT(ph.max_points), RANGE(0, 1e9) },
    { "ph", "subsample", .at = offsetof(nerve_study_run_options, ph.subsample), ENUM(subsample) },
    { "ph", "scale", .at = offsetof(nerve_study_run_options, ph.scale), ENUM(scale) },
    { "ph", "metric", .at = offsetof(nerve_study_run_options, ph.ph.metric), ENUM(metric) },
    { "embed", "perplexity", S_REAL, AT(tsne.perplexity), RANGE(1e-3, 1e6) },
    { "embed", "iterations", S_INT, AT(tsne.iters), RANGE(1, 1e7) },
    { "embed", "early_iterations", S_INT, AT(tsne.early_iters), RANGE(0, 1e7) },
    { "embed", "exaggeration", S_REAL, AT(tsne.early_exaggeration), RANGE(1e-3, 1e6) },
    { "embed", "learning_rate", S_REAL, AT(tsne.learning_rate), RANGE(0, 1e12) },
    { "embed", "theta", S_REAL, AT(tsne.theta), RANGE(0, 10) },
    { "embed", "method", .at = offsetof(nerve_study_run_options, tsne.method), ENUM(tsne_method) },
    { "sim", "metrics", S_METRICS, AT(metrics), COUNT(n_metrics) },
    { "sim", "keep", S_REAL, AT(sim.keep), RANGE(1e-9, 1) },
    { "sim", "epsilon", S_REAL, AT(sim.epsilon), RANGE(0, 1) },
    { "sim", "dft_inputs", S_INT, AT(dft_inputs), RANGE(0, 1e9) },
    { "findings", "neighbours", S_INT, AT(findings.k), RANGE(1, 1000) },
    { "findings", "max_dims", S_INT, AT(findings.max_dims), RANGE(1, 4096) },
    { "featvis", "layers", S_TEXT, AT(featvis.layers) },
    { "featvis", "steps", S_INT, AT(featvis.steps), RANGE(1, 100000) },
    { "featvis", "channels", S_INT, AT(featvis.channels), RANGE(0, 256) },
    { "featvis", "cossim_pow", S_REAL, AT(featvis.cossim_pow), RANGE(0, 16) },
};
#undef AT
#undef COUNT
#undef RANGE
enum { N_SETTINGS = sizeof settings / sizeof *settings };

static const char *const section_names[] = { "preprocess", "extract", "mapper", "ph", "embed", "sim", "findings",
                                             "featvis" };

/* ---- stages ---------------------------------------------------------------- */

static const char *const stage_names[NERVE_STAGE_COUNT] = { "extract", "mean", "mapper", "ph", "embed", "sim",
                                                            "dynamics", "findings", "featvis" };

const char *nerve_study_stage_name(nerve_study_stage s)
{
    return s >= 0 && s < NERVE_STAGE_COUNT ? stage_names[s] : "?";
}

static int stage_parse(const char *name, size_t len)
{
    for (int i = 0; i < NERVE_STAGE_COUNT; i++)
        if (strlen(stage_names[i]) == len && strncmp(stage_names[i], name, len) == 0)
            return i;
    return -1;
}

int nerve_study_stages_parse(const char *list, unsigned *mask)
{
    if (strcmp(list, "all") == 0) {
        *mask = (1u << NERVE_STAGE_COUNT) - 1;
        return 0;
    }
    *mask = 1u << NERVE_STAGE_EXTRACT;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        int s = stage_parse(p, len);
        if (s < 0)
            return nerve_error_set(NERVE_EINPUT, "unknown stage '%.*s' (stages: extract, mean, mapper, ph, embed, "
                                   "sim, dynamics, findings, featvis, or all)", (int)len, p);
        *mask |= 1u << s;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* ---- fields ------------------------------------------------------------------ */

static void *field(nerve_study_run_options *o, size_t at)
{
    return (char *)o + at;
}

static const void *cfield(const nerve_study_run_options *o, size_t at)
{
    return (const char *)o + at;
}

/* A string that lives as long as o: kept in o->owned. */
static const char *own(nerve_study_run_options *o, const char *s)
{
    if (!o->owned)
        o->owned = json_array();
    json_t *j = json_string(s);
    if (!j || json_array_append_new(o->owned, j) < 0)
        return NULL;
    return json_string_value(j);
}

/* ---- reading ------------------------------------------------------------------ */

typedef struct reader {
    nerve_study_run_options *o;
    const char *file;      /* for messages */
    char        dir[PATH_MAX];   /* the file's folder: relative paths start there */
} reader;

static int wrong(const reader *r, const setting *s, const char *want)
{
    return nerve_error_set(NERVE_EINPUT, "%s: %s%s%s must be %s", r->file, s->section ? s->section : "",
                           s->section ? "." : "", s->key, want);
}

/* A path from the file, as the process can open it. */
static const char *path_from_file(const reader *r, const char *value)
{
    if (value[0] == '/' || strcmp(r->dir, ".") == 0)
        return own(r->o, value);
    if (strcmp(value, ".") == 0)
        return own(r->o, r->dir);
    char *joined;
    if (asprintf(&joined, "%s/%s", r->dir, value) < 0)
        return NULL;
    const char *kept = own(r->o, joined);
    free(joined);
    return kept;
}

static int read_text(const reader *r, const setting *s, const json_t *v)
{
    if (!json_is_string(v) || !*json_string_value(v))
        return wrong(r, s, "text");
    const char *value = json_string_value(v);
    int is_path = s->kind == S_PATH || (s->kind == S_INPUTS && strncmp(value, "fashion-mnist:", 14) != 0);
    const char *kept = is_path ? path_from_file(r, value) : own(r->o, value);
    if (!kept)
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", r->file);
    *(const char **)field(r->o, s->at) = kept;
    return 0;
}

static int read_paths(const reader *r, const setting *s, const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) > NERVE_STUDY_RUN_MAX_CHECKPOINTS)
        return wrong(r, s, "a list of at most 16 files");
    const char **items = field(r->o, s->at);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item) || !(items[i] = path_from_file(r, json_string_value(item))))
            return wrong(r, s, "a list of file names");
    }
    *(int *)field(r->o, s->count_at) = (int)json_array_size(v);
    return 0;
}

static int read_number(const reader *r, const setting *s, const json_t *v)
{
    char want[96];
    if (s->kind == S_SEED) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return wrong(r, s, "a whole number >= 0");
        *(uint64_t *)field(r->o, s->at) = (uint64_t)json_integer_value(v);
        return 0;
    }
    int whole = s->kind != S_REAL;
    snprintf(want, sizeof want, "a %s from %g to %g", whole ? "whole number" : "number", s->lo, s->hi);
    double x = json_number_value(v);
    if (!(whole ? json_is_integer(v) : json_is_number(v)) || !(x >= s->lo && x <= s->hi))
        return wrong(r, s, want);
    if (s->kind == S_INT)
        *(int64_t *)field(r->o, s->at) = json_integer_value(v);
    else if (s->kind == S_INT32)
        *(int *)field(r->o, s->at) = (int)json_integer_value(v);
    else
        *(double *)field(r->o, s->at) = x;
    return 0;
}

static int read_floats(const reader *r, const setting *s, const json_t *v)
{
    const char *want = s->positive ? "a list of up to 4 positive numbers" : "a list of up to 4 numbers";
    if (!json_is_array(v) || json_array_size(v) > 4)
        return wrong(r, s, want);
    float *values = field(r->o, s->at);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        double x = json_number_value(item);
        if (!json_is_number(item) || !isfinite(x) || (s->positive && !(x > 0)))
            return wrong(r, s, want);
        values[i] = (float)x;
    }
    *(int *)field(r->o, s->count_at) = (int)json_array_size(v);
    return 0;
}

/* A list of names as one comma-separated string into buf (cap bytes). */
static int join_names(char *buf, size_t cap, const json_t *list)
{
    size_t i, used = 0;
    json_t *item;
    buf[0] = '\0';
    json_array_foreach(list, i, item) {
        if (!json_is_string(item) || !*json_string_value(item) || strchr(json_string_value(item), ','))
            return -1;
        int n = snprintf(buf + used, cap - used, "%s%s", i ? "," : "", json_string_value(item));
        if (n < 0 || (size_t)n >= cap - used)
            return -1;
        used += (size_t)n;
    }
    return 0;
}

static int read_layers(const reader *r, const setting *s, const json_t *v)
{
    const char *want = "\"all\" or a list of layer names";
    if (json_is_string(v) && strcmp(json_string_value(v), "all") == 0)
        return read_text(r, s, v);
    char list[8192];
    if (!json_is_array(v) || json_array_size(v) == 0 || join_names(list, sizeof list, v) < 0)
        return wrong(r, s, want);
    if (!(*(const char **)field(r->o, s->at) = own(r->o, list)))
        return nerve_error_set(NERVE_ENOMEM, "%s: out of memory", r->file);
    return 0;
}

static int read_stages(const reader *r, const setting *s, const json_t *v)
{
    char list[256];
    if (!json_is_array(v) || join_names(list, sizeof list, v) < 0 ||
        nerve_study_stages_parse(list, field(r->o, s->at)) < 0)
        return wrong(r, s, "a list of stages: extract, mean, mapper, ph, embed, sim, dynamics, findings, featvis");
    return 0;
}

static int read_metrics(const reader *r, const setting *s, const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > NERVE_SIM_METRIC_COUNT)
        return wrong(r, s, "a list of similarity metrics (nerve compare --help lists them)");
    nerve_sim_metric *metrics = field(r->o, s->at);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item) || nerve_sim_metric_parse(json_string_value(item), &metrics[i]) < 0)
            return wrong(r, s, "a list of similarity metrics (nerve compare --help lists them)");
    }
    *(int *)field(r->o, s->count_at) = (int)json_array_size(v);
    return 0;
}

static int read_one(const reader *r, const setting *s, const json_t *v)
{
    switch (s->kind) {
    case S_TEXT: case S_PATH: case S_INPUTS:
        return read_text(r, s, v);
    case S_PATHS:
        return read_paths(r, s, v);
    case S_INT: case S_INT32: case S_SEED: case S_REAL:
        return read_number(r, s, v);
    case S_BOOL:
        if (!json_is_boolean(v))
            return wrong(r, s, "true or false");
        *(int *)field(r->o, s->at) = json_is_true(v);
        return 0;
    case S_FLOATS:
        return read_floats(r, s, v);
    case S_ENUM:
        if (!json_is_string(v) || s->parse(json_string_value(v), field(r->o, s->at)) < 0)
            return wrong(r, s, "one of the names nerve's commands take for it (see nerve run --help)");
        return 0;
    case S_LAYERS:
        return read_layers(r, s, v);
    case S_STAGES:
        return read_stages(r, s, v);
    case S_METRICS:
        return read_metrics(r, s, v);
    }
    return 0;
}

static const setting *find_setting(const char *section, const char *key)
{
    for (int i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].key, key) == 0 &&
            (section ? settings[i].section && strcmp(settings[i].section, section) == 0 : !settings[i].section))
            return &settings[i];
    return NULL;
}

static int is_section(const char *key)
{
    for (size_t i = 0; i < sizeof section_names / sizeof *section_names; i++)
        if (strcmp(section_names[i], key) == 0)
            return 1;
    return 0;
}

/* Every key of obj (the top level when section is NULL). */
static int read_object(const reader *r, const char *section, const json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int rc;
        if (!section && is_section(key)) {
            if (!json_is_object(v))
                return nerve_error_set(NERVE_EINPUT, "%s: %s must be an object of settings", r->file, key);
            rc = read_object(r, key, v);
        } else {
            const setting *s = find_setting(section, key);
            if (!s)
                return nerve_error_set(NERVE_EINPUT, "%s: unknown setting '%s%s%s'", r->file, section ? section : "",
                                       section ? "." : "", key);
            rc = read_one(r, s, v);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int nerve_study_settings_read(nerve_study_run_options *o, const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return nerve_error_set(NERVE_EINPUT, "%s: not a study file: %s (line %d)", path, err.text, err.line);
    reader r = { .o = o, .file = path };
    if (nerve_path(r.dir, sizeof r.dir, "%s", path) < 0) {
        json_decref(root);
        return NERVE_EINPUT;
    }
    char *slash = strrchr(r.dir, '/');
    if (!slash)
        snprintf(r.dir, sizeof r.dir, ".");
    else
        slash[slash == r.dir] = '\0';   /* "/x.json" -> "/" */
    /* A study's manifest: the settings it recorded. */
    const json_t *recorded = json_object_get(json_object_get(root, "run"), "settings");
    const json_t *top = recorded ? recorded : root;
    int rc = json_is_object(top) ? read_object(&r, NULL, top)
                                 : nerve_error_set(NERVE_EINPUT, "%s: a study file is a JSON object", path);
    json_decref(root);
    return rc;
}

/* ---- presets ------------------------------------------------------------------- */

typedef struct preset {
    const char *name;
    int64_t     resize, crop;
    float       mean[3], std[3];
} preset;

/* torchvision's ImageNet classification transforms (Resize(256),
 * CenterCrop(224), ToTensor, Normalize). */
static const preset presets[] = {
    { "imagenet", 256, 224, { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f } },
};

int nerve_study_settings_resolve(nerve_study_run_options *o)
{
    if (!o->preset)
        return 0;
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++) {
        const preset *p = &presets[i];
        if (strcmp(p->name, o->preset) != 0)
            continue;
        nerve_preprocess *pp = &o->pp;
        pp->resize = pp->resize ? pp->resize : p->resize;
        pp->crop = pp->crop ? pp->crop : p->crop;
        if (!pp->n_mean)
            memcpy(pp->mean, p->mean, sizeof p->mean), pp->n_mean = 3;
        if (!pp->n_std)
            memcpy(pp->std, p->std, sizeof p->std), pp->n_std = 3;
        return 0;
    }
    return nerve_error_set(NERVE_EINPUT, "unknown preset '%s' (presets: imagenet)", o->preset);
}

/* ---- writing -------------------------------------------------------------------- */

/* A path as seen from base (NULL: as given). */
static json_t *path_json(const char *path, const char *base)
{
    char *real = base ? realpath(path, NULL) : NULL;
    char *rel = real ? study_relative_path(base, real) : NULL;
    json_t *j = json_string(rel ? rel : path);
    free(rel);
    free(real);
    return j;
}

static json_t *names_json(const char *list)
{
    json_t *a = json_array();
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, len));
        p += len + (p[len] == ',');
    }
    return a;
}

static json_t *stages_json(unsigned mask)
{
    json_t *a = json_array();
    for (int i = 0; i < NERVE_STAGE_COUNT; i++)
        if (!mask || mask & (1u << i))
            json_array_append_new(a, json_string(stage_names[i]));
    return a;
}

/* One setting's value, or NULL when it is unset (a NULL string). */
static json_t *value_json(const nerve_study_run_options *o, const setting *s, const char *base)
{
    const void *f = cfield(o, s->at);
    int count = s->count_at ? *(const int *)cfield(o, s->count_at) : 0;
    json_t *a;
    switch (s->kind) {
    case S_TEXT:
        return *(const char *const *)f ? json_string(*(const char *const *)f) : NULL;
    case S_PATH:
        return *(const char *const *)f ? path_json(*(const char *const *)f, base) : NULL;
    case S_INPUTS: {
        const char *spec = *(const char *const *)f;
        return !spec ? NULL : strncmp(spec, "fashion-mnist:", 14) == 0 ? json_string(spec) : path_json(spec, base);
    }
    case S_PATHS:
        a = json_array();
        for (int i = 0; i < count; i++)
            json_array_append_new(a, path_json(((const char *const *)f)[i], base));
        return a;
    case S_INT:
        return json_integer(*(const int64_t *)f);
    case S_INT32:
        return json_integer(*(const int *)f);
    case S_SEED:
        return json_integer((json_int_t)*(const uint64_t *)f);
    case S_REAL:
        return json_real(*(const double *)f);
    case S_BOOL:
        return json_boolean(*(const int *)f);
    case S_FLOATS:
        a = json_array();
        for (int i = 0; i < count; i++)
            json_array_append_new(a, json_real(((const float *)f)[i]));
        return a;
    case S_ENUM:
        return json_string(s->name(f));
    case S_LAYERS: {
        const char *list = *(const char *const *)f;
        return !list ? NULL : strcmp(list, "all") == 0 ? json_string("all") : names_json(list);
    }
    case S_STAGES:
        return stages_json(*(const unsigned *)f);
    case S_METRICS:
        a = json_array();
        for (int i = 0; i < count; i++)
            json_array_append_new(a, json_string(nerve_sim_metric_name(((const nerve_sim_metric *)f)[i])));
        return a;
    }
    return NULL;
}

/* The settings of one section (NULL: the top level's plain values), all
 * or only those that change results. */
static json_t *section_json(const nerve_study_run_options *o, const char *section, const char *base, int keyed)
{
    json_t *obj = json_object();
    for (int i = 0; i < N_SETTINGS; i++) {
        const setting *s = &settings[i];
        if ((section ? !s->section || strcmp(s->section, section) != 0 : s->section != NULL) || (keyed && s->keyless))
            continue;
        json_t *v = value_json(o, s, base);
        if (v)
            json_object_set_new(obj, s->key, v);
    }
    return obj;
}

json_t *nerve_study_settings_json(const nerve_study_run_options *o, const char *base)
{
    char *root = base ? realpath(base, NULL) : NULL;
    json_t *all = section_json(o, NULL, root, 0);
    for (size_t i = 0; i < sizeof section_names / sizeof *section_names; i++)
        json_object_set_new(all, section_names[i], section_json(o, section_names[i], root, 0));
    free(root);
    return all;
}

char *study_settings_key(const nerve_study_run_options *o, const char *section)
{
    json_t *j = section_json(o, section, NULL, 1);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(j);
    return text;
}

void nerve_study_run_options_free(nerve_study_run_options *o)
{
    json_decref(o->owned);
    o->owned = NULL;
}
