/*
 * similarity.c — the layer x layer similarity matrices of a study: every
 * layer with one vector per input (as the manifest lists them) against
 * every other, for each measure, into study/sim/<metric>.npy (float32,
 * L x L) with study/sim/index.json naming the rows.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "nerve/study.h"
#include "study_internal.h"

typedef struct study_layers {
    int        count;
    nerve_mat *mats;
    char     **names;
} study_layers;

static void layers_free(study_layers *s)
{
    for (int i = 0; i < s->count; i++) {
        nerve_mat_free(&s->mats[i]);
        free(s->names[i]);
    }
    free(s->mats);
    free(s->names);
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
    if (!s->mats || !s->names)
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    *skipped = 0;
    for (int i = 0; rc == 0 && i < m.count; i++) {
        if (m.layers[i].rows != m.inputs) {
            ++*skipped;   /* several rows per input (--mode all, --per-input): not one point per input */
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, m.layers[i].file);
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

static int write_matrix(const char *dir, nerve_sim_metric metric, const double *m, int count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/sim/%s.npy", dir, nerve_sim_metric_name(metric));
    int64_t shape[2] = { count, count };
    nerve_array a;
    int rc = nerve_array_alloc(&a, NERVE_F32, 2, shape);
    for (int64_t i = 0; rc == 0 && i < (int64_t)count * count; i++)
        ((float *)a.data)[i] = (float)m[i];
    if (rc == 0)
        rc = nerve_npy_write(path, &a);
    nerve_array_free(&a);
    return rc;
}

static int write_index(const char *dir, const study_layers *s, const nerve_sim_metric *metrics, int n_metrics,
                       const nerve_sim_options *o)
{
    json_t *names = json_array(), *files = json_object();
    for (int i = 0; i < s->count; i++)
        json_array_append_new(names, json_string(s->names[i]));
    for (int k = 0; k < n_metrics; k++) {
        char file[64];
        snprintf(file, sizeof file, "sim/%s.npy", nerve_sim_metric_name(metrics[k]));
        json_object_set_new(files, nerve_sim_metric_name(metrics[k]), json_string(file));
    }
    json_t *root = json_pack("{s:o, s:o, s:{s:f, s:f}}", "layers", names, "matrices", files,
                             "options", "svcca_keep", o->keep, "cca_epsilon", o->epsilon);
    char path[4096];
    snprintf(path, sizeof path, "%s/sim/index.json", dir);
    return study_write_json(path, root);
}

int nerve_study_similarity(const char *dir, const nerve_sim_metric *metrics, int n_metrics,
                           const nerve_sim_options *o, int *skipped)
{
    study_layers s;
    int rc = load_layers(&s, dir, skipped);
    if (rc < 0)
        return rc;
    char path[4096];
    snprintf(path, sizeof path, "%s/sim", dir);
    rc = nerve_dir_create(path);
    size_t cells = (size_t)s.count * (size_t)s.count;
    double *all = malloc((size_t)n_metrics * cells * sizeof *all + 1);
    double *out[NERVE_SIM_METRIC_COUNT];
    if (rc == 0 && (!all || n_metrics > NERVE_SIM_METRIC_COUNT))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int k = 0; rc == 0 && k < n_metrics; k++)
        out[k] = all + (size_t)k * cells;
    int64_t pairs = 0;
    for (int k = 0; k < n_metrics; k++)   /* PWCCA's matrix is not symmetric: every pair */
        pairs += metrics[k] == NERVE_SIM_PWCCA ? (int64_t)s.count * s.count : (int64_t)s.count * (s.count + 1) / 2;
    nerve_progress bar;
    nerve_progress_begin(&bar, "compare", pairs);
    if (rc == 0)
        rc = nerve_sim_matrices(out, s.mats, s.count, metrics, n_metrics, o, &bar);
    nerve_progress_end(&bar);
    for (int k = 0; k < n_metrics && rc == 0; k++)
        rc = write_matrix(dir, metrics[k], out[k], s.count);
    if (rc == 0)
        rc = write_index(dir, &s, metrics, n_metrics, o);
    free(all);
    layers_free(&s);
    return rc;
}
