/*
 * similarity.c — the layer x layer similarity matrices of a study: every
 * layer with one vector per input (as the manifest lists them) against
 * every other, for each measure, into study/sim/<metric>.npy (float32,
 * L x L) with study/sim/index.json naming the rows; between two studies;
 * and every layer against the classes (study/sim/classes.npy).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/mapper.h"
#include "nerve/sim.h"
#include "nerve/internal/path.h"
#include "nerve/study.h"
#include "dist.h"
#include "study_internal.h"

typedef struct study_layers {
    int        count;
    nerve_mat *mats;
    char     **names;
    int64_t    inputs, skipped;
    char      *spec;
} study_layers;

static void layers_free(study_layers *s)
{
    for (int i = 0; i < s->count; i++) {
        nerve_mat_free(&s->mats[i]);
        free(s->names[i]);
    }
    free(s->mats);
    free(s->names);
    free(s->spec);
    memset(s, 0, sizeof *s);
}

/* The manifest's layers that hold exactly one row per input. */
static int load_layers(study_layers *s, const char *dir, int *skipped)
{
    memset(s, 0, sizeof *s);
    study_manifest m;
    int rc = study_manifest_read(&m, dir);
    if (rc < 0)
        return rc;
    s->mats = calloc((size_t)m.count + 1, sizeof *s->mats);
    s->names = calloc((size_t)m.count + 1, sizeof *s->names);
    s->spec = strdup(m.spec);
    s->inputs = m.inputs;
    s->skipped = m.skipped;
    if (!s->mats || !s->names || !s->spec)
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    *skipped = 0;
    for (int i = 0; rc == 0 && i < m.count; i++) {
        if (m.layers[i].rows != m.inputs) {
            ++*skipped;   /* several rows per input (--mode all, --per-input): not one point per input */
            continue;
        }
        char path[PATH_MAX];
        if ((rc = nerve_path(path, sizeof path, "%s/%s", dir, m.layers[i].file)) < 0)
            break;
        if ((rc = nerve_mat_read_npy(&s->mats[s->count], path)) == 0 && s->mats[s->count].rows != m.inputs)
            rc = nerve_error_set(NERVE_EINPUT, "%s: %lld rows, the manifest says %lld", path,
                                 (long long)s->mats[s->count].rows, (long long)m.inputs);
        if (rc == 0 && !(s->names[s->count] = strdup(m.layers[i].name)))
            rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
        if (rc == 0)
            s->count++;
        else
            nerve_mat_free(&s->mats[s->count]);
    }
    study_manifest_free(&m);
    if (rc == 0 && s->count == 0)
        rc = nerve_error_set(NERVE_EINPUT, "%s: no layer has one vector per input", dir);
    if (rc < 0)
        layers_free(s);
    return rc;
}

