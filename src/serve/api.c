/*
 * api.c — the viewer's JSON API: the study in one document (its manifest
 * and the index of every stage that ran; the page fetches the files those
 * name from /study/), and one layer's Mapper graph recomputed with the
 * viewer's slider values.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/path.h"
#include "nerve/knn.h"
#include "nerve/study.h"
#include "serve_internal.h"

/* serve_fail for functions that answer a JSON value: NULL. */
#define fail(e, ...) (serve_fail((e), __VA_ARGS__), (json_t *)NULL)

/* A JSON file of the study, or JSON null when that stage has not run. */
static json_t *study_json(const serve_ctx *s, const char *rel)
{
    char path[PATH_MAX];
    if (serve_resolve(path, sizeof path, s, rel) < 0)
        return json_null();
    json_t *j = json_load_file(path, 0, NULL);
    return j ? j : json_null();
}

/* A sub-study's similarity index with its matrices' files named from the
 * study's root ("sim/cka.npy" of mean/ is "mean/sim/cka.npy"), as the
 * viewer and the report fetch them. */
static json_t *sub_study_sim(const serve_ctx *s, const char *sub)
{
    char rel[256];
    if (nerve_path(rel, sizeof rel, "%s/sim/index.json", sub) < 0)
        return json_null();
    json_t *index = study_json(s, rel), *matrices = json_object_get(index, "matrices");
    const char *metric;
    json_t *file;
    void *next;
    json_object_foreach_safe(matrices, next, metric, file) {
        char path[SERVE_PATH_MAX];   /* longer is no file the server would give */
        if (!json_is_string(file))
            continue;
        if (nerve_path(path, sizeof path, "%s/%s", sub, json_string_value(file)) == 0)
            json_string_set(file, path);
        else
            json_object_del(matrices, metric);   /* a cut name would name another file */
    }
    return index;
}

/* Every embedding method's index the study holds ({"tsne": ..., "umap":
 * ...}), written by the run's embed stage or `nerve embed --study`. */
static json_t *embed_indexes(const serve_ctx *s)
{
    static const char *const methods[] = { "tsne", "umap", "pca" };
    json_t *all = json_object();
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "embed/index.%s.json", methods[i]);
        json_t *index = study_json(s, rel);
        if (json_is_object(index))
            json_object_set_new(all, methods[i], index);
        else
            json_decref(index);
    }
    return all;
}

json_t *serve_api_study(const serve_ctx *s, serve_error *e)
{
    json_t *manifest = study_json(s, "manifest.json");
    if (json_is_null(manifest))
        return fail(e, 500, "the study's manifest.json is gone or unreadable");
    /* People read layers by short names; the tap name stays the key. */
    if (nerve_study_display_names(manifest) < 0) {
        json_decref(manifest);
        return fail(e, 500, "%s", nerve_error());
    }
    const char *base = strrchr(s->root, '/');
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", base ? base + 1 : s->root,
                     "manifest", manifest, "mapper", study_json(s, "mapper/index.json"), "ph", study_json(s, "ph/index.json"),
                     "embed", study_json(s, "embed/index.tsne.json"), "embeds", embed_indexes(s),
                     "sim", study_json(s, "sim/index.json"),
                     "mean_sim", sub_study_sim(s, "mean"), "dynamics",
                     study_json(s, "checkpoints/index.json"), "findings", study_json(s, "findings/findings.json"),
                     "featvis", study_json(s, "featvis/index.json"), "studies", study_json(s, "studies/index.json"));
}

/* ---- /api/mapper -------------------------------------------------------------- */

/* The manifest's entry of layer, or NULL. */
static json_t *manifest_layer(json_t *manifest, const char *layer)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(manifest, "layers"), i, l)
        if (json_is_string(json_object_get(l, "name")) && strcmp(json_string_value(json_object_get(l, "name")), layer) == 0)
            return l;
    return NULL;
}

/* The layer's activations as they are on disk: its file must be inside the
 * study (a manifest naming "../../x.npy" reads nothing), a 2-D float
 * matrix whose row count is the one the manifest gives (the graph's member
 * indices are looked up in arrays of the manifest's size). path (PATH_MAX
 * bytes) gets the file's path. */
