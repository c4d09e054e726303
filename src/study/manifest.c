/*
 * manifest.c — reading a study's manifest: the inputs' count and the
 * layers extracted, with their files and row counts, each checked against
 * the study folder (a study may come from someone else).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/path.h"
#include "study_internal.h"

void study_file_stem(char *out, size_t cap, const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base);
    snprintf(out, cap, "%.*s", (int)(n > 4 && strcmp(base + n - 4, ".npy") == 0 ? n - 4 : n), base);
}

void study_manifest_free(study_manifest *m)
{
    for (int i = 0; i < m->count; i++) {
        free(m->layers[i].name);
        free(m->layers[i].file);
    }
    free(m->layers);
    free(m->spec);
    memset(m, 0, sizeof *m);
}

/* A layer's file names a place inside the study: relative, no "..", and
 * after symlinks still under the study folder. */
static int check_confined(const char *manifest, const char *dir, const char *file)
{
    int climbs = 0;
    for (const char *p = file; *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : p + strlen(p))
        climbs |= strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0');
    if (!*file || file[0] == '/' || climbs)
        return nerve_error_set(NERVE_EINPUT, "%s: layer file '%s' is not a path inside the study", manifest, file);
    char joined[PATH_MAX];
    if (nerve_path(joined, sizeof joined, "%s/%s", dir, file) < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: layer file '%.80s...': %s", manifest, file, nerve_error());
    char *root = realpath(dir, NULL), *real = realpath(joined, NULL);
    size_t n = root ? strlen(root) : 0;
    int inside = root && real && strncmp(real, root, n) == 0 && real[n] == '/';
    int rc = 0;
    if (!real)
        rc = nerve_error_set(NERVE_EINPUT, "%s: layer file %s cannot be read", manifest, joined);
    else if (!inside)
        rc = nerve_error_set(NERVE_EINPUT, "%s: layer file '%s' leads outside the study (to %s)", manifest, file, real);
    free(root);
    free(real);
    return rc;
}

/* The rows the manifest gives a layer are the rows of its .npy: readers
 * size their walks by the manifest and index the file. */
static int check_rows(const char *manifest, const char *dir, const study_layer *e)
{
    char path[PATH_MAX];
    nerve_npy_header h;
    int rc = nerve_path(path, sizeof path, "%s/%s", dir, e->file);
    if (rc == 0)
        rc = nerve_npy_read_header(&h, path);
    if (rc == 0 && (h.ndim != 2 || h.shape[0] != e->rows))
        rc = nerve_error_set(NERVE_EINPUT, "%s: layer %s has %lld rows, but %s holds %s%lld", manifest, e->name,
                             (long long)e->rows, path, h.ndim != 2 ? "no matrix: shape[0] " : "",
                             (long long)(h.ndim > 0 ? h.shape[0] : 0));
    return rc;
}

/* A layer's (C, H, W) when its shape is a conv map's; zeros otherwise. */
static void read_map_shape(int64_t map[3], const json_t *shape)
{
    map[0] = map[1] = map[2] = 0;
    if (json_array_size(shape) != 3)
        return;
    for (int k = 0; k < 3; k++)
        if (json_integer_value(json_array_get(shape, (size_t)k)) < 1)
            return;
    for (int k = 0; k < 3; k++)
        map[k] = json_integer_value(json_array_get(shape, (size_t)k));
}

int study_manifest_read(study_manifest *m, const char *dir)
{
    memset(m, 0, sizeof *m);
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/manifest.json", dir);
    if (rc < 0)
        return rc;
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot read the study manifest (%s); run nerve extract first",
                               path, err.text);
    json_t *inputs = json_object_get(root, "inputs");
    m->inputs = json_integer_value(json_object_get(inputs, "count"));
    m->skipped = json_integer_value(json_object_get(inputs, "skipped"));
    const char *spec = json_string_value(json_object_get(inputs, "spec"));
    json_t *layers = json_object_get(root, "layers");
    size_t n = json_array_size(layers);
    rc = m->inputs > 0 && n > 0 ? 0 : nerve_error_set(NERVE_EINPUT, "%s: no layers or no inputs listed", path);
    m->layers = calloc(n + 1, sizeof *m->layers);
    m->spec = strdup(spec ? spec : "");
    if (rc == 0 && (!m->layers || !m->spec))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *l = json_array_get(layers, i);
        const char *file = json_string_value(json_object_get(l, "file"));
        const char *name = json_string_value(json_object_get(l, "name"));
        json_int_t rows = json_integer_value(json_object_get(l, "rows"));
        if (!file || !name || rows < 1) {
            rc = nerve_error_set(NERVE_EINPUT, "%s: layer %zu has no name, file or rows", path, i);
            break;
        }
        study_layer *e = &m->layers[m->count++];
        e->name = strdup(name);
        e->file = strdup(file);
        e->rows = rows;
        read_map_shape(e->map, json_object_get(l, "shape"));
        if (!e->name || !e->file)
            rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
        if (rc == 0)
            rc = check_confined(path, dir, file);
        if (rc == 0)
            rc = check_rows(path, dir, e);
    }
    json_decref(root);
    if (rc < 0)
        study_manifest_free(m);
    return rc;
}

void nerve_study_layer_list_free(nerve_study_layer_list *l)
{
    for (int i = 0; i < l->count; i++) {
        free(l->names[i]);
        free(l->files[i]);
        free(l->stems[i]);
    }
    free(l->names);
    free(l->files);
    free(l->stems);
    free(l->rows);
    memset(l, 0, sizeof *l);
}

int nerve_study_layers(nerve_study_layer_list *out, const char *dir)
{
    memset(out, 0, sizeof *out);
    study_manifest m;
    int rc = study_manifest_read(&m, dir);
    if (rc < 0)
        return rc;
    out->inputs = m.inputs;
    out->names = calloc((size_t)m.count + 1, sizeof *out->names);
    out->files = calloc((size_t)m.count + 1, sizeof *out->files);
    out->stems = calloc((size_t)m.count + 1, sizeof *out->stems);
    out->rows = calloc((size_t)m.count + 1, sizeof *out->rows);
    if (!out->names || !out->files || !out->stems || !out->rows)
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < m.count; i++) {
        char stem[1024];
        study_file_stem(stem, sizeof stem, m.layers[i].file);
        out->names[i] = strdup(m.layers[i].name);
        out->files[i] = strdup(m.layers[i].file);
        out->stems[i] = strdup(stem);
        out->rows[i] = m.layers[i].rows;
        out->count++;
        if (!out->names[i] || !out->files[i] || !out->stems[i])
            rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    study_manifest_free(&m);
    if (rc < 0)
        nerve_study_layer_list_free(out);
    return rc;
}