/* Writes rows x cols of the matrix m (stride ld) as float32 .npy. */
static int write_block(const char *path, const double *m, int64_t ld, int64_t rows, int64_t cols)
{
    int64_t shape[2] = { rows, cols };
    nerve_array a;
    int rc = nerve_array_alloc(&a, NERVE_F32, 2, shape);
    for (int64_t i = 0; rc == 0 && i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            ((float *)a.data)[i * cols + j] = (float)m[i * ld + j];
    if (rc == 0)
        rc = nerve_npy_write(path, &a);
    nerve_array_free(&a);
    return rc;
}

static int write_matrix(const char *dir, nerve_sim_metric metric, const double *m, int count)
{
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/sim/%s.npy", dir, nerve_sim_metric_name(metric));
    return rc < 0 ? rc : write_block(path, m, count, count, count);
}

/* Why some cells are NaN (the viewer shows them as missing): a layer
 * constant over the inputs has NaN on its diagonal in every matrix; a
 * metric that could not be computed at all is NaN throughout, its reason
 * in `unavailable`. */
static json_t *null_reasons(const study_layers *s, double *const *out, const nerve_sim_metric *metrics,
                            int n_metrics, json_t *unavailable)
{
    json_t *constant = json_array();
    for (int i = 0; i < s->count; i++)
        for (int k = 0; k < n_metrics; k++)
            if (!json_object_get(unavailable, nerve_sim_metric_name(metrics[k])) &&
                isnan(out[k][(size_t)i * s->count + i])) {
                json_array_append_new(constant, json_string(s->names[i]));
                break;
            }
    return json_pack("{s:o, s:s, s:O}", "constant_layers", constant, "constant_reason",
                     "the layer is constant over all inputs: no representation to compare", "unavailable",
                     unavailable);
}

static int write_index(const char *dir, const study_layers *s, const nerve_sim_metric *metrics, int n_metrics,
                       const nerve_sim_options *o, json_t *nulls)
{
    json_t *names = json_array(), *files = json_object();
    for (int i = 0; i < s->count; i++)
        json_array_append_new(names, json_string(s->names[i]));
    for (int k = 0; k < n_metrics; k++) {
        char file[64];
        snprintf(file, sizeof file, "sim/%s.npy", nerve_sim_metric_name(metrics[k]));
        json_object_set_new(files, nerve_sim_metric_name(metrics[k]), json_string(file));
    }
    json_t *root = json_pack("{s:o, s:o, s:{s:f, s:f, s:I}, s:o}", "layers", names, "matrices", files,
                             "options", "svcca_keep", o->keep, "cca_epsilon", o->epsilon, "knn_k",
                             (json_int_t)o->knn_k, "null_cells", nulls);
    char path[PATH_MAX];
    if (nerve_path(path, sizeof path, "%s/sim/index.json", dir) < 0) {
        json_decref(root);
        return NERVE_EINPUT;
    }
    return study_write_json(path, root);
}

/* The metrics this rank computes: with several ranks, each takes its
 * share (PWCCA, every ordered pair, counts double); NULL when out of
 * memory. */
static char *own_metrics(const nerve_sim_metric *metrics, int n_metrics)
{
    int *owner = malloc((size_t)n_metrics * sizeof *owner + 1);
    int64_t *cost = malloc((size_t)n_metrics * sizeof *cost + 1);
    char *mine = calloc((size_t)n_metrics + 1, 1);
    if (owner && cost && mine) {
        for (int k = 0; k < n_metrics; k++)
            cost[k] = metrics[k] == NERVE_SIM_PWCCA ? 2 : 1;
        study_dist_owners(owner, cost, n_metrics, study_dist_size());
        for (int k = 0; k < n_metrics; k++)
            mine[k] = owner[k] == study_dist_rank();
    } else {
        free(mine);
        mine = NULL;
    }
    free(owner);
    free(cost);
    return mine;
}

/* This rank's metrics, metric by metric, so that one the inputs do not
 * allow (SVCCA with fewer inputs than directions) is NaN with its reason
 * in why[k], never a failed stage (issue 17 point 4, issue 18's
 * acceptance). */
static int compute_own(double **out, char **why, const study_layers *s, const nerve_sim_metric *metrics,
                       int n_metrics, const char *mine, const nerve_sim_options *o)
{
    size_t cells = (size_t)s->count * (size_t)s->count;
    int64_t pairs = 0;
    for (int k = 0; k < n_metrics; k++)   /* PWCCA's matrix is not symmetric: every pair */
        pairs += !mine[k] ? 0 : metrics[k] == NERVE_SIM_PWCCA ? (int64_t)s->count * s->count
                                                             : (int64_t)s->count * (s->count + 1) / 2;
    nerve_progress bar;
    nerve_progress_begin(&bar, "compare", pairs);
    int rc = 0;
    for (int k = 0; rc == 0 && k < n_metrics; k++)
        if (mine[k] && (rc = nerve_sim_matrices(&out[k], s->mats, s->count, &metrics[k], 1, o, &bar)) == NERVE_EINPUT) {
            why[k] = strdup(nerve_error());
            for (size_t i = 0; i < cells; i++)
                out[k][i] = NAN;
            rc = why[k] ? 0 : nerve_error_set(NERVE_ENOMEM, "out of memory");
        }
    nerve_progress_end(&bar);
    return rc;
}

/* Each rank's metrics to rank 0: for each, its number, its reason's
 * length (0: none), the reason and the matrix. */
static int gather_metrics(double **out, char **why, int n_metrics, size_t cells, const char *mine)
{
    size_t bytes = 0, at = 0, all_bytes = 0;
    for (int k = 0; k < n_metrics; k++)
        bytes += mine[k] ? 2 * sizeof(int64_t) + (why[k] ? strlen(why[k]) : 0) + cells * sizeof **out : 0;
    char *own = malloc(bytes + 1), *all = NULL;
    for (int k = 0; own && k < n_metrics; k++) {
        if (!mine[k])
            continue;
        int64_t head[2] = { k, why[k] ? (int64_t)strlen(why[k]) : 0 };
        memcpy(own + at, head, sizeof head);
        memcpy(own + at + sizeof head, why[k] ? why[k] : "", (size_t)head[1]);
        memcpy(own + at + sizeof head + head[1], out[k], cells * sizeof **out);
        at += sizeof head + (size_t)head[1] + cells * sizeof **out;
    }
    int rc = own ? study_dist_gather((void **)&all, &all_bytes, own, bytes)
                 : nerve_error_set(NERVE_ENOMEM, "out of memory sending similarities");
    free(own);
    for (at = 0; rc == 0 && study_dist_rank() == 0 && at < all_bytes;) {
        int64_t head[2];
        memcpy(head, all + at, sizeof head);
        int k = (int)head[0];
        if (!mine[k] && head[1] > 0 && !(why[k] = strndup(all + at + sizeof head, (size_t)head[1])))
            rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
        if (!mine[k])
            memcpy(out[k], all + at + sizeof head + head[1], cells * sizeof **out);
        at += sizeof head + (size_t)head[1] + cells * sizeof **out;
    }
    free(all);
    return rc;
}

int nerve_study_similarity(const char *dir, const nerve_sim_metric *metrics, int n_metrics,
                           const nerve_sim_options *o, int *skipped)
{
    study_layers s;
    int rc = load_layers(&s, dir, skipped);
    if (rc < 0)
        return rc;
    char path[PATH_MAX];
    if ((rc = nerve_path(path, sizeof path, "%s/sim", dir)) == 0)
        rc = nerve_dir_create(path);
    size_t cells = (size_t)s.count * (size_t)s.count;
    double *all = malloc((size_t)n_metrics * cells * sizeof *all + 1);
    double *out[NERVE_SIM_METRIC_COUNT];
    char *why[NERVE_SIM_METRIC_COUNT] = { 0 }, *mine = own_metrics(metrics, n_metrics);
    if (rc == 0 && (!all || !mine || n_metrics > NERVE_SIM_METRIC_COUNT))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int k = 0; rc == 0 && k < n_metrics; k++)
        out[k] = all + (size_t)k * cells;
    /* With several ranks each computes its share of the metrics; rank 0
     * gathers them and writes. */
    if (rc == 0)
        rc = compute_own(out, why, &s, metrics, n_metrics, mine, o);
    if (rc == 0)
        rc = gather_metrics(out, why, n_metrics, cells, mine);
    json_t *unavailable = json_object();
    for (int k = 0; k < n_metrics && rc == 0; k++)
        if (why[k])   /* in the metrics' order, as one process finds them */
            json_object_set_new(unavailable, nerve_sim_metric_name(metrics[k]), json_string(why[k]));
    int writes = study_dist_rank() == 0;
    for (int k = 0; k < n_metrics && rc == 0 && writes; k++)
        rc = write_matrix(dir, metrics[k], out[k], s.count);
    if (rc == 0 && writes)
        rc = write_index(dir, &s, metrics, n_metrics, o, null_reasons(&s, out, metrics, n_metrics, unavailable));
    json_decref(unavailable);
    for (int k = 0; k < NERVE_SIM_METRIC_COUNT; k++)
        free(why[k]);
    free(mine);
    free(all);
    layers_free(&s);
    return rc;
}

