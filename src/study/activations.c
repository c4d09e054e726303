/*
 * activations.c — the raw activation maps of one input: the study's model
 * run on that input (preprocessed as the study's extraction did), every
 * extracted layer's output kept whole, each scaled to 0..255 by its layer's
 * largest magnitude so channels compare within a layer (the classic grid of
 * a convnet's feature maps).
 */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/path.h"
#include "study_internal.h"

typedef struct maps_ctx {
    json_t       *layers;
    int           failed;
    const int    *values;    /* the tapped values ... */
    const char  **display;   /* ... and their names for people */
    int           n_values;
} maps_ctx;

static const char *display_of(const maps_ctx *c, int value, const char *tap)
{
    for (int i = 0; i < c->n_values; i++)
        if (c->values[i] == value)
            return c->display[i];
    return tap;
}

/* A transformer's tokens (1, T, C) or (T, 1, C) as C maps: a ViT's patch
 * tokens (T = g * g, after a class token or not) on their g x g grid, where
 * each patch lies in the image, and other sequences as a 1 x T row. *maps
 * is malloc'd (C, H, W); *prefix the tokens before the grid. */
static int token_maps(float **maps, int64_t *channels, int64_t *h, int64_t *w, int64_t *prefix,
                      const nerve_array *t)
{
    int64_t T = t->shape[0] == 1 ? t->shape[1] : t->shape[0], C = t->shape[2];
    nerve_nn_token_grid(T, prefix, h, w);
    *channels = C;
    *maps = malloc((size_t)(C * *h * *w + 1) * sizeof **maps);
    if (!*maps)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for a layer's token maps");
    const float *x = t->data;
    for (int64_t c = 0; c < C; c++)
        for (int64_t p = 0; p < *h * *w; p++)
            (*maps)[c * *h * *w + p] = x[(*prefix + p) * C + c];
    return 0;
}

/* A (1, C, H, W) map, tokens, or a (1, C) vector (one row of C) as 8-bit
 * pixels. */
static int on_tap(void *ctx, const nerve_model *m, int value, const nerve_array *t)
{
    maps_ctx *c = ctx;
    int64_t channels, h = 1, w, prefix = -1;
    float *tokens = NULL;
    nerve_tap_info info = { .ndim = t->ndim };
    if (t->ndim == 3 && nerve_nn_tap_is_tokens(m, &info) && (t->shape[0] == 1 || t->shape[1] == 1)) {
        int rc = token_maps(&tokens, &channels, &h, &w, &prefix, t);
        if (rc < 0) {
            c->failed = 1;
            return rc;
        }
    } else if (t->ndim == 4) {
        channels = t->shape[1];
        h = t->shape[2];
        w = t->shape[3];
    } else {   /* a vector: one row of pixels */
        channels = 1;
        w = nerve_array_count(t);
    }
    int64_t n = channels * h * w;
    const float *v = tokens ? tokens : t->data;
    float top = 0, low = 0;
    for (int64_t i = 0; i < n; i++) {
        top = fmaxf(top, fabsf(v[i]));
        low = fminf(low, v[i]);
    }
    unsigned char *px = malloc((size_t)n + 1);
    if (!px) {
        free(tokens);
        c->failed = 1;
        return nerve_error_set(NERVE_ENOMEM, "out of memory for the activation maps of %s", m->values[value].name);
    }
    /* Non-negative layers (ReLU) from black, signed ones around mid-grey. */
    float offset = low < 0 ? 127.5f : 0, gain = top > 0 ? (low < 0 ? 127.5f : 255.0f) / top : 0;
    for (int64_t i = 0; i < n; i++)
        px[i] = (unsigned char)lrintf(offset + v[i] * gain);
    free(tokens);
    char *b64 = nerve_base64(px, (size_t)n, NULL);
    free(px);
    if (!b64) {
        c->failed = 1;
        return nerve_error_set(NERVE_ENOMEM, "out of memory for the activation maps of %s", m->values[value].name);
    }
    int appended = json_array_append_new(c->layers, json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:s}", "name", m->values[value].name,
                                               "display", display_of(c, value, m->values[value].name), "channels", (json_int_t)channels, "height", (json_int_t)h, "width",
                                               (json_int_t)w, "max_abs", (double)top, "maps", b64));
    free(b64);
    if (appended == 0 && prefix >= 0)   /* which tokens the maps show: those after the prefix */
        appended = json_object_set_new(json_array_get(c->layers, json_array_size(c->layers) - 1), "token_prefix",
                                       json_integer(prefix));
    if (appended != 0) {
        c->failed = 1;
        return nerve_error_set(NERVE_ENOMEM, "out of memory for the activation maps of %s", m->values[value].name);
    }
    return 0;
}

/* The model's values the manifest's layers name, with their display
 * names (nerve_study_display_names has given every layer one). */
