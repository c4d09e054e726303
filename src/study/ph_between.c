/*
 * ph_between.c — persistence distances across studies (Purvine et al.'s
 * cross-model view): every layer of one study against every layer of
 * another model's or seed's, and the stacked matrix of all layers of
 * several studies, from the diagrams their ph stages wrote. Diagrams are
 * compared as each study normalised them, so the studies must agree on
 * what shapes them: the largest dimension, the metric, the normalisation.
 */
#define _DEFAULT_SOURCE   /* realpath */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/internal/path.h"
#include "study_internal.h"

typedef struct stacked {
    int       total;      /* layers of every study */
    nerve_ph *ph;
    json_t   *studies;    /* [{study, layers: [names]}] */
    json_t   *first;      /* the first study's ph/index.json (its settings) */
    const char *first_dir;
} stacked;

static void stacked_free(stacked *s)
{
    for (int i = 0; s->ph && i < s->total; i++)
        nerve_ph_free(&s->ph[i]);
    free(s->ph);
    json_decref(s->studies);
    json_decref(s->first);
    memset(s, 0, sizeof *s);
}

/* The settings that decide what a diagram is must match the first study's. */
static int same_settings(const stacked *s, const json_t *index, const char *dir)
{
    static const char *const keys[] = { "max_dim", "metric", "normalisation" };
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (!json_equal(json_object_get(s->first, keys[k]), json_object_get(index, keys[k]))) {
            char *a = json_dumps(json_object_get(s->first, keys[k]), JSON_ENCODE_ANY);
            char *b = json_dumps(json_object_get(index, keys[k]), JSON_ENCODE_ANY);
            int rc = nerve_error_set(NERVE_EINPUT, "%s and %s computed persistence with a different %s (%s, %s): "
                                     "their diagrams do not compare", s->first_dir, dir, keys[k], a ? a : "?",
                                     b ? b : "?");
            free(a);
            free(b);
            return rc;
        }
    return 0;
}

/* One study's layers' diagrams appended to s. */
static int add_study(stacked *s, const char *dir)
{
    char path[PATH_MAX];
    json_error_t e;
    int rc = nerve_path(path, sizeof path, "%s/ph/index.json", dir);
    json_t *index = rc == 0 ? json_load_file(path, 0, &e) : NULL;
    json_t *layers = json_object_get(index, "layers");
    if (rc == 0 && !index && access(path, F_OK) == 0)
        rc = nerve_error_set(NERVE_EINPUT, "%s: not JSON (%s, line %d)", path, e.text, e.line);
    else if (rc == 0 && !json_is_array(layers))
        rc = nerve_error_set(NERVE_EINPUT, "%s: no persistence diagrams (nerve ph --study %s makes them)", path, dir);
    if (rc == 0 && !s->first) {
        s->first = json_incref(index);
        s->first_dir = dir;
    }
    if (rc == 0)
        rc = same_settings(s, index, dir);
    size_t count = json_array_size(layers);
    nerve_ph *grown = rc == 0 ? realloc(s->ph, ((size_t)s->total + count + 1) * sizeof *grown) : NULL;
    if (rc == 0 && !grown)
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    if (grown)
        s->ph = grown;
    json_t *names = json_array();
    for (size_t i = 0; rc == 0 && i < count; i++) {
        json_t *entry = json_array_get(layers, i);
        memset(&s->ph[s->total], 0, sizeof *s->ph);
        if ((rc = study_ph_read_layer(&s->ph[s->total], dir, entry)) == 0) {
            s->total++;
            json_array_append(names, json_object_get(entry, "name"));
        }
    }
    json_array_append_new(s->studies, json_pack("{s:s, s:o}", "study", dir, "layers", names));
    json_decref(index);
    return rc;
}

static int load(stacked *s, const char *const *dirs, int n)
{
    memset(s, 0, sizeof *s);
    s->studies = json_array();
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++)
        rc = add_study(s, dirs[i]);
    if (rc < 0)
        stacked_free(s);
    return rc;
}

/* Every metric and dimension of the stacked layers: rows [r0, r1) against
 * columns [c0, c1) into folder (relative to the first study: rel), the
 * files listed by metric in *files. */