/* ---- two studies -------------------------------------------------------- */

/* The other study's folder name, made safe as a file name. */
static void study_label(char *out, size_t cap, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    const char *base = dir + n;
    while (base > dir && base[-1] != '/')
        base--;
    snprintf(out, cap, "%.*s", (int)(dir + n - base), base);
    for (char *c = out; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == '_'))
            *c = '_';
}

void nerve_study_between_folder(char *out, size_t cap, const char *other)
{
    char label[1024];
    study_label(label, sizeof label, other);
    snprintf(out, cap, "sim/vs_%s", label);
}

/* Inputs are matched by id, their place in the inputs both studies name:
 * the same source, nothing skipped, the first min(N_a, N_b) in common. */
static int common_inputs(int64_t *n, const study_layers *a, const study_layers *b, const char *da, const char *db)
{
    if (strcmp(a->spec, b->spec) != 0)
        return nerve_error_set(NERVE_EINPUT, "%s and %s were extracted from different inputs (%s, %s): no ids to match",
                               da, db, a->spec, b->spec);
    if (a->skipped || b->skipped)
        return nerve_error_set(NERVE_EINPUT, "%s: unreadable inputs were skipped, so ids do not line up with %s",
                               a->skipped ? da : db, a->skipped ? db : da);
    *n = a->inputs < b->inputs ? a->inputs : b->inputs;
    return 0;
}

