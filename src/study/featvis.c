/*
 * featvis.c — the featvis stage of a study: for every Mapper node of the
 * chosen layers, the image whose activation points where the node's mean
 * vector points (TopoAct's "averaged activation"), a gallery of each conv
 * layer's first channels, and one image per class logit, all in
 * DIR/featvis/ with featvis/index.json naming them and their figures.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/featvis.h"
#include "nerve/study.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/path.h"
#include "study_findings.h"
#include "study_internal.h"

void nerve_study_featvis_defaults(nerve_study_featvis_options *o)
{
    memset(o, 0, sizeof *o);
    /* Measured on the default study's relu3 (113 nodes): cosine >= 0.9 for
     * 95 nodes at 128 steps and power 2, 97 at power 3, 104 at 192 steps
     * and power 4 (bench/featvis_acceptance.sh). */
    o->steps = 192;
    o->channels = 8;
    o->cossim_pow = 4;
}

/* What every render of the study shares. */
typedef struct fv_study {
    const char *dir;
    const nerve_study_featvis_options *o;
    json_t     *manifest, *index, *skipped;
    nerve_model m;
    nerve_featvis_options fo;
} fv_study;

/* The model's input as the study fed it: size and preprocessing. */
static int input_options(fv_study *s, const char *where)
{
    nerve_preprocess pp;
    int rc = nerve_preprocess_from_json(&pp, s->manifest, where);
    if (rc < 0)
        return rc;
    json_t *shape = json_object_get(json_object_get(s->manifest, "inputs"), "shape");
    if (json_array_size(shape) != 3)
        return nerve_error_set(NERVE_EINPUT, "%s: inputs.shape is not (C, H, W)", where);
    int64_t chw[3];
    for (int d = 0; d < 3; d++)
        chw[d] = json_integer_value(json_array_get(shape, (size_t)d));
    nerve_featvis_defaults(&s->fo, chw[0], chw[1], chw[2]);
    s->fo.steps = s->o->steps;
    s->fo.seed = s->o->seed;
    s->fo.range = pp.no_scale ? 255 : 1;
    if (pp.n_mean > 0 && pp.n_mean != chw[0])
        return nerve_error_set(NERVE_EINPUT, "%s: %d means for %lld channels", where, pp.n_mean, (long long)chw[0]);
    s->fo.n_mean = pp.n_mean;
    for (int c = 0; c < pp.n_mean; c++) {
        s->fo.mean[c] = pp.mean[c];
        s->fo.std[c] = pp.n_std == pp.n_mean ? pp.std[c] : 1;
    }
    return 0;
}

/* Renders objectives and writes image i as featvis/<folder>/<prefix>_<i>;
 * returns the list of {image, objective[, cosine]} (NULL with *rc). */
static json_t *render_all(fv_study *s, const nerve_featvis_objective *obj, int64_t n, const char *folder,
                          const char *prefix, nerve_featvis_result *r, int *rc)
{
    char out[4096];
    *rc = nerve_path(out, sizeof out, "%s/featvis/%s", s->dir, folder);
    if (*rc == 0)
        *rc = nerve_dir_create(out);
    if (*rc == 0)
        *rc = nerve_featvis_render(r, &s->m, obj, n, &s->fo);
    json_t *list = *rc == 0 ? json_array() : NULL;
    for (int64_t i = 0; list && *rc == 0 && i < n; i++) {
        char name[64], rel[4200];
        snprintf(name, sizeof name, "%s_%lld", prefix, (long long)i);
        snprintf(rel, sizeof rel, "featvis/%s/%s.png", folder, name);
        *rc = nerve_featvis_write(r, i, out, name);
        json_t *one = json_pack("{s:s, s:f}", "image", rel, "objective", r->value[i]);
        if (!isnan(r->cosine[i]))
            json_object_set_new(one, "cosine", json_real(r->cosine[i]));
        json_array_append_new(list, one);
    }
    if (*rc < 0) {
        json_decref(list);
        list = NULL;
    }
    return list;
}