static int write_blocks(json_t **files, const stacked *s, const char *folder, const char *rel, int r0, int r1,
                        int c0, int c1)
{
    nerve_study_ph_options o;
    nerve_study_ph_defaults(&o);
    o.order = json_number_value(json_object_get(s->first, "order")) > 0
                  ? json_number_value(json_object_get(s->first, "order")) : o.order;
    int max_dim = (int)json_integer_value(json_object_get(s->first, "max_dim")), rc = 0;
    *files = json_object();
    for (int metric = 0; rc == 0 && metric < STUDY_PH_METRICS; metric++) {
        json_t *list = json_array();
        json_object_set_new(*files, study_ph_metric_names[metric], list);
        for (int d = 0; rc == 0 && d <= max_dim; d++) {
            nerve_mat all = { 0 }, block = { 0 };
            char path[PATH_MAX], name[PATH_MAX];
            if ((rc = study_ph_distance_matrix(&all, s->ph, s->total, d, metric, &o)) == 0 &&
                (rc = nerve_mat_alloc(&block, r1 - r0, c1 - c0)) == 0) {
                for (int i = r0; i < r1; i++)
                    memcpy(block.data + (size_t)(i - r0) * (size_t)(c1 - c0), all.data + (size_t)i * s->total + c0,
                           (size_t)(c1 - c0) * sizeof *block.data);
                if ((rc = nerve_path(name, sizeof name, "%s/%s.dim%d.npy", rel, study_ph_metric_names[metric], d)) ==
                        0 &&
                    (rc = nerve_path(path, sizeof path, "%s/%s.dim%d.npy", folder, study_ph_metric_names[metric],
                                     d)) == 0 &&
                    (rc = nerve_mat_write_npy(path, &block)) == 0)
                    json_array_append_new(list, json_string(name));
            }
            nerve_mat_free(&all);
            nerve_mat_free(&block);
        }
    }
    return rc;
}

int nerve_study_ph_between(const char *dir, const char *other)
{
    const char *dirs[2] = { dir, other };
    stacked s;
    int rc = load(&s, dirs, 2);
    if (rc < 0)
        return rc;
    int rows = (int)json_array_size(json_object_get(json_array_get(s.studies, 0), "layers"));
    char sim[1200], rel[1300], folder[PATH_MAX], path[PATH_MAX];
    nerve_study_between_folder(sim, sizeof sim, other);   /* "sim/vs_<other>" */
    snprintf(rel, sizeof rel, "ph/%s", sim + strlen("sim/"));
    json_t *files = NULL;
    if ((rc = nerve_path(folder, sizeof folder, "%s/%s", dir, rel)) == 0 && (rc = nerve_dir_create(folder)) == 0)
        rc = write_blocks(&files, &s, folder, rel, 0, rows, rows, s.total);
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/index.json", folder)) == 0)
        rc = study_write_json(path, json_pack("{s:s, s:O, s:O, s:o}", "other_study", other, "rows",
                                              json_object_get(json_array_get(s.studies, 0), "layers"), "columns",
                                              json_object_get(json_array_get(s.studies, 1), "layers"), "distances",
                                              files));
    else
        json_decref(files);
    stacked_free(&s);
    return rc;
}

int nerve_study_ph_stacked(const char *const *dirs, int n)
{
    if (n < 2)
        return nerve_error_set(NERVE_EINPUT, "--studies wants two studies or more, not %d", n);
    stacked s;
    int rc = load(&s, dirs, n);
    if (rc < 0)
        return rc;
    char folder[PATH_MAX], path[PATH_MAX];
    json_t *files = NULL;
    if ((rc = nerve_path(folder, sizeof folder, "%s/studies/ph", dirs[0])) == 0 && (rc = nerve_dir_create(folder)) == 0)
        rc = write_blocks(&files, &s, folder, "studies/ph", 0, s.total, 0, s.total);
    /* the siblings as the first study sees them, so the viewer finds them */
    char first[PATH_MAX];
    json_t *study;
    size_t i;
    json_array_foreach(s.studies, i, study) {
        char real[PATH_MAX], *rel = NULL;
        const char *d = json_string_value(json_object_get(study, "study"));
        if (rc == 0 && realpath(dirs[0], first) && realpath(d, real) && (rel = study_relative_path(first, real)))
            json_object_set_new(study, "study", json_string(rel));
        free(rel);
    }
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/studies/index.json", dirs[0])) == 0)
        rc = study_write_json(path, json_pack("{s:O, s:o}", "studies", s.studies, "distances", files));
    else
        json_decref(files);
    stacked_free(&s);
    return rc;
}
