/*
 * similarity_dft.c — SVCCA of whole conv maps through the DFT (Raghu et
 * al. 2017) between a study's conv layers. Averaging a map over its
 * positions loses where things are; one random position per input
 * compares different places in different layers; the DFT compares every
 * (channel, position) of both maps, one C1 x C2 CCA per frequency. The
 * mean stage keeps the whole maps of the first inputs (DIR/mean/maps, a
 * flatten extraction of at most a gigabyte), and this adds their
 * svcca-dft matrix to DIR/mean/sim beside the metrics on averaged vectors.
 * A layer that is not a map (a Linear's vector) is NaN, with the reason in
 * the index, as is a pair the method refuses (fewer inputs than channels).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/sim.h"
#include "nerve/internal/path.h"
#include "nerve/study.h"
#include "study_internal.h"

/* The whole maps of every layer together stay under this. */
#define MAPS_BYTES_MAX (1ull << 30)

static int64_t map_values(const study_layer *l)
{
    return l->map[0] * l->map[1] * l->map[2];
}

int nerve_study_maps_inputs(int64_t *count, const char *mean_dir, int64_t wanted)
{
    *count = 0;
    study_manifest m;
    int rc = study_manifest_read(&m, mean_dir);
    if (rc < 0)
        return rc;
    uint64_t bytes = 0;
    int maps = 0;
    for (int i = 0; i < m.count; i++) {
        bytes += (uint64_t)(m.layers[i].map[0] ? map_values(&m.layers[i]) : m.layers[i].rows / m.inputs) * 4;
        maps += m.layers[i].map[0] > 0;
    }
    int64_t fit = bytes > 0 ? (int64_t)(MAPS_BYTES_MAX / bytes) : 0;
    *count = maps < 2 ? 0 : wanted < m.inputs ? wanted : m.inputs;
    if (*count > fit)
        *count = fit;
    study_manifest_free(&m);
    return 0;
}

/* The maps of the layer named `name` in the maps study, as (M, C, H, W);
 * 0 with nothing loaded when that layer is not a map there. */
static int load_map(nerve_array *a, const study_manifest *maps, const char *dir, const char *name)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < maps->count; i++) {
        const study_layer *l = &maps->layers[i];
        if (strcmp(l->name, name) != 0 || !l->map[0])
            continue;
        char path[PATH_MAX];
        int rc = nerve_path(path, sizeof path, "%s/%s", dir, l->file);
        if (rc == 0)
            rc = nerve_npy_read(a, NULL, path, NERVE_F32);
        if (rc == 0 && (a->ndim != 2 || a->shape[0] != maps->inputs || a->shape[1] != map_values(l))) {
            nerve_array_free(a);
            return nerve_error_set(NERVE_EINPUT, "%s: not %lld whole maps of %lld x %lld x %lld", path,
                                   (long long)maps->inputs, (long long)l->map[0], (long long)l->map[1],
                                   (long long)l->map[2]);
        }
        if (rc == 0) {
            a->ndim = 4;
            a->shape[1] = l->map[0];
            a->shape[2] = l->map[1];
            a->shape[3] = l->map[2];
        }
        return rc;
    }
    return 0;
}

typedef struct dft_matrix {
    int          count;
    nerve_array *maps;      /* per layer of the index; ndim 0: not a map */
    double      *value;     /* count x count */
    json_t      *refused;   /* [[a, b, reason], ...] */
} dft_matrix;

/* About how many floating-point operations svcca-dft takes on two maps of
 * n inputs: the separable DFT at the shared frequencies (hs x ws), the
 * Grams of each frequency, and its CCA. */
static double transform_cost(const nerve_array *a, double hs, double ws)
{
    double n = (double)a->shape[0], c = (double)a->shape[1], h = (double)a->shape[2], w = (double)a->shape[3];
    return 4 * n * c * h * ws * (w + 2 * hs);
}

static double pair_cost(const nerve_array *a, const nerve_array *b)
{
    double hs = (double)(a->shape[2] < b->shape[2] ? a->shape[2] : b->shape[2]);
    double ws = (double)(a->shape[3] < b->shape[3] ? a->shape[3] : b->shape[3]), r = hs * ws / 2 + 1;
    double n = (double)a->shape[0], c2 = 2 * (double)(a->shape[1] + b->shape[1]);
    return transform_cost(a, hs, ws) + transform_cost(b, hs, ws) + r * n * c2 * c2 + r * c2 * c2 * c2;
}

/* The stage's share of work: about a minute on two cores. The cheapest
 * pairs go first; the rest are refused, saying so. */
#define DFT_BUDGET 1.5e12

typedef struct dft_pair {
    int    i, j;
    double cost;
} dft_pair;

static int by_cost(const void *x, const void *y)
{
    const dft_pair *a = x, *b = y;
    if (a->cost != b->cost)
        return a->cost < b->cost ? -1 : 1;
    return a->i != b->i ? a->i - b->i : a->j - b->j;   /* ties in index order */
}

/* One pair, both orders alike (CCA is symmetric); a pair the method
 * refuses is NaN with its reason. */
static int one_pair(dft_matrix *d, const json_t *names, int i, int j, const nerve_sim_options *o)
{
    nerve_cca c;
    double v = NAN;
    int rc = nerve_sim_svcca_dft(&c, &d->maps[i], &d->maps[j], o);
    if (rc == 0)
        v = c.mean;
    else if (rc == NERVE_EINPUT) {   /* this pair only: say why */
        json_array_append_new(d->refused, json_pack("[O, O, s]", json_array_get(names, (size_t)i),
                                                    json_array_get(names, (size_t)j), nerve_error()));
        rc = 0;
    }
    nerve_cca_free(&c);
    d->value[i * d->count + j] = d->value[j * d->count + i] = v;
    return rc;
}