/* Each node's mean vector: nodes x dim. */
static float *node_means(const nerve_mapper_graph *g, const nerve_array *acts)
{
    int64_t dim = acts->shape[1];
    float *means = nerve_zalloc_array((size_t)(g->n_nodes * dim), sizeof(float), "nodes' mean vectors");
    for (int64_t v = 0; means && v < g->n_nodes; v++) {
        int64_t a = g->member_start[v], b = g->member_start[v + 1];
        for (int64_t c = 0; c < dim; c++) {
            double sum = 0;
            for (int64_t k = a; k < b; k++)
                sum += ((const float *)acts->data)[g->members[k] * dim + c];
            means[v * dim + c] = (float)(sum / (double)(b > a ? b - a : 1));
        }
    }
    return means;
}

/* The share of results whose cosine is at least 0.9 (the acceptance figure). */
static double share_close(const nerve_featvis_result *r)
{
    int64_t close = 0;
    for (int64_t i = 0; i < r->count; i++)
        close += r->cosine[i] >= 0.9;
    return r->count ? (double)close / (double)r->count : 0;
}

/* The channels of a layer whose channels lie over positions, 0 for any
 * other: maps (C, H, W) with more than one position, or a transformer's
 * tokens (T, C) taken per token or averaged over them (feature
 * visualisation reads them over the patch grid; a class token alone,
 * "cls", is not on it). */
static int64_t spread_channels(const json_t *layer)
{
    const json_t *shape = json_object_get(layer, "shape");
    const char *mode = json_string_value(json_object_get(layer, "mode"));
    int64_t a = json_integer_value(json_array_get(shape, 0)), b = json_integer_value(json_array_get(shape, 1));
    if (json_array_size(shape) == 3)
        return b * json_integer_value(json_array_get(shape, 2)) > 1 ? a : 0;
    int tokens = mode && (strcmp(mode, "tokens") == 0 || strcmp(mode, "random-token") == 0 || strcmp(mode, "mean") == 0);
    return json_array_size(shape) == 2 && tokens && a > 1 ? b : 0;
}

static int is_maps(const json_t *layer)
{
    return spread_channels(layer) > 0;
}

/* One layer's node images. A layer whose vectors are one position of its
 * maps or one token (random-, foreground-, max-norm, center, tokens,
 * random-token) is matched at the centre of the image's map or patch grid;
 * averaged layers over all positions. */
static int layer_nodes(fv_study *s, json_t *entry, const json_t *layer, const char *stem, int value)
{
    char path[4096];
    const char *mode = json_string_value(json_object_get(layer, "mode"));
    int at = is_maps(layer) && mode && strcmp(mode, "mean") != 0 && strcmp(mode, "max") != 0;
    nerve_mapper_graph g;
    nerve_array acts = { 0 };
    int rc = nerve_path(path, sizeof path, "%s/mapper/%s.json", s->dir, stem);
    if (rc == 0 && access(path, F_OK) != 0)
        return 0;   /* no Mapper stage, or the layer was skipped there: no node images */
    if (rc == 0 && (rc = study_findings_graph_read(&g, path)) < 0)
        return rc;
    if ((rc = nerve_path(path, sizeof path, "%s/%s", s->dir,
                         json_string_value(json_object_get(layer, "file")))) == 0)
        rc = nerve_npy_read(&acts, NULL, path, NERVE_F32);
    if (rc == 0 && (acts.ndim != 2 || acts.shape[0] != g.n_points))
        rc = nerve_error_set(NERVE_EINPUT, "%s: not the %lld rows its graph has", path, (long long)g.n_points);
    float *means = rc == 0 ? node_means(&g, &acts) : NULL;
    nerve_featvis_objective *obj = means ? nerve_zalloc_array((size_t)g.n_nodes + 1, sizeof *obj, "objectives") : NULL;
    if (rc == 0 && !obj)
        rc = NERVE_ENOMEM;
    for (int64_t v = 0; rc == 0 && v < g.n_nodes; v++)
        obj[v] = (nerve_featvis_objective){ .kind = at ? NERVE_FEATVIS_DIRECTION_AT : NERVE_FEATVIS_DIRECTION,
                                            .value = value, .y = -1, .x = -1, .direction = means + v * acts.shape[1],
                                            .length = acts.shape[1], .cossim_pow = s->o->cossim_pow, .group = -1 };
    nerve_featvis_result r = { 0 };
    json_t *list = rc == 0 && g.n_nodes > 0 ? render_all(s, obj, g.n_nodes, stem, "node", &r, &rc) : NULL;
    if (list) {
        json_object_set_new(entry, "nodes", list);
        json_object_set_new(entry, "nodes_cosine_0.9", json_real(share_close(&r)));
        json_object_set_new(entry, "nodes_at", json_string(at ? "centre" : "mean"));
    }
    nerve_featvis_result_free(&r);
    free(obj);
    free(means);
    nerve_array_free(&acts);
    nerve_mapper_graph_free(&g);
    return rc;
}