static int write_between_index(const char *dir, const char *rel, const char *other, const study_layers *a,
                               const study_layers *b, int64_t inputs, const nerve_sim_metric *metrics, int n_metrics)
{
    json_t *rows = json_array(), *cols = json_array(), *files = json_object();
    for (int i = 0; i < a->count; i++)
        json_array_append_new(rows, json_string(a->names[i]));
    for (int i = 0; i < b->count; i++)
        json_array_append_new(cols, json_string(b->names[i]));
    char file[PATH_MAX], path[PATH_MAX];
    int rc = 0;
    for (int k = 0; rc == 0 && k < n_metrics; k++)
        if ((rc = nerve_path(file, sizeof file, "%s/%s.npy", rel, nerve_sim_metric_name(metrics[k]))) == 0)
            json_object_set_new(files, nerve_sim_metric_name(metrics[k]), json_string(file));
    if (rc == 0)
        rc = nerve_path(path, sizeof path, "%s/%s/index.json", dir, rel);
    if (rc < 0) {
        json_decref(rows);
        json_decref(cols);
        json_decref(files);
        return rc;
    }
    return study_write_json(path, json_pack("{s:s, s:I, s:o, s:o, s:o}", "other_study", other, "inputs",
                                            (json_int_t)inputs, "rows", rows, "columns", cols, "matrices", files));
}

