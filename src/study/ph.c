/*
 * ph.c — the persistence of every layer of a study: each layer's diagrams
 * (on max-min landmarks, divided by the layer's scale so that layers of
 * different widths and magnitudes compare), and the layer x layer matrices
 * of bottleneck, Wasserstein and sliced Wasserstein distances, dimension
 * by dimension.
 */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/path.h"
#include "dist.h"
#include "study_internal.h"

const char *const study_ph_metric_names[STUDY_PH_METRICS] = { "bottleneck", "wasserstein", "sliced_wasserstein" };

void nerve_study_ph_defaults(nerve_study_ph_options *o)
{
    memset(o, 0, sizeof *o);
    nerve_ph_defaults(&o->ph);
    o->max_points = 1000;
    o->subsample = NERVE_SUBSAMPLE_MAXMIN;
    o->scale = NERVE_SCALE_DIAMETER;
    o->order = 1;
    o->relative_error = -1;
    o->directions = 50;
}

static void divide_diagrams(nerve_ph *ph, double scale)
{
    if (!(scale > 0))
        return;
    for (int d = 0; d <= ph->max_dim; d++)
        for (int64_t i = 0; i < ph->dgm[d].n; i++) {
            ph->dgm[d].birth[i] /= scale;
            ph->dgm[d].death[i] /= scale;   /* inf stays inf */
        }
}

static json_t *betti_numbers(const nerve_ph *ph)
{
    json_t *a = json_array();
    for (int d = 0; d <= ph->max_dim; d++)
        json_array_append_new(a, json_integer(ph->dgm[d].n));
    return a;
}

/* One layer's diagrams, written as DIR/ph/<stem>.json; *entry describes it. */
static int layer_diagrams(nerve_ph *ph, json_t **entry, const char *dir, const study_layer *l,
                          const nerve_study_ph_options *o)
{
    char path[PATH_MAX], stem[1024], rel[1100];
    nerve_mat x, sub = { 0 };
    int rc = nerve_path(path, sizeof path, "%s/%s", dir, l->file);
    if (rc == 0)
        rc = nerve_mat_read_npy(&x, path);
    if (rc < 0)
        return rc;
    const nerve_mat *use = &x;
    if (o->max_points > 0 && x.rows > o->max_points) {
        rc = nerve_ph_subsample(&sub, NULL, &x, o->max_points, o->subsample, o->ph.metric, o->seed);
        use = &sub;
    }
    double scale = 1;
    if (rc == 0 && (rc = nerve_ph_scale(&scale, use, o->scale, o->ph.metric)) == 0)
        rc = nerve_ph_points(ph, use, &o->ph);
    if (rc == 0) {
        divide_diagrams(ph, scale);
        study_file_stem(stem, sizeof stem, l->file);
        snprintf(rel, sizeof rel, "ph/%s.json", stem);   /* a stem is a file's name: it fits */
        rc = nerve_path(path, sizeof path, "%s/%s", dir, rel);
    }
    if (rc == 0) {
        json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:i, s:s, s:s, s:f, s:o}", "layer", l->name, "input", l->file,
                                "points", (json_int_t)x.rows, "points_used", (json_int_t)use->rows, "max_dim",
                                o->ph.max_dim, "metric", nerve_metric_name(o->ph.metric), "normalisation",
                                nerve_scale_name(o->scale), "scale", scale, "diagrams", nerve_ph_diagrams_json(ph));
        *entry = json_pack("{s:s, s:s, s:I, s:f, s:o}", "name", l->name, "diagrams", rel, "points_used",
                           (json_int_t)use->rows, "scale", scale, "counts", betti_numbers(ph));
        if ((rc = study_write_json(path, doc)) == 0)
            rc = nerve_ph_write_npys(path, ph);
    }
    nerve_mat_free(&sub);
    nerve_mat_free(&x);
    return rc;
}

int study_ph_pair_distance(double *out, int metric, const nerve_diagram *a, const nerve_diagram *b,
                           const nerve_study_ph_options *o)
{
    if (metric == 0)
        return nerve_diagram_bottleneck(out, a, b);
    if (metric == 1) {
        double e = o->relative_error >= 0 ? o->relative_error : nerve_diagram_wasserstein_default_error(a, b);
        return nerve_diagram_wasserstein_within(out, a, b, o->order, e);
    }
    return nerve_diagram_sliced_wasserstein(out, a, b, o->directions);
}

int study_ph_distance_matrix(nerve_mat *m, const nerve_ph *ph, int64_t layers, int dim, int metric,
                             const nerve_study_ph_options *o)
{
    int rc = nerve_mat_alloc(m, layers, layers);
    if (rc < 0)
        return rc;
    float *v = m->data;
    int64_t pairs = layers * (layers - 1) / 2;
    int failed = 0;
    #pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
    for (int64_t p = 0; p < pairs; p++) {
        int64_t i = 1, before = 0;   /* pair p is (i, j), j < i, in row-major order below the diagonal */
        while (before + i <= p)
            before += i++;
        int64_t j = p - before;
        double d = 0;
        failed |= study_ph_pair_distance(&d, metric, &ph[i].dgm[dim], &ph[j].dgm[dim], o) < 0;
        v[i * layers + j] = v[j * layers + i] = (float)d;
    }
    return failed ? nerve_error_set(NERVE_ENOMEM, "persistence distances: out of memory") : 0;
}