/* The first K channels of a layer of maps or tokens. */
static int layer_gallery(fv_study *s, json_t *entry, const json_t *layer, const char *stem, int value)
{
    int64_t k = spread_channels(layer);
    if (k < 1 || s->o->channels < 1)
        return 0;
    k = k < s->o->channels ? k : s->o->channels;
    nerve_featvis_objective obj[k];
    for (int64_t c = 0; c < k; c++)
        obj[c] = (nerve_featvis_objective){ .kind = NERVE_FEATVIS_CHANNEL, .value = value, .channel = c, .group = -1 };
    nerve_featvis_result r = { 0 };
    int rc;
    json_t *list = render_all(s, obj, k, stem, "channel", &r, &rc);
    nerve_featvis_result_free(&r);
    if (list)
        json_object_set_new(entry, "channels", list);
    return rc;
}

/* One image per class logit of the model's first output (N, K), with
 * the probability the model gives the image's class. */
static int classes(fv_study *s)
{
    int value = s->m.outputs[0];
    nerve_array zeros = { 0 }, y = { 0 };
    const int64_t shape[4] = { 1, s->fo.channels, s->fo.height, s->fo.width };
    int rc = nerve_array_alloc(&zeros, NERVE_F32, 4, shape);
    if (rc == 0)
        rc = nerve_nn_run(&s->m, &zeros, 1, &y, 1, NULL);
    nerve_array_free(&zeros);
    int64_t K = rc == 0 && y.ndim == 2 ? y.shape[1] : 0;
    nerve_array_free(&y);
    if (rc < 0 || K < 2 || K > 1000)
        return rc;   /* not class logits: no class images */
    nerve_featvis_objective obj[K];
    for (int64_t k = 0; k < K; k++)
        obj[k] = (nerve_featvis_objective){ .kind = NERVE_FEATVIS_CHANNEL, .value = value, .channel = k, .group = -1 };
    nerve_featvis_result r = { 0 };
    json_t *list = render_all(s, obj, K, "classes", "class", &r, &rc);
    /* one image a run: a model exported with batch 1 baked in runs no other */
    nerve_array one = r.inputs;   /* a view of image k */
    one.shape[0] = 1;
    for (int64_t k = 0; list && rc == 0 && k < K; k++) {
        one.data = (float *)r.inputs.data + k * (nerve_array_count(&r.inputs) / K);
        if ((rc = nerve_nn_run(&s->m, &one, 1, &y, 1, NULL)) < 0)
            break;
        const float *z = y.data;
        double top = z[0], sum = 0;
        for (int64_t j = 1; j < K; j++)
            top = fmax(top, z[j]);
        for (int64_t j = 0; j < K; j++)
            sum += exp(z[j] - top);
        json_object_set_new(json_array_get(list, (size_t)k), "probability", json_real(exp(z[k] - top) / sum));
        nerve_array_free(&y);
    }
    nerve_featvis_result_free(&r);
    if (list)
        json_object_set_new(s->index, "classes", list);
    return rc;
}

/* Whether the featvis setting's layer list names this layer (NULL or
 * "last-conv": the last layer of maps). */
