/*
 * manifest.c — reading a study's manifest: the inputs' count and the
 * layers extracted, with their files and row counts.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study_internal.h"

void study_manifest_free(study_manifest *m)
{
    for (int i = 0; i < m->count; i++) {
        free(m->layers[i].name);
        free(m->layers[i].file);
    }
    free(m->layers);
    memset(m, 0, sizeof *m);
}

int study_manifest_read(study_manifest *m, const char *dir)
{
    memset(m, 0, sizeof *m);
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot read the study manifest (%s); run nerve extract first",
                               path, err.text);
    m->inputs = json_integer_value(json_object_get(json_object_get(root, "inputs"), "count"));
    json_t *layers = json_object_get(root, "layers");
    size_t n = json_array_size(layers);
    int rc = m->inputs > 0 && n > 0 ? 0 : nerve_error_set(NERVE_EINPUT, "%s: no layers or no inputs listed", path);
    m->layers = calloc(n + 1, sizeof *m->layers);
    if (rc == 0 && !m->layers)
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
        if (!e->name || !e->file)
            rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    json_decref(root);
    if (rc < 0)
        study_manifest_free(m);
    return rc;
}