static int fill_pairs(dft_matrix *d, const json_t *names, const nerve_sim_options *o)
{
    dft_pair *pairs = calloc((size_t)d->count * (size_t)d->count + 1, sizeof *pairs);
    int64_t count = 0;
    if (!pairs)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int i = 0; i < d->count; i++)
        for (int j = i; j < d->count; j++)
            if (d->maps[i].ndim && d->maps[j].ndim)
                pairs[count++] = (dft_pair){ i, j, pair_cost(&d->maps[i], &d->maps[j]) };
    qsort(pairs, (size_t)count, sizeof *pairs, by_cost);
    nerve_progress bar;
    nerve_progress_begin(&bar, "svcca-dft", count);
    double spent = 0;
    int rc = 0;
    for (int64_t k = 0; rc == 0 && k < count; k++) {
        const dft_pair *p = &pairs[k];
        int64_t inputs = d->maps[p->i].shape[0];
        int64_t channels = d->maps[p->i].shape[1] > d->maps[p->j].shape[1] ? d->maps[p->i].shape[1]
                                                                            : d->maps[p->j].shape[1];
        char why[200];
        /* cca_core's assertion at every frequency (dead channels aside), known before any work */
        if (channels >= inputs) {
            snprintf(why, sizeof why, "svcca-dft: %lld inputs' maps are too few for %lld channels: each "
                     "frequency's CCA needs more inputs than channels (raise sim.dft_inputs)", (long long)inputs,
                     (long long)channels);
            json_array_append_new(d->refused, json_pack("[O, O, s]", json_array_get(names, (size_t)p->i),
                                                        json_array_get(names, (size_t)p->j), why));
        } else if ((spent += p->cost) <= DFT_BUDGET)
            rc = one_pair(d, names, p->i, p->j, o);
        else
            json_array_append_new(d->refused, json_pack("[O, O, s]", json_array_get(names, (size_t)p->i),
                json_array_get(names, (size_t)p->j), "not computed: the stage's share of svcca-dft work (about a "
                "minute) went to cheaper pairs; fewer inputs (sim.dft_inputs) or layers make room"));
        nerve_progress_update(&bar, k + 1);
    }
    nerve_progress_end(&bar);
    free(pairs);
    return rc;
}

/* The matrix as float32 .npy. */
static int write_values(const char *path, const double *m, int count)
{
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

/* The index gains the matrix, which layers are not maps and why, the
 * pairs refused, and how many inputs the maps are of. */
static int extend_index(const char *path, json_t *index, const dft_matrix *d, const json_t *names, int64_t inputs)
{
    json_t *vectors = json_array(), *nulls = json_object_get(index, "null_cells");
    for (int i = 0; i < d->count; i++)
        if (!d->maps[i].ndim)
            json_array_append(vectors, json_array_get(names, (size_t)i));
    json_object_set_new(json_object_get(index, "matrices"), "svcca-dft", json_string("sim/svcca-dft.npy"));
    if (!json_is_object(nulls))
        json_object_set_new(index, "null_cells", nulls = json_object());
    json_object_set_new(nulls, "not_maps", json_pack("{s:{s:o, s:s}}", "svcca-dft", "layers", vectors, "reason",
                                                     "svcca-dft compares whole conv maps (C, H, W); this layer "
                                                     "is a vector"));
    json_object_set_new(nulls, "refused_pairs", json_pack("{s:O}", "svcca-dft", d->refused));
    json_object_set_new(index, "svcca_dft", json_pack("{s:I, s:s}", "inputs", (json_int_t)inputs, "maps", "maps"));
    return study_write_json(path, json_incref(index));
}

int nerve_study_similarity_dft(const char *dir, const nerve_sim_options *o)
{
    char maps_dir[PATH_MAX], path[PATH_MAX];
    study_manifest maps = { 0 };
    json_error_t err;
    json_t *index = NULL;
    int rc = nerve_path(maps_dir, sizeof maps_dir, "%s/maps", dir);
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/sim/index.json", dir)) == 0 &&
        !(index = json_load_file(path, 0, &err)))
        rc = nerve_error_set(NERVE_EINPUT, "%s: %s (the sim stage writes it first)", path, err.text);
    if (rc == 0)
        rc = study_manifest_read(&maps, maps_dir);
    const json_t *names = json_object_get(index, "layers");
    dft_matrix d = { .count = (int)json_array_size(names), .refused = json_array() };
    d.maps = calloc((size_t)d.count + 1, sizeof *d.maps);
    d.value = malloc(((size_t)d.count * d.count + 1) * sizeof *d.value);
    if (rc == 0 && (!d.maps || !d.value))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int64_t i = 0; rc == 0 && i < (int64_t)d.count * d.count; i++)
        d.value[i] = NAN;
    for (int i = 0; rc == 0 && i < d.count; i++)
        rc = load_map(&d.maps[i], &maps, maps_dir, json_string_value(json_array_get(names, (size_t)i)));
    if (rc == 0)
        rc = fill_pairs(&d, names, o);
    char out[PATH_MAX];
    if (rc == 0 && (rc = nerve_path(out, sizeof out, "%s/sim/svcca-dft.npy", dir)) == 0 &&
        (rc = write_values(out, d.value, d.count)) == 0)
        rc = extend_index(path, index, &d, names, maps.inputs);
    for (int i = 0; d.maps && i < d.count; i++)
        nerve_array_free(&d.maps[i]);
    free(d.maps);
    free(d.value);
    json_decref(d.refused);
    json_decref(index);
    study_manifest_free(&maps);
    return rc;
}