static int chosen(const char *list, const json_t *layers, size_t i)
{
    const char *name = json_string_value(json_object_get(json_array_get(layers, i), "name"));
    if (list && strcmp(list, "last-conv") != 0) {
        size_t n = strlen(name);
        for (const char *p = list; (p = strstr(p, name)); p += n)
            if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
                return 1;
        return 0;
    }
    for (size_t j = json_array_size(layers); j-- > i + 1;)
        if (is_maps(json_array_get(layers, j)))
            return 0;
    return is_maps(json_array_get(layers, i));
}

static int every_layer(fv_study *s)
{
    json_t *layers = json_object_get(s->manifest, "layers"), *out = json_object();
    json_object_set_new(s->index, "layers", out);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(layers); i++) {
        const json_t *layer = json_array_get(layers, i);
        const char *name = json_string_value(json_object_get(layer, "name"));
        const char *file = json_string_value(json_object_get(layer, "file"));
        char stem[512];
        int value;
        if (!name || !file)
            return nerve_error_set(NERVE_EINPUT, "%s: layer %zu has no name or file", s->dir, i);
        study_file_stem(stem, sizeof stem, file);
        int nodes = chosen(s->o->layers, layers, i), maps = is_maps(layer);
        if ((!nodes && !maps) || (rc = nerve_featvis_find_layer(&s->m, name, &value)) < 0)
            continue;
        json_t *entry = json_pack("{s:s}", "name", name);
        json_object_set_new(out, stem, entry);
        if (nodes)
            rc = layer_nodes(s, entry, layer, stem, value);
        if (rc == 0 && maps)
            rc = layer_gallery(s, entry, layer, stem, value);
        if (rc == NERVE_EUNSUPPORTED)   /* no backward step on the way: the other layers go on */
            rc = study_skip_layer(s->skipped, "featvis", name);
    }
    return rc;
}

int nerve_study_featvis(const char *dir, const nerve_study_featvis_options *o)
{
    fv_study s = { .dir = dir, .o = o };
    char path[4096];
    json_error_t err;
    int rc = nerve_path(path, sizeof path, "%s/manifest.json", dir);
    if (rc == 0 && !(s.manifest = json_load_file(path, 0, &err)))
        rc = nerve_error_set(NERVE_EINPUT, "%s: %s", path, err.text);
    const char *model = json_string_value(json_object_get(json_object_get(s.manifest, "model"), "path"));
    if (rc == 0 && !model)
        rc = nerve_error_set(NERVE_EINPUT, "%s: no model.path", path);
    /* Text has no image to optimise: the stage is done with its reason. */
    const char *kind = json_string_value(json_object_get(json_object_get(s.manifest, "inputs"), "kind"));
    int text = kind && strcmp(kind, "token-ids") == 0;
    if (rc == 0 && !text)
        rc = input_options(&s, path);
    if (rc == 0 && !text)
        rc = nerve_onnx_load(&s.m, model);
    else
        memset(&s.m, 0, sizeof s.m);
    s.index = json_pack("{s:{s:I, s:I, s:f, s:s}}", "settings", "steps", (json_int_t)o->steps, "channels",
                        (json_int_t)o->channels, "cossim_pow", o->cossim_pow, "layers",
                        o->layers ? o->layers : "last-conv");
    s.skipped = json_array();
    json_object_set_new(s.index, "skipped", s.skipped);
    double t0 = nerve_now();
    if (rc == 0 && text) {
        nerve_error_set(NERVE_EUNSUPPORTED, "the inputs are token ids: feature visualisation optimises an image");
        rc = study_skip_layer(s.skipped, "featvis", "every layer");
    } else if (rc == 0) {
        rc = every_layer(&s);
        if (rc == 0 && (rc = classes(&s)) == NERVE_EUNSUPPORTED)
            rc = study_skip_layer(s.skipped, "featvis", "classes");
    }
    json_object_set_new(s.index, "seconds", json_real(nerve_now() - t0));
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/featvis/index.json", dir)) == 0) {
        rc = study_write_json(path, s.index);
        s.index = NULL;
    }
    json_decref(s.index);
    json_decref(s.manifest);
    if (s.m.nodes)
        nerve_model_free(&s.m);
    return rc;
}