/* The matrices of `values` (study_ph_shared_distances), one a metric
 * and dimension. */
static int write_distances(json_t *index, const char *dir, const float *values, int64_t layers,
                           const nerve_study_ph_options *o)
{
    int64_t pairs = layers * (layers - 1) / 2;
    json_t *all = json_object();
    json_object_set_new(index, "distances", all);
    for (int metric = 0; metric < STUDY_PH_METRICS; metric++) {
        json_t *files = json_array();
        json_object_set_new(all, study_ph_metric_names[metric], files);
        for (int d = 0; d <= o->ph.max_dim; d++) {
            char rel[256], path[PATH_MAX];
            snprintf(rel, sizeof rel, "ph/%s.dim%d.npy", study_ph_metric_names[metric], d);
            nerve_mat m = { 0 };
            int rc = nerve_path(path, sizeof path, "%s/%s", dir, rel);
            if (rc == 0)
                rc = nerve_mat_alloc(&m, layers, layers);
            const float *v = values + (int64_t)(metric * (o->ph.max_dim + 1) + d) * pairs;
            for (int64_t i = 1, p = 0; rc == 0 && i < layers; i++)
                for (int64_t j = 0; j < i; j++, p++)
                    m.data[i * layers + j] = m.data[j * layers + i] = v[p];
            if (rc == 0)
                rc = nerve_mat_write_npy(path, &m);
            nerve_mat_free(&m);
            if (rc < 0)
                return rc;
            json_array_append_new(files, json_string(rel));
        }
    }
    return 0;
}

int study_ph_read_layer(nerve_ph *ph, const char *dir, const json_t *entry)
{
    char path[PATH_MAX];
    const char *rel = json_string_value(json_object_get(entry, "diagrams"));
    int dims = 0, rc = rel ? nerve_path(path, sizeof path, "%s/%s", dir, rel)
                           : nerve_error_set(NERVE_EINTERNAL, "a rank sent a persistence entry without diagrams");
    if (rc == 0)
        rc = nerve_ph_read_diagrams(ph->dgm, &dims, path);
    ph->max_dim = dims - 1;
    return rc;
}

int nerve_study_ph(const char *dir, const nerve_study_ph_options *o, int *layers_done)
{
    *layers_done = 0;
    study_manifest m;
    int rc = study_manifest_read(&m, dir);
    if (rc < 0)
        return rc;
    char path[PATH_MAX];
    nerve_ph *ph = calloc((size_t)m.count, sizeof *ph);
    json_t *layers = json_array();
    rc = ph ? nerve_path(path, sizeof path, "%s/ph", dir) : nerve_error_set(NERVE_ENOMEM, "out of memory");
    if (rc == 0)
        rc = nerve_dir_create(path);
    /* With several ranks each computes its share of the layers' diagrams
     * and reads the others' from their files; then each computes its share
     * of the distances (ph_pairs.c), which rank 0 writes. */
    int *owner = rc == 0 ? study_dist_layer_owners(&m) : NULL, rank = study_dist_rank();
    if (rc == 0 && !owner)
        rc = NERVE_ENOMEM;
    for (int i = 0; rc == 0 && i < m.count; i++) {
        if (owner[i] != rank) {
            json_array_append_new(layers, json_null());
            continue;
        }
        if (!nerve_quiet())
            fprintf(stderr, "nerve: persistence of %s\n", m.layers[i].name);
        json_t *entry = NULL;
        if ((rc = layer_diagrams(&ph[i], &entry, dir, &m.layers[i], o)) == 0) {
            json_array_append_new(layers, entry);
            (*layers_done)++;
        }
    }
    if (rc == 0)
        rc = study_dist_merge_all(layers);
    for (int i = 0; rc == 0 && i < m.count; i++)
        if (owner[i] != rank) {
            rc = study_ph_read_layer(&ph[i], dir, json_array_get(layers, (size_t)i));
            (*layers_done)++;
        }
    free(owner);
    float *values = NULL;
    if (rc == 0)
        rc = study_ph_shared_distances(&values, ph, m.count, o->ph.max_dim + 1, o);
    if (rank != 0) {   /* the index and the distances are rank 0's */
        json_decref(layers);
        layers = NULL;
    }
    json_t *index = json_pack("{s:i, s:s, s:I, s:s, s:I, s:s, s:f, s:o}", "max_dim", o->ph.max_dim, "metric",
                              nerve_metric_name(o->ph.metric), "max_points", (json_int_t)o->max_points, "subsample",
                              nerve_subsample_name(o->subsample), "seed", (json_int_t)o->seed, "normalisation",
                              nerve_scale_name(o->scale), "order", o->order, "layers", layers);
    if (rc == 0 && layers)
        rc = write_distances(index, dir, values, m.count, o);
    free(values);
    if (rc == 0)
        rc = nerve_path(path, sizeof path, "%s/ph/index.json", dir);
    if (rc == 0 && layers) {
        rc = study_write_json(path, index);
    } else {
        json_decref(index);
    }
    for (int i = 0; ph && i < m.count; i++)
        nerve_ph_free(&ph[i]);
    free(ph);
    study_manifest_free(&m);
    return rc;
}
