/*
 * inputs_record.c — what a study's manifest records about its inputs so
 * that the model can run again on them later, from any working directory:
 * the preprocessing the extraction applied (inputs.preprocess) and where
 * the inputs, their labels and class names are (relative to the study and
 * absolute). Whatever reruns the model reads them back through here.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nerve/internal/path.h"
#include "study_internal.h"

/* ---- preprocessing ---------------------------------------------------- */

static json_t *floats_json(int n, const float *v)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

json_t *nerve_preprocess_json(const nerve_preprocess *pp)
{
    return json_pack("{s:I, s:I, s:b, s:o, s:o}", "resize", (json_int_t)pp->resize, "center_crop",
                     (json_int_t)pp->crop, "scale_8bit", !pp->no_scale, "mean", floats_json(pp->n_mean, pp->mean),
                     "std", floats_json(pp->n_std, pp->std));
}

/* Sides beyond this are no image nerve reads (core refuses 256 MiB of pixels). */
enum { MAX_SIDE = 1 << 16 };

static int read_side(int64_t *out, const json_t *p, const char *key, const char *where)
{
    const json_t *v = json_object_get(p, key);
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MAX_SIDE)
        return nerve_error_set(NERVE_EINPUT, "%s: inputs.preprocess.%s must be a whole number from 0 to %d",
                               where, key, MAX_SIDE);
    *out = json_integer_value(v);
    return 0;
}

static int read_floats(float *out, int *n, const json_t *p, const char *key, int nonzero, const char *where)
{
    const json_t *a = json_object_get(p, key);
    *n = 0;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > 4)
        return nerve_error_set(NERVE_EINPUT, "%s: inputs.preprocess.%s must be a list of at most 4 numbers", where,
                               key);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_number(v) || (nonzero && json_number_value(v) == 0))
            return nerve_error_set(NERVE_EINPUT, "%s: inputs.preprocess.%s[%zu] must be a %snumber", where, key, i,
                                   nonzero ? "non-zero " : "");
        out[(*n)++] = (float)json_number_value(v);
    }
    return 0;
}

int nerve_preprocess_from_json(nerve_preprocess *pp, const json_t *manifest, const char *where)
{
    memset(pp, 0, sizeof *pp);
    const json_t *p = json_object_get(json_object_get(manifest, "inputs"), "preprocess");
    if (!p)
        return 0;   /* nothing recorded: none applied */
    if (!json_is_object(p))
        return nerve_error_set(NERVE_EINPUT, "%s: inputs.preprocess must be an object", where);
    const json_t *scale = json_object_get(p, "scale_8bit");
    if (scale && !json_is_boolean(scale))
        return nerve_error_set(NERVE_EINPUT, "%s: inputs.preprocess.scale_8bit must be true or false", where);
    pp->no_scale = json_is_false(scale);
    int rc = read_side(&pp->resize, p, "resize", where);
    if (rc == 0)
        rc = read_side(&pp->crop, p, "center_crop", where);
    if (rc == 0)
        rc = read_floats(pp->mean, &pp->n_mean, p, "mean", 0, where);
    if (rc == 0)
        rc = read_floats(pp->std, &pp->n_std, p, "std", 1, where);
    return rc;
}

/* ---- where the inputs are --------------------------------------------- */

char *study_relative_path(const char *from, const char *to)
{
    size_t i = 0, common = 0;   /* common: where the shared whole folders end */
    for (; from[i] && from[i] == to[i]; i++)
        if (from[i] == '/')
            common = i;
    if (!from[i] && (to[i] == '/' || !to[i]))
        common = i;
    int ups = 0;
    for (const char *s = from + common; *s; s++)
        ups += *s == '/' && s[1] != '\0';
    const char *rest = to + common + (to[common] == '/');
    size_t n = (size_t)ups * 3 + strlen(rest) + 2;
    char *out = malloc(n), *at = out;
    for (int k = 0; out && k < ups; k++, at += 3)
        memcpy(at, "../", 3);
    if (out)
        snprintf(at, n - (size_t)(at - out), "%s", rest);
    if (out && !*rest)   /* "../" -> "..", "" -> "." */
        snprintf(out + (ups ? 3 * ups - 1 : 0), 2, "%s", ups ? "" : ".");
    return out;
}

/* {"from_study": ..., "absolute": ...} for a path that exists, else NULL. */
static json_t *location_of(const char *path, const char *study_root)
{
    char *real = realpath(path, NULL);
    if (!real)
        return NULL;
    char *rel = study_root ? study_relative_path(study_root, real) : NULL;
    json_t *j = json_pack("{s:s?, s:s}", "from_study", rel, "absolute", real);
    free(rel);
    free(real);
    return j;
}

int nerve_study_inputs_record(json_t *inputs, const char *spec, const nerve_preprocess *pp, const char *study_dir)
{
    char *root = realpath(study_dir, NULL);
    if (!root)
        return nerve_error_set(NERVE_EINPUT, "%s: the study folder cannot be resolved", study_dir);
    struct { const char *key, *path; } paths[] = {
        { "location", strncmp(spec, "fashion-mnist:", 14) == 0 ? NULL : spec },
        { "labels_location", pp ? pp->labels : NULL },
        { "class_names_location", pp ? pp->class_names : NULL },
        { "attention_mask_location", pp ? pp->attention_mask : NULL },
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof paths / sizeof *paths && rc == 0; i++) {
        json_t *where = paths[i].path ? location_of(paths[i].path, root) : NULL;
        if (where && json_object_set_new(inputs, paths[i].key, where) < 0)
            rc = nerve_error_set(NERVE_ENOMEM, "out of memory recording %s", paths[i].path);
    }
    free(root);
    return rc;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The first of: the recorded path from the study, the recorded absolute
 * path, the path as given (relative to where the study was made). */
static int locate(char *out, size_t cap, const json_t *where, const char *given, const char *study_dir)
{
    const char *rel = json_string_value(json_object_get(where, "from_study"));
    const char *abs = json_string_value(json_object_get(where, "absolute"));
    if (rel && rel[0] != '/' && nerve_path(out, cap, "%s/%s", study_dir, rel) == 0 && exists(out))
        return 0;
    if (abs && nerve_path(out, cap, "%s", abs) == 0 && exists(out))
        return 0;
    if (given && nerve_path(out, cap, "%s", given) == 0 && exists(out))
        return 0;
    return -1;
}

int nerve_study_inputs_locate(char *out, size_t cap, const json_t *manifest, const char *study_dir,
                              const char *manifest_path)
{
    const json_t *inputs = json_object_get(manifest, "inputs");
    const char *spec = json_string_value(json_object_get(inputs, "spec"));
    if (!spec)
        return nerve_error_set(NERVE_EINPUT, "%s: inputs.spec is missing or not text", manifest_path);
    if (strncmp(spec, "fashion-mnist:", 14) == 0) {
        if ((size_t)snprintf(out, cap, "%s", spec) >= cap)
            return nerve_error_set(NERVE_EINPUT, "%s: inputs.spec is too long", manifest_path);
        return 0;
    }
    if (locate(out, cap, json_object_get(inputs, "location"), spec, study_dir) == 0)
        return 0;
    const char *rel = json_string_value(json_object_get(json_object_get(inputs, "location"), "from_study"));
    return nerve_error_set(NERVE_EINPUT, "%s: the study's inputs '%s' are not found%s%s%s (moved or deleted since "
                           "the study was made?)", manifest_path, spec, rel ? " (nor at " : "", rel ? rel : "",
                           rel ? " from the study)" : " from this working directory");
}