static int layer_file(const serve_ctx *s, const char *layer, char *path, int64_t *rows, int64_t *dim, serve_error *e)
{
    json_t *manifest = study_json(s, "manifest.json"), *l = manifest_layer(manifest, layer);
    const char *file = json_string_value(json_object_get(l, "file"));
    json_int_t said = json_integer_value(json_object_get(l, "rows"));
    nerve_npy_header h;
    int rc = 0;
    if (!l)
        rc = serve_fail(e, 404, "no layer '%.200s' in the study", layer);
    else if (!file || serve_resolve(path, PATH_MAX, s, file) < 0)
        rc = serve_fail(e, 500, "the manifest's file of layer '%.200s' is not a file inside the study", layer);
    else if (nerve_npy_read_header(&h, path) < 0)
        rc = serve_fail(e, 500, "%s", nerve_error());
    else if (h.ndim != 2 || h.shape[0] != said)
        rc = serve_fail(e, 500, "%.200s: %lld rows in the file, %lld in the manifest: the study is inconsistent "
                        "(run nerve extract again)", file, (long long)(h.ndim == 2 ? h.shape[0] : -1), (long long)said);
    else
        *rows = h.shape[0], *dim = h.shape[1];
    json_decref(manifest);
    return rc;
}

json_t *serve_api_mapper(const serve_ctx *s, const serve_request *q, serve_error *e)
{
    int64_t rows, dim;
    char path[PATH_MAX];
    serve_mapper_cost cost;
    if (layer_file(s, q->layer, path, &rows, &dim, e) < 0)
        return NULL;
    serve_mapper_estimate(&cost, rows, dim, &q->mapper);
    if (serve_mapper_affordable(&cost, e) < 0)
        return NULL;
    json_t *graph;
    double t0 = nerve_now();
    int rc = nerve_study_mapper_layer(&graph, s->root, q->layer, "l2norm", &q->mapper);
    if (rc == NERVE_EINPUT)
        return fail(e, strstr(nerve_error(), "no layer") ? 404 : 400, "%s", nerve_error());
    if (rc < 0)
        return fail(e, 500, "%s", nerve_error());
    json_object_set_new(graph, "seconds", json_real(nerve_now() - t0));
    json_object_set_new(graph, "layer", json_string(q->layer));
    return graph;
}

/* ---- /api/activations ----------------------------------------------------------- */

json_t *serve_api_activations(const serve_ctx *s, int64_t input, serve_error *e)
{
    json_t *maps;
    int rc = nerve_study_activation_maps(&maps, s->root, input);
    if (rc == NERVE_EINPUT) {
        const char *why = nerve_error();
        int gone = strstr(why, "changed since") || strstr(why, "are not found");
        return fail(e, strstr(why, "is not one of") ? 404 : gone ? 409 : 400, "%s", why);
    }
    if (rc < 0)
        return fail(e, 500, "%s", nerve_error());
    return maps;
}

/* ---- /api/neighbours ------------------------------------------------------------- */

/* The exact k nearest rows of one row in its layer's activation space (the
 * knn room's search of one query: rows x dim distances, no more than a
 * Mapper recompute may read), the row itself left out. */
json_t *serve_api_neighbours(const serve_ctx *s, const serve_request *q, serve_error *e)
{
    int64_t rows, dim;
    char path[PATH_MAX];
    if (layer_file(s, q->layer, path, &rows, &dim, e) < 0)
        return NULL;
    if ((double)rows * (double)dim > SERVE_MAX_VALUES)
        return fail(e, 400, "this layer holds %.3g values (points x dim); the server searches layers of at most %.3g",
                    (double)rows * (double)dim, SERVE_MAX_VALUES);
    if (q->row >= rows)
        return fail(e, 404, "row %lld is not one of the layer's %lld rows", (long long)q->row, (long long)rows);
    int64_t k = q->k < rows - 1 ? q->k : rows - 1;
    nerve_mat points = { 0 };
    nerve_knn nn = { 0 };
    int rc = nerve_mat_read_npy(&points, path);
    if (rc == 0) {
        nerve_mat query = { .rows = 1, .cols = dim, .data = points.data + q->row * dim };   /* a view: not freed */
        rc = nerve_knn_query(&nn, &query, &points, k + 1, q->metric);
    }
    json_t *list = json_array();
    for (int64_t j = 0; rc == 0 && j < nn.k && (int64_t)json_array_size(list) < k; j++)
        if (nn.index[j] != q->row)   /* itself, at distance 0 (or a duplicate of it, which stays) */
            json_array_append_new(list, json_pack("{s:I, s:f}", "row", (json_int_t)nn.index[j], "distance",
                                                  (double)nn.dist[j]));
    nerve_knn_free(&nn);
    nerve_mat_free(&points);
    if (rc < 0) {
        json_decref(list);
        return fail(e, 500, "%s", nerve_error());
    }
    return json_pack("{s:s, s:I, s:I, s:s, s:I, s:o}", "layer", q->layer, "row", (json_int_t)q->row, "dim",
                     (json_int_t)dim, "metric", nerve_metric_name(q->metric), "k", (json_int_t)k, "neighbours", list);
}