static int layer_values(int **out, const char ***display, int *n, const nerve_model *m, json_t *manifest)
{
    json_t *layers = json_object_get(manifest, "layers");
    *out = malloc((json_array_size(layers) + 1) * sizeof **out);
    *display = malloc((json_array_size(layers) + 1) * sizeof **display);
    *n = 0;
    if (!*out || !*display)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *l = json_array_get(layers, i);
        const char *name = json_string_value(json_object_get(l, "name"));
        const char *shown = json_string_value(json_object_get(l, "display"));
        for (int v = 0; name && v < m->n_values; v++)
            if (m->values[v].name && strcmp(m->values[v].name, name) == 0) {
                (*display)[*n] = shown ? shown : name;
                (*out)[(*n)++] = v;
                break;
            }
    }
    return 0;
}

/* Input i's label as the study recorded it (inputs/labels.npy), or null. */
static json_t *study_label(const char *dir, int64_t input)
{
    char path[PATH_MAX];
    if (nerve_path(path, sizeof path, "%s/inputs/labels.npy", dir) < 0)
        return json_null();
    nerve_array labels = { 0 };
    json_t *out = json_null();
    if (nerve_npy_read(&labels, NULL, path, NERVE_I64) == 0 && labels.ndim == 1 && input < labels.shape[0]) {
        json_decref(out);
        out = json_integer(((const int64_t *)labels.data)[input]);
    }
    nerve_array_free(&labels);
    return out;
}

int nerve_study_activation_maps(json_t **out, const char *dir, int64_t input)
{
    *out = NULL;
    char path[PATH_MAX], spec[4400];
    if (nerve_path(path, sizeof path, "%s/manifest.json", dir) < 0)
        return NERVE_EINPUT;
    json_error_t err;
    json_t *manifest = json_load_file(path, 0, &err);
    if (!manifest)
        return nerve_error_set(NERVE_EINPUT, "%s: %s", path, err.text);
    int64_t count = json_integer_value(json_object_get(json_object_get(manifest, "inputs"), "count"));
    const char *model_path = json_string_value(json_object_get(json_object_get(manifest, "model"), "path"));
    /* The model reruns on the inputs as the extraction saw them: the same
     * files, preprocessed the same way. */
    nerve_preprocess pp;
    int rc = nerve_preprocess_from_json(&pp, manifest, path);
    if (rc == 0 && !model_path)
        rc = nerve_error_set(NERVE_EINPUT, "%s: no model path", path);
    if (rc == 0 && (input < 0 || input >= count))
        rc = nerve_error_set(NERVE_EINPUT, "input %lld is not one of the study's %lld", (long long)input,
                             (long long)count);
    const char *kind = json_string_value(json_object_get(json_object_get(manifest, "inputs"), "kind"));
    if (rc == 0 && kind && strcmp(kind, "token-ids") == 0)
        rc = nerve_error_set(NERVE_EUNSUPPORTED, "%s: the inputs are token ids: activation maps show the layers "
                             "of an image", path);
    if (rc == 0)
        rc = nerve_study_inputs_locate(spec, sizeof spec, manifest, dir, path);
    if (rc == 0)
        rc = nerve_study_display_names(manifest);
    nerve_model m = { 0 };
    nerve_inputs in = { 0 };
    nerve_array batch = { 0 };
    int *values = NULL, n_values = 0, opened = 0;
    const char **display = NULL;
    if (rc == 0 && (rc = nerve_onnx_load(&m, model_path)) == 0) {
        const nerve_value *v = &m.values[m.inputs[0]];
        int channels = v->ndim == 4 && v->shape[1] > 0 ? (int)v->shape[1] : 0;
        if ((rc = nerve_inputs_open(&in, spec, channels, &pp)) == 0)
            opened = 1;
    }
    /* The study took the first `count` inputs; fewer now means images were
     * deleted since, and every index after the gap is another image. */
    if (rc == 0 && in.count < count)
        rc = nerve_error_set(NERVE_EINPUT, "%s: the inputs changed since the study was made: %lld now, the study "
                             "has %lld", spec, (long long)in.count, (long long)count);
    if (rc == 0 && (rc = layer_values(&values, &display, &n_values, &m, manifest)) == 0)
        rc = nerve_inputs_batch(&in, input, 1, &batch);
    maps_ctx ctx = { json_array(), 0, values, display, n_values };
    if (rc == 0) {
        nerve_run_options ro = { .taps = values, .n_taps = n_values, .on_tap = on_tap, .ctx = &ctx };
        nerve_array output = { 0 };
        rc = nerve_nn_run(&m, &batch, 1, &output, 1, &ro);
        nerve_array_free(&output);
    }
    if (rc == 0)
        *out = json_pack("{s:I, s:o, s:O}", "input", (json_int_t)input, "label", study_label(dir, input), "layers",
                         ctx.layers);
    json_decref(ctx.layers);
    nerve_array_free(&batch);
    if (opened)
        nerve_inputs_free(&in);
    free(values);
    free(display);
    nerve_model_free(&m);
    json_decref(manifest);
    return rc;
}