int nerve_study_similarity_between(const char *dir, const char *other, const nerve_sim_metric *metrics,
                                   int n_metrics, const nerve_sim_options *o, int *skipped)
{
    study_layers a, b = { 0 };
    int skip_b = 0;
    int rc = load_layers(&a, dir, skipped);
    if (rc < 0)
        return rc;
    int64_t n = 0;
    if ((rc = load_layers(&b, other, &skip_b)) == 0)
        rc = common_inputs(&n, &a, &b, dir, other);
    *skipped += skip_b;
    int count = a.count + b.count;
    nerve_mat *all = rc == 0 ? calloc((size_t)count, sizeof *all) : NULL;
    double *cells = rc == 0 ? malloc((size_t)n_metrics * (size_t)a.count * (size_t)b.count * sizeof *cells) : NULL;
    double *out[NERVE_SIM_METRIC_COUNT];
    if (rc == 0 && (!all || !cells || n_metrics > NERVE_SIM_METRIC_COUNT))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    /* Both studies' layers as one list over the common inputs (views: the
     * first n rows); the block of A's rows and B's columns is the answer. */
    for (int i = 0; rc == 0 && i < count; i++) {
        all[i] = i < a.count ? a.mats[i] : b.mats[i - a.count];
        all[i].rows = n;
    }
    for (int k = 0; rc == 0 && k < n_metrics; k++)
        out[k] = cells + (size_t)k * a.count * b.count;
    nerve_progress bar;
    nerve_progress_begin(&bar, "compare", (int64_t)n_metrics * a.count * b.count);
    if (rc == 0)
        rc = nerve_sim_cross_matrices(out, all, a.count, count, metrics, n_metrics, o, &bar);
    nerve_progress_end(&bar);
    char rel[1100], path[PATH_MAX];
    nerve_study_between_folder(rel, sizeof rel, other);
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/sim", dir)) == 0 && (rc = nerve_dir_create(path)) == 0 &&
        (rc = nerve_path(path, sizeof path, "%s/%s", dir, rel)) == 0)
        rc = nerve_dir_create(path);
    for (int k = 0; rc == 0 && k < n_metrics; k++)
        if ((rc = nerve_path(path, sizeof path, "%s/%s/%s.npy", dir, rel, nerve_sim_metric_name(metrics[k]))) == 0)
            rc = write_block(path, out[k], b.count, a.count, b.count);
    if (rc == 0)
        rc = write_between_index(dir, rel, other, &a, &b, n, metrics, n_metrics);
    free(all);
    free(cells);
    layers_free(&a);
    layers_free(&b);
    return rc;
}

/* ---- layers against classes ---------------------------------------------- */

/* The study's labels (inputs/labels.npy), checked, and how many classes. */
static int read_labels(nerve_mapper_columns *cols, int64_t *n_classes, const char *dir, int64_t n)
{
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/inputs/labels.npy", dir);
    if (rc == 0)
        rc = nerve_mapper_columns_read(cols, path, NULL, NULL, n);
    if (rc == 0)
        rc = nerve_mapper_labels_check(n_classes, cols->labels.data, n, path);
    return rc;
}

int nerve_study_class_sensitivity(const char *dir, double keep)
{
    study_layers s;
    int skipped;
    int rc = load_layers(&s, dir, &skipped);
    if (rc < 0)
        return rc;
    nerve_mapper_columns cols = { 0 };
    int64_t n_classes = 0;
    rc = read_labels(&cols, &n_classes, dir, s.inputs);
    double *rho = rc == 0 ? malloc((size_t)s.count * (size_t)n_classes * sizeof *rho + 1) : NULL;
    if (rc == 0 && !rho)
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    json_t *reasons = json_object();
    for (int l = 0; rc == 0 && l < s.count; l++) {
        double *row = rho + (size_t)l * n_classes;
        int r = nerve_sim_class_sensitivity(row, &s.mats[l], cols.labels.data, (int)n_classes, keep);
        if (r == NERVE_EINPUT) {   /* a row of nulls with its reason, not a failed stage */
            json_object_set_new(reasons, s.names[l], json_string(nerve_error()));
            for (int64_t c = 0; c < n_classes; c++)
                row[c] = NAN;
        } else if (r < 0) {
            rc = r;
        }
    }
    char path[PATH_MAX];
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/sim", dir)) == 0 && (rc = nerve_dir_create(path)) == 0 &&
        (rc = nerve_path(path, sizeof path, "%s/sim/classes.npy", dir)) == 0)
        rc = write_block(path, rho, n_classes, s.count, n_classes);
    json_t *layers = json_array();
    for (int l = 0; l < s.count; l++)
        json_array_append_new(layers, json_string(s.names[l]));
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/sim/classes.json", dir)) == 0)
        rc = study_write_json(path, json_pack("{s:s, s:f, s:o, s:I, s:s, s:O}", "measure",
                                              "canonical correlation of the layer's SVCCA directions with each "
                                              "class's indicator", "keep", keep, "layers", layers, "classes",
                                              (json_int_t)n_classes, "matrix", "sim/classes.npy", "null_rows",
                                              reasons));
    else
        json_decref(layers);
    json_decref(reasons);
    free(rho);
    nerve_mapper_columns_free(&cols);
    layers_free(&s);
    return rc;
}
