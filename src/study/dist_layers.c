/*
 * dist_layers.c — a stage split over ranks by layers hands its per-layer
 * results (JSON: an index entry, a figure) to rank 0, which writes the
 * stage's index as one process would. The values travel as JSON text,
 * whose reals jansson prints to 17 digits, so they arrive bit for bit.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "study_internal.h"

/* This rank's filled slots as {"index": value, ...}, with its NUL. */
static char *own_slots(const json_t *slots)
{
    json_t *mine = json_object();
    for (size_t i = 0; i < json_array_size(slots); i++) {
        json_t *v = json_array_get(slots, i);
        char key[32];
        snprintf(key, sizeof key, "%zu", i);
        if (!json_is_null(v))
            json_object_set(mine, key, v);
    }
    char *text = json_dumps(mine, JSON_COMPACT);
    json_decref(mine);
    return text;
}

/* Rank 0: the slots in one rank's text filled in. */
static int take_slots(json_t *slots, const char *text)
{
    json_error_t err;
    json_t *theirs = json_loads(text, 0, &err);
    if (!theirs)
        return nerve_error_set(NERVE_EINTERNAL, "a rank's results do not parse: %s", err.text);
    const char *key;
    json_t *v;
    json_object_foreach(theirs, key, v) {
        size_t i = strtoul(key, NULL, 10);
        if (i < json_array_size(slots) && json_is_null(json_array_get(slots, i)))
            json_array_set(slots, i, v);
    }
    json_decref(theirs);
    return 0;
}

int study_dist_merge(json_t *slots)
{
    if (study_dist_size() == 1)
        return 0;
    char *text = own_slots(slots);
    if (!text)
        return nerve_error_set(NERVE_ENOMEM, "out of memory sending a stage's results");
    void *all = NULL;
    size_t bytes = 0;
    int rc = study_dist_gather(&all, &bytes, text, strlen(text) + 1);
    free(text);
    for (size_t at = 0; rc == 0 && at < bytes; at += strlen((char *)all + at) + 1)
        rc = take_slots(slots, (char *)all + at);
    free(all);
    return rc;
}

int study_dist_merge_all(json_t *slots)
{
    int rc = study_dist_merge(slots);
    if (study_dist_size() == 1)
        return rc;
    char *text = rc == 0 && study_dist_rank() == 0 ? json_dumps(slots, JSON_COMPACT) : NULL;
    int64_t bytes = text ? (int64_t)strlen(text) + 1 : -1;
    study_dist_broadcast(&bytes, sizeof bytes);   /* -1: rank 0 failed, every rank stops */
    if (bytes < 0)
        return rc < 0 ? rc : nerve_error_set(NERVE_EINTERNAL, "rank 0 could not send a stage's results");
    if (study_dist_rank() != 0 && !(text = malloc((size_t)bytes)))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory receiving a stage's results");
    if (rc == 0) {
        study_dist_broadcast(text, (size_t)bytes);
        json_error_t err;
        json_t *all = study_dist_rank() == 0 ? NULL : json_loads(text, 0, &err);
        if (study_dist_rank() != 0 && !all)
            rc = nerve_error_set(NERVE_EINTERNAL, "rank 0's results do not parse: %s", err.text);
        for (size_t i = 0; all && i < json_array_size(slots) && i < json_array_size(all); i++)
            json_array_set(slots, i, json_array_get(all, i));
        json_decref(all);
    }
    free(text);
    return rc;
}

int *study_dist_layer_owners(const study_manifest *m)
{
    int *owner = malloc(((size_t)m->count + 1) * sizeof *owner);
    int64_t *cost = malloc(((size_t)m->count + 1) * sizeof *cost);
    if (owner && cost) {
        for (int i = 0; i < m->count; i++)
            cost[i] = m->layers[i].rows;
        study_dist_owners(owner, cost, m->count, study_dist_size());
    } else {
        free(owner);
        owner = NULL;
        nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    free(cost);
    return owner;
}
