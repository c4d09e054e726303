/*
 * cache.c — nerve's model cache: a built-in network trained once with given
 * settings is kept as <cache>/<arch>-s<seed>-e<epochs>-...onnx beside a
 * .json record of its training (what `nerve train` prints), and found
 * there by the next run with the same settings.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/path.h"
#include "study_internal.h"

int nerve_cache_dir(char *out, size_t cap)
{
    const char *env = getenv("NERVE_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char parent[PATH_MAX];
    int rc;
    if (env && *env)
        return (rc = nerve_path(out, cap, "%s", env)) < 0 ? rc : nerve_dir_create(out);
    if (xdg && *xdg)
        rc = nerve_path(parent, sizeof parent, "%s", xdg);
    else
        rc = nerve_path(parent, sizeof parent, "%s/.cache", home && *home ? home : ".");
    if (rc == 0)
        rc = nerve_dir_create(parent);
    if (rc == 0)
        rc = nerve_path(out, cap, "%s/nerve", parent);
    return rc < 0 ? rc : nerve_dir_create(out);
}

int nerve_train_cache_path(char *out, size_t cap, const nerve_train_options *o)
{
    char dir[PATH_MAX], ckpts[400] = "";
    int rc = nerve_cache_dir(dir, sizeof dir);
    if (rc < 0)
        return rc;
    for (int i = 0; i < o->n_checkpoints; i++) {
        size_t n = strlen(ckpts);
        snprintf(ckpts + n, sizeof ckpts - n, "%s%g", i ? "," : "-c", o->checkpoints[i]);
    }
    return nerve_path(out, cap, "%s/%s-s%llu-e%lld-b%lld-%s-lr%g-%s-n%lld%s.onnx", dir, nerve_arch_name(o->arch),
                      (unsigned long long)o->seed, (long long)o->epochs, (long long)o->batch,
                      o->optimizer == NERVE_OPT_SGD ? "sgd" : "adam", o->lr,
                      o->schedule == NERVE_SCHEDULE_CONSTANT ? "constant" : "cosine", (long long)o->limit, ckpts);
}

json_t *nerve_train_record(const nerve_train_options *o, const nerve_train_result *r)
{
    json_t *epochs = json_array();
    for (int e = 0; e < r->epochs; e++)
        json_array_append_new(epochs, json_pack("{s:i, s:f, s:f, s:f, s:f}", "epoch", e + 1, "loss", r->loss[e],
                                                "train_accuracy", r->train_accuracy[e], "test_accuracy",
                                                r->test_accuracy[e], "seconds", r->seconds[e]));
    json_t *ckpts = json_array();
    for (int i = 0; i < o->n_checkpoints; i++) {
        char path[PATH_MAX];
        if (nerve_checkpoint_path(path, sizeof path, o->out, o->checkpoints[i]) == 0)   /* checked by training */
            json_array_append_new(ckpts, json_pack("{s:f, s:s}", "fraction", o->checkpoints[i], "file", path));
    }
    return json_pack("{s:s, s:b, s:s, s:s, s:s, s:I, s:I, s:f, s:I, s:I, s:o, s:o, s:f}", "model", o->out, "cached",
                     0, "arch", nerve_arch_name(o->arch), "dataset", o->dataset, "optimizer",
                     o->optimizer == NERVE_OPT_SGD ? "sgd" : "adam", "epochs", (json_int_t)o->epochs, "batch",
                     (json_int_t)o->batch, "learning_rate", r->learning_rate, "seed", (json_int_t)o->seed,
                     "steps", (json_int_t)r->steps, "per_epoch", epochs, "checkpoints", ckpts, "test_accuracy",
                     r->epochs ? r->test_accuracy[r->epochs - 1] : 0.0);
}

static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* The record of a cached model whose files are all there, or NULL. */
static json_t *cached_record(const nerve_train_options *o)
{
    char path[PATH_MAX];
    if (!exists(o->out))
        return NULL;
    for (int i = 0; i < o->n_checkpoints; i++)
        if (nerve_checkpoint_path(path, sizeof path, o->out, o->checkpoints[i]) < 0 || !exists(path))
            return NULL;
    if (nerve_path(path, sizeof path, "%s.json", o->out) < 0)
        return NULL;
    json_t *j = json_load_file(path, 0, NULL);
    if (j)
        json_object_set_new(j, "cached", json_true());
    return j;
}

static int write_record(const char *model, json_t *j)
{
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s.json", model);
    return rc < 0 ? rc : nerve_json_write(path, j, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
}

int nerve_train_cached(const nerve_train_options *o, int force, json_t **record)
{
    *record = force ? NULL : cached_record(o);
    if (*record)
        return 0;
    nerve_train_result r;
    int rc = nerve_train(o, &r);
    if (rc < 0)
        return rc;
    *record = nerve_train_record(o, &r);
    if ((rc = write_record(o->out, *record)) < 0) {
        json_decref(*record);
        *record = NULL;
    }
    return rc;
}
