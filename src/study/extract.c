/*
 * extract.c — `nerve extract`: runs a model over its inputs batch by batch
 * and streams each chosen layer's vectors to study/acts/<layer>.npy, so no
 * layer is ever held whole in memory; then the predictions, the labels and
 * the manifest that records how it was all made.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nerve/study.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/path.h"
#include "dist.h"
#include "extract_internal.h"

void nerve_extract_defaults(nerve_extract_options *o)
{
    memset(o, 0, sizeof *o);
    o->out = "study";
    o->layers = "all";
    o->mode = NERVE_MODE_RANDOM_POSITION;
    o->per_input = 1;
    o->batch = 64;
}

void nerve_layer_file_name(char *out, size_t cap, const char *tap)
{
    size_t n = 0;
    const char *p = tap;
    while (*p == '/')   /* torch names start with '/' */
        p++;
    for (; *p && n + 1 < cap; p++)
        out[n++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                                  *p == '.' || *p == '-' || *p == '_' ? *p : '_');
    out[n] = '\0';
}

/* ---- choosing layers ------------------------------------------------- */

static int unknown_layer(const extraction *x, const char *name, const nerve_tap_info *taps, int n_taps)
{
    char list[2048];
    size_t n = 0;
    for (int i = 0; i < n_taps && n < sizeof list - 64; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
                              x->model.values[taps[i].value].name);
    return nerve_error_set(NERVE_EINPUT, "%s: no layer '%s' (layers: %s%s)", x->model.path, name, list,
                           n >= sizeof list - 64 ? ", ... see nerve layers" : "");
}

static int add_layer(extraction *x, const nerve_tap_info *t)
{
    layer *l = &x->layers[x->n_layers++];
    memset(l, 0, sizeof *l);
    l->value = t->value;
    l->name = x->model.values[t->value].name;
    l->op = x->model.nodes[t->node].op;
    nerve_layer_file_name(l->file, sizeof l->file, l->name);
    /* the shape of one input: the tap's shape without its batch axis */
    l->batch_axis = t->batch_axis;
    l->ndim = t->ndim - 1;
    for (int d = 0, k = 0; d < t->ndim; d++)
        if (d != t->batch_axis)
            l->shape[k++] = t->shape[d];
    l->stream = 0x9e3779b97f4a7c15ull * (uint64_t)(x->n_layers);
    x->layer_of_value[t->value] = x->n_layers - 1;
    return vector_layout(&l->layout, x->o->mode, x->o->per_input, l->ndim, l->shape,
                         nerve_nn_tap_is_tokens(&x->model, t));
}

/* A tap whose batch is spread over an axis with other things (a Gemm over
 * (T*N, C)) has no rows of its own inputs. */
static int mixed_batch(const extraction *x, const nerve_tap_info *t)
{
    return nerve_error_set(NERVE_EINPUT, "%s: layer '%s' mixes a batch's inputs in one axis (it is computed "
                           "over the tokens of every input at once); take the layer after it",
                           x->model.path, x->model.values[t->value].name);
}

/* --layers all: the layer ops, and the output of every block of tokens
 * (a transformer's layers, whose outputs are residual Adds and norms). */
static int add_all(extraction *x, const nerve_tap_info *taps, int n_taps)
{
    int *block_out = malloc(((size_t)n_taps + 1) * sizeof *block_out);
    if (!block_out)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    nerve_nn_block_outputs(&x->model, taps, n_taps, block_out);
    int rc = 0;
    for (int i = 0; i < n_taps && rc == 0; i++)
        if (taps[i].batch_axis >= 0 && (nerve_nn_is_layer_op(x->model.nodes[taps[i].node].op) ||
                                        (block_out[i] && nerve_nn_tap_is_tokens(&x->model, &taps[i]))))
            rc = add_layer(x, &taps[i]);
    free(block_out);
    return rc;
}

static int choose_layers(extraction *x, const int64_t *input_shape, int input_ndim)
{
    nerve_tap_info *taps;
    int n_taps;
    int rc = nerve_nn_describe_batched(&x->model, input_ndim, input_shape, &taps, &n_taps);
    if (rc < 0)
        return rc;
    x->layers = calloc((size_t)n_taps + 1, sizeof *x->layers);
    x->layer_of_value = malloc(((size_t)x->model.n_values + 1) * sizeof *x->layer_of_value);
    if (!x->layers || !x->layer_of_value) {
        free(taps);
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    for (int v = 0; v < x->model.n_values; v++)
        x->layer_of_value[v] = -1;
    if (strcmp(x->o->layers, "all") == 0) {
        rc = add_all(x, taps, n_taps);
    } else {
        char *names = strdup(x->o->layers), *save = NULL;
        for (char *name = strtok_r(names, ",", &save); name && rc == 0; name = strtok_r(NULL, ",", &save)) {
            int found = -1;
            for (int i = 0; i < n_taps; i++)
                if (strcmp(x->model.values[taps[i].value].name, name) == 0)
                    found = i;
            if (found < 0)
                rc = unknown_layer(x, name, taps, n_taps);
            else if (taps[found].batch_axis < 0)
                rc = mixed_batch(x, &taps[found]);
            else if (x->layer_of_value[taps[found].value] < 0)
                rc = add_layer(x, &taps[found]);
        }
        free(names);
    }
    if (rc == 0 && x->n_layers == 0)
        rc = nerve_error_set(NERVE_EINPUT, "%s: no layers to extract", x->model.path);
    free(taps);
    return rc;
}

/* ---- writing --------------------------------------------------------- */

/* A writer for <out>/<rel>, rows_per_input rows of row_shape an input,
 * opened as x->phase says: alone, continuing its .partial file from input
 * x->done; or shared by ranks (extract_shard.c). */
static int open_writer(const extraction *x, nerve_npy_writer *w, const char *rel, nerve_dtype dtype,
                       int row_ndim, const int64_t *row_shape, int64_t rows_per_input)
{
    char path[PATH_MAX], partial[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/%s", x->o->out, rel);
    if (rc == 0)
        rc = nerve_path(partial, sizeof partial, "%s.partial", path);
    if (rc < 0)
        return rc;
    int64_t total = x->count * rows_per_input;
    switch (x->phase) {
    case WRITERS_ALONE:
        return nerve_npy_writer_resume(w, path, partial, dtype, row_ndim, row_shape, x->done * rows_per_input);
    case WRITERS_CHECK:   /* laid out for these rows by an earlier run */
        rc = nerve_npy_writer_join(w, path, partial, dtype, row_ndim, row_shape, total, 0);
        break;
    case WRITERS_LAYOUT:
        if ((rc = nerve_npy_writer_resume(w, path, partial, dtype, row_ndim, row_shape, 0)) == 0)
            rc = nerve_npy_writer_layout(w, total);
        break;
    case WRITERS_JOIN:
        return nerve_npy_writer_join(w, path, partial, dtype, row_ndim, row_shape, total, x->done * rows_per_input);
    }
    if (w->out.f)
        nerve_npy_writer_suspend(w);
    return rc;
}

int extract_open_writers(extraction *x)
{
    char rel[512];
    int64_t max_row = 1, max_rows = 1, three = 3;   /* positions: input index, y, x */
    for (int i = 0; i < x->n_layers; i++) {
        layer *l = &x->layers[i];
        snprintf(rel, sizeof rel, "acts/%s.npy", l->file);
        int rc = open_writer(x, &l->acts, rel, NERVE_F32, 1, &l->layout.width_out, l->layout.rows);
        if (rc == 0 && l->layout.positions) {
            snprintf(rel, sizeof rel, "acts/%s.positions.npy", l->file);
            rc = open_writer(x, &l->positions, rel, NERVE_I64, 1, &three, l->layout.rows);
        }
        if (rc < 0)
            return rc;
        max_row = l->layout.width_out > max_row ? l->layout.width_out : max_row;
        max_rows = l->layout.rows > max_rows ? l->layout.rows : max_rows;
    }
    if (!x->rows)
        x->rows = malloc((size_t)(max_row * max_rows) * sizeof *x->rows);
    if (!x->positions)
        x->positions = malloc((size_t)(3 * max_rows) * sizeof *x->positions);
    if (!x->rows || !x->positions)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    int rc = open_writer(x, &x->predictions, "inputs/predictions.npy", NERVE_I64, 0, NULL, 1);
    return rc < 0 ? rc : open_writer(x, &x->confidence, "inputs/confidence.npy", NERVE_F32, 0, NULL, 1);
}

int extract_each_writer(extraction *x, int (*f)(nerve_npy_writer *))
{
    int rc = 0;
    for (int i = 0; i < x->n_layers && rc == 0; i++) {
        if (x->layers[i].acts.out.f)
            rc = f(&x->layers[i].acts);
        if (rc == 0 && x->layers[i].positions.out.f)
            rc = f(&x->layers[i].positions);
    }
    if (rc == 0 && x->predictions.out.f)
        rc = f(&x->predictions);
    if (rc == 0 && x->confidence.out.f)
        rc = f(&x->confidence);
    return rc;
}

static int abort_one(nerve_npy_writer *w)
{
    nerve_npy_writer_abort(w);
    return 0;
}

static int suspend_one(nerve_npy_writer *w)
{
    nerve_npy_writer_suspend(w);
    return 0;
}

/* ---- resuming -------------------------------------------------------- */

/* Everything that decides the output: a run may continue another only if
 * they agree on all of it. */
void extract_run_key(char *out, size_t cap, const nerve_extract_options *o)
{
    struct stat sb;
    long long size = stat(o->model, &sb) == 0 ? (long long)sb.st_size : -1;
    long long mtime = size >= 0 ? (long long)sb.st_mtime : 0;
    snprintf(out, cap, "nerve %s|model %s %lld %lld|data %s|layers %s|mode %d %lld|batch %lld|limit %lld|"
             "seed %llu|pp %lld %lld %d %d %g %g %g %d %g %g %g", NERVE_VERSION_STRING, o->model, size, mtime,
             o->data, o->layers, (int)o->mode, (long long)o->per_input, (long long)o->batch,
             (long long)o->limit, (unsigned long long)o->seed, (long long)o->pp.resize, (long long)o->pp.crop,
             o->pp.no_scale, o->pp.n_mean, o->pp.mean[0], o->pp.mean[1], o->pp.mean[2], o->pp.n_std,
             o->pp.std[0], o->pp.std[1], o->pp.std[2]);
    if (o->pp.attention_mask) {   /* text */
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "|mask %s", o->pp.attention_mask);
    }
}

static int state_path(char *out, size_t cap, const nerve_extract_options *o)
{
    return nerve_path(out, cap, "%s/.extract-state", o->out);
}

/* Inputs an interrupted run with the same key left on disk, or 0. */
static int64_t resumable(const nerve_extract_options *o)
{
    char path[PATH_MAX], key[8192], want[8192];
    long long done = 0;
    if (state_path(path, sizeof path, o) < 0)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    extract_run_key(want, sizeof want, o);
    int ok = fgets(key, sizeof key, f) && fscanf(f, "%lld", &done) == 1;
    fclose(f);
    key[strcspn(key, "\n")] = '\0';
    return ok && strcmp(key, want) == 0 && done > 0 ? done : 0;
}

/* Records that `done` inputs are on disk: after the writers are flushed. */
static int save_state(extraction *x, int64_t done)
{
    if (x->sharded)
        return shard_save(x, done);
    int rc = extract_each_writer(x, nerve_npy_writer_flush);
    char path[PATH_MAX], key[8192];
    if (rc == 0)
        rc = state_path(path, sizeof path, x->o);
    extract_run_key(key, sizeof key, x->o);
    nerve_outfile f;
    if (rc == 0 && (rc = nerve_outfile_open(&f, path)) == 0) {
        fprintf(f.f, "%s\n%lld\n", key, (long long)done);
        rc = nerve_outfile_commit(&f);
    }
    return rc;
}

/* Input i's (T, C) out of a (T, N, C) tap, into x->gathered. */
static int gather_tokens(extraction *x, const nerve_array *t, int64_t i)
{
    int64_t T = t->shape[0], N = t->shape[1], C = t->shape[2];
    float *g = realloc(x->gathered, (size_t)(T * C) * sizeof *g);
    if (!g)
        return nerve_error_set(NERVE_ENOMEM, "out of memory gathering a layer's tokens");
    x->gathered = g;
    for (int64_t k = 0; k < T; k++)
        memcpy(g + k * C, (const float *)t->data + (k * N + i) * C, (size_t)C * sizeof *g);
    return 0;
}

/* Called by the run for each tapped layer of a batch. */
static int on_tap(void *ctx, const nerve_model *m, int value, const nerve_array *t)
{
    (void)m;
    extraction *x = ctx;
    layer *l = &x->layers[x->layer_of_value[value]];
    int64_t per = 1;
    for (int d = 1; d < t->ndim; d++)
        per *= t->shape[d];
    if (x->blank_pass)
        return vector_layout_set_blank(&l->layout, t->data, per);
    int64_t n = t->shape[l->batch_axis];
    per = nerve_array_count(t) / (n ? n : 1);
    for (int64_t i = 0; i < n; i++) {
        int64_t index = x->batch_start + i;
        nerve_rng rng;
        nerve_rng_stream(&rng, x->o->seed ^ l->stream, (uint64_t)index);
        int64_t *pos = x->positions;
        const float *map = (const float *)t->data + i * per;
        if (l->batch_axis == 1) {   /* (T, N, C): input i's tokens gathered */
            int rc = gather_tokens(x, t, i);
            if (rc < 0)
                return rc;
            map = x->gathered;
        }
        /* text: the tokens the attention mask keeps, where the layer has one per input token */
        const nerve_array *mask = &x->inputs.mask;
        l->layout.valid = l->layout.tokens && mask->data && mask->shape[1] == l->layout.width
                              ? (const int64_t *)mask->data + index * l->layout.width : NULL;
        vector_rows(x->rows, pos, map, &l->layout, &rng);
        int rc = nerve_npy_writer_append(&l->acts, x->rows, l->layout.rows);
        for (int64_t r = 0; rc == 0 && l->layout.positions && r < l->layout.rows; r++) {
            int64_t row[3] = { index, pos[2 * r], pos[2 * r + 1] };
            rc = nerve_npy_writer_append(&l->positions, row, 1);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Predicted class and its probability from the model's first output: a
 * softmax is applied unless the rows already are probabilities. */
static int write_predictions(extraction *x, const nerve_array *y)
{
    if (y->dtype != NERVE_F32 || y->ndim != 2)
        return 0;   /* not a classifier: nothing to predict */
    int64_t n = y->shape[0], k = y->shape[1];
    for (int64_t i = 0; i < n; i++) {
        const float *row = (const float *)y->data + i * k;
        double sum = 0, top = -INFINITY;
        int64_t best = 0;
        int probabilities = 1;
        for (int64_t j = 0; j < k; j++) {
            sum += row[j];
            probabilities &= row[j] >= 0 && row[j] <= 1;
            if (row[j] > top) {
                top = row[j];
                best = j;
            }
        }
        probabilities &= fabs(sum - 1) < 1e-3;
        double confidence = top;
        if (!probabilities) {
            double z = 0;
            for (int64_t j = 0; j < k; j++)
                z += exp((double)row[j] - top);
            confidence = 1 / z;
        }
        float c = (float)confidence;
        x->predicted = 1;
        int rc = nerve_npy_writer_append(&x->predictions, &best, 1);
        if (rc == 0)
            rc = nerve_npy_writer_append(&x->confidence, &c, 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The model's view of a batch: (n, C, H, W), or flattened for a model that
 * takes (n, features). */
static void fit_to_model(const extraction *x, nerve_array *batch)
{
    const nerve_value *v = &x->model.values[x->model.inputs[0]];
    if (v->ndim == 2) {
        int64_t n = batch->shape[0], per = nerve_array_count(batch) / (n ? n : 1);
        batch->ndim = 2;
        batch->shape[1] = per;
    }
}

/* foreground-position: every layer's response to a blank input, which
 * the positions of each input are compared with. */
static int run_blank(extraction *x, const nerve_run_options *opts)
{
    if (x->o->mode != NERVE_MODE_FOREGROUND_POSITION || x->inputs.token_ids)
        return 0;   /* tokens take random-token */
    nerve_array batch, y;
    int rc = nerve_inputs_blank(&x->inputs, &batch);
    if (rc < 0)
        return rc;
    fit_to_model(x, &batch);
    x->blank_pass = 1;
    rc = nerve_nn_run(&x->model, &batch, 1, &y, 1, opts);
    x->blank_pass = 0;
    nerve_array_free(&batch);
    nerve_array_free(&y);
    return rc;
}

/* This rank's inputs from x->done to x->last (all of them, alone). */
static int run_batches(extraction *x)
{
    int64_t done = x->done, count = x->last;
    int *taps = malloc((size_t)x->n_layers * sizeof *taps);
    if (!taps)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int i = 0; i < x->n_layers; i++)
        taps[i] = x->layers[i].value;
    nerve_run_options opts = { taps, x->n_layers, on_tap, x };
    int rc = run_blank(x, &opts);
    nerve_progress bar;
    nerve_progress_begin(&bar, "extract", count - x->first);
    nerve_progress_update(&bar, done - x->first);
    for (int64_t start = done; start < count && rc == 0; start += x->batch) {
        int64_t n = count - start < x->batch ? count - start : x->batch;
        nerve_array batch[2] = { 0 }, y;   /* the inputs, or token ids and their attention mask */
        if ((rc = nerve_inputs_batch(&x->inputs, start, n, &batch[0])) < 0)
            break;
        if (x->model.n_inputs == 2 && (rc = nerve_inputs_mask_batch(&x->inputs, start, n, &batch[1])) < 0) {
            nerve_array_free(&batch[0]);
            break;
        }
        fit_to_model(x, &batch[0]);
        x->batch_start = start;
        rc = nerve_nn_run(&x->model, batch, x->model.n_inputs, &y, 1, &opts);
        nerve_array_free(&batch[0]);
        nerve_array_free(&batch[1]);
        if (rc == 0)
            rc = write_predictions(x, &y);
        nerve_array_free(&y);
        /* The state is committed durably (two fsyncs): twice a second at
         * most, and at the end or on an interruption. A kill loses at most
         * the batches since, which the rerun does again. A shard's record
         * syncs every file first: every 5 s. */
        int last = start + n >= count || nerve_interrupted();
        double every = x->sharded ? 5 : 0.5;
        if (rc == 0 && (last || nerve_now() - x->saved_at >= every || shard_test_kill_due(x, start + n))) {
            rc = save_state(x, start + n);
            x->saved_at = nerve_now();
        }
        nerve_progress_update(&bar, start + n - x->first);
        if (rc == 0 && nerve_interrupted() && start + n < count)
            rc = nerve_error_set(NERVE_EINTERRUPTED, "interrupted after %lld of %lld inputs; run the same "
                                 "command again to resume", (long long)(start + n), (long long)count);
    }
    nerve_progress_end(&bar);
    free(taps);
    return rc;
}

/* ---- the manifest ---------------------------------------------------- */

static json_t *shape_json(int ndim, const int64_t *shape)
{
    json_t *a = json_array();
    for (int d = 0; d < ndim; d++)
        json_array_append_new(a, json_integer(shape[d]));
    return a;
}

/* The sprite's pages as the study names them: inputs/sprite.png, inputs/sprite.1.png, ... */
static json_t *sprite_pages(const sprite_info *sprite)
{
    json_t *pages = json_array();
    for (int64_t p = 0; p < sprite->pages; p++) {
        char rel[64];
        sprite_page_path(rel, sizeof rel, "inputs/sprite.png", p);
        json_array_append_new(pages, json_string(rel));
    }
    return pages;
}

static int write_manifest(const extraction *x, int64_t count, const sprite_info *sprite, double seconds)
{
    const nerve_extract_options *o = x->o;
    json_t *layers = json_array();
    for (int i = 0; i < x->n_layers; i++) {
        const layer *l = &x->layers[i];
        char file[300], positions[320];
        snprintf(file, sizeof file, "acts/%s.npy", l->file);
        snprintf(positions, sizeof positions, "acts/%s.positions.npy", l->file);
        json_t *entry = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:I}", "name", l->name, "op", l->op,
                                  "file", file, "shape", shape_json(l->ndim, l->shape),
                                  "mode", l->layout.spatial ? nerve_vector_mode_name(l->layout.mode) : "vector",
                                  "rows", (json_int_t)(l->layout.rows * count),
                                  "dim", (json_int_t)l->layout.width_out);
        if (l->layout.positions)
            json_object_set_new(entry, "positions", json_string(positions));
        json_array_append_new(layers, entry);
    }
    json_t *classes = json_array();
    for (int i = 0; i < x->inputs.n_classes; i++)
        json_array_append_new(classes, x->inputs.class_names ? json_string(x->inputs.class_names[i])
                                                             : json_integer(i));
    json_t *pre = nerve_preprocess_json(&o->pp);
    json_t *root = json_pack(
        "{s:s, s:{s:s, s:I, s:s}, s:{s:s, s:I, s:I, s:o, s:b, s:o, s:o}, s:{s:s, s:I, s:I, s:I, s:f}, s:o}",
        "nerve", NERVE_VERSION_STRING,
        "model", "path", o->model, "opset", (json_int_t)x->model.opset, "producer", x->model.producer,
        "inputs", "spec", o->data, "count", (json_int_t)count, "skipped", (json_int_t)x->inputs.skipped,
        "shape", shape_json(x->inputs.ndim, x->inputs.shape), "labels", x->inputs.has_labels, "classes", classes,
        "preprocess", pre,
        "extract", "mode", nerve_vector_mode_name(o->mode), "per_input", (json_int_t)o->per_input,
        "seed", (json_int_t)o->seed, "batch", (json_int_t)o->batch, "seconds", seconds,
        "layers", layers);
    if (x->inputs.token_ids)
        json_object_set_new(json_object_get(root, "inputs"), "kind", json_string("token-ids"));
    if (sprite->count > 0)
        json_object_set_new(json_object_get(root, "inputs"), "sprite",
                            json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "file", "inputs/sprite.png", "count",
                                      (json_int_t)sprite->count, "side", (json_int_t)sprite->side, "columns",
                                      (json_int_t)sprite->columns, "per_page", (json_int_t)sprite->per_page, "pages",
                                      sprite_pages(sprite)));
    /* Where the inputs are, from the study and absolutely, so that the
     * model can run on them again from any working directory. */
    int rc = nerve_study_inputs_record(json_object_get(root, "inputs"), o->data, &o->pp, o->out);
    if (rc < 0) {
        json_decref(root);
        return rc;
    }
    /* The model by its absolute path: the viewer runs it from anywhere. */
    char path[PATH_MAX], *model = realpath(o->model, NULL);
    json_object_set_new(json_object_get(root, "model"), "path", json_string(model ? model : o->model));
    free(model);
    if ((rc = nerve_path(path, sizeof path, "%s/manifest.json", o->out)) < 0) {
        json_decref(root);
        return rc;
    }
    return study_write_json(path, root);
}

static int write_labels(const extraction *x, int64_t count)
{
    if (!x->inputs.has_labels)
        return 0;
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/inputs/labels.npy", x->o->out);
    if (rc < 0)
        return rc;
    nerve_array labels = x->inputs.labels;
    labels.shape[0] = count;
    return nerve_npy_write(path, &labels);
}

/* ---- the whole ------------------------------------------------------- */

/* Fixes a file's header and renames it into place: shared by ranks, it
 * holds every rank's rows by now. */
static int finish_writer(const extraction *x, nerve_npy_writer *w, int64_t rows_per_input)
{
    if (x->sharded)
        w->shape[0] = x->count * rows_per_input;
    return nerve_npy_writer_close(w);
}

/* A model that is no classifier leaves the predictions empty, as one
 * process writes them; shared, they were laid out for every input. */
static int empty_predictions(extraction *x)
{
    nerve_npy_writer_abort(&x->predictions);
    nerve_npy_writer_abort(&x->confidence);
    x->phase = WRITERS_ALONE;
    x->done = 0;
    char rel[2][32] = { "inputs/predictions.npy", "inputs/confidence.npy" };
    int rc = open_writer(x, &x->predictions, rel[0], NERVE_I64, 0, NULL, 1);
    if (rc == 0)
        rc = open_writer(x, &x->confidence, rel[1], NERVE_F32, 0, NULL, 1);
    return rc;
}

/* Alone, or with several ranks once they all are done (shard_close): then
 * rank 0 commits the files and the others leave them to it. */
static int close_writers(extraction *x)
{
    int rc = x->sharded ? shard_close(x) : 0;
    if (rc < 0 || (x->sharded && study_dist_rank() != 0))
        return rc;
    if (x->sharded && !x->predicted)
        rc = empty_predictions(x);
    for (int i = 0; i < x->n_layers && rc == 0; i++) {
        rc = finish_writer(x, &x->layers[i].acts, x->layers[i].layout.rows);
        if (rc == 0 && x->layers[i].layout.positions)
            rc = finish_writer(x, &x->layers[i].positions, x->layers[i].layout.rows);
    }
    int64_t per = x->sharded && x->predicted ? 1 : 0;   /* an empty file stays empty */
    if (rc == 0)
        rc = per ? finish_writer(x, &x->predictions, 1) : nerve_npy_writer_close(&x->predictions);
    if (rc == 0)
        rc = per ? finish_writer(x, &x->confidence, 1) : nerve_npy_writer_close(&x->confidence);
    if (rc == 0 && x->sharded)
        shard_forget(x);
    return rc;
}

/* One process's writers, resuming an interrupted run when its record
 * matches. */
static int open_alone(extraction *x)
{
    const nerve_extract_options *o = x->o;
    x->first = 0;
    x->last = x->count;
    x->phase = WRITERS_ALONE;
    x->done = resumable(o);
    if (x->done > x->count)
        x->done = 0;
    if (x->done > 0 && !nerve_quiet())
        fprintf(stderr, "nerve: extract: resuming after %lld of %lld inputs\n", (long long)x->done,
                (long long)x->count);
    int rc = extract_open_writers(x);
    if (rc < 0 && x->done > 0) {   /* the partial files do not match the record: start afresh */
        extract_each_writer(x, abort_one);
        x->done = 0;
        rc = extract_open_writers(x);
    }
    return rc;
}

/* The study folder with its acts/ and inputs/ folders. */
static int make_folders(const char *out)
{
    char path[PATH_MAX];
    int rc = nerve_dir_create(out);
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/acts", out)) == 0)
        rc = nerve_dir_create(path);
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/inputs", out)) == 0)
        rc = nerve_dir_create(path);
    return rc;
}

static int check_options(const nerve_extract_options *o)
{
    if (!o->model || !o->data)
        return nerve_error_set(NERVE_EUSAGE, "extract needs a model and data");
    if (o->batch < 1 || o->per_input < 1 || o->limit < 0)
        return nerve_error_set(NERVE_EUSAGE, "batch and per-input must be positive, limit not negative");
    return 0;
}

/* The batch: o->batch, or 1 for a model that cannot run at 2 (its input
 * declared with batch 1, as torch.onnx.export writes without dynamic axes,
 * or batch 1 baked into its reshapes), said once on stderr. */
static int batch_the_model_takes(extraction *x, const int64_t *one, int ndim)
{
    x->batch = x->o->batch;
    if (x->o->batch < 2)
        return 0;
    int rc = nerve_nn_runs_batched(&x->model, ndim, one);
    if (rc == 0) {
        x->batch = 1;
        if (study_dist_rank() == 0)
            fprintf(stderr, "nerve: extract: %s runs one input at a time (exported with a fixed batch; "
                            "torch.onnx.export(..., dynamic_axes={'input': {0: 'N'}}) lets it run %lld)\n",
                    x->o->model, (long long)x->o->batch);
    }
    return rc < 0 ? rc : 0;
}

/* One input, or token ids and their attention mask. */
static int check_model_inputs(const extraction *x)
{
    const char *mask = x->o->pp.attention_mask;
    if (x->model.n_inputs == 2 && x->inputs.token_ids)
        return 0;
    if (x->model.n_inputs == 1 && !mask)
        return 0;
    if (x->model.n_inputs == 1)
        return nerve_error_set(NERVE_EINPUT, "%s: the model takes one input; the attention mask %s has no "
                               "input to go to", x->o->model, mask);
    return nerve_error_set(NERVE_EUNSUPPORTED, "%s: the model takes %d inputs; nerve extract feeds one, or "
                           "token ids and an attention mask", x->o->model, x->model.n_inputs);
}

static int model_channels(const nerve_model *m)
{
    const nerve_value *v = &m->values[m->inputs[0]];
    return v->ndim == 4 && v->shape[1] > 0 ? (int)v->shape[1] : 0;
}

/* Each batch allocates the same large buffers (the layers' outputs) and
 * frees them again: page faults were most of a small model's extraction
 * (2.7x its time at 4,000 Fashion-MNIST inputs), and the threshold glibc
 * adapts on its own made the cost depend on what was freed before (the
 * test split cost twice the training split). Blocks above 32 MB (a batch
 * of ImageNet-size maps) are few and large enough for their faults not to
 * count. */
enum { BATCH_BUFFERS_KEPT = 32 << 20 };

int nerve_extract(const nerve_extract_options *o)
{
    nerve_alloc_keep_heap(BATCH_BUFFERS_KEPT);
    double t0 = nerve_now();
    extraction x = { .o = o };
    study_dist_clock("extract: start");
    int rc = check_options(o);
    if (rc == 0)
        rc = nerve_onnx_load(&x.model, o->model);
    study_dist_clock("extract: model");
    if (rc == 0)
        rc = nerve_inputs_open(&x.inputs, o->data, model_channels(&x.model), &o->pp);
    if (rc == 0)
        rc = check_model_inputs(&x);
    study_dist_clock("extract: inputs open");
    int64_t count = x.inputs.count;
    if (o->limit > 0 && o->limit < count)
        count = o->limit;
    if (rc == 0) {
        int64_t one[4] = { 1, x.inputs.shape[0], x.inputs.shape[1], x.inputs.shape[2] };
        const nerve_value *v = &x.model.values[x.model.inputs[0]];
        if (v->ndim == 2)   /* features, or token ids (N, T) */
            one[1] *= one[2] * one[3];
        rc = choose_layers(&x, one, v->ndim == 2 || x.inputs.token_ids ? 2 : 4);
        if (rc == 0)
            rc = batch_the_model_takes(&x, one, v->ndim == 2 || x.inputs.token_ids ? 2 : 4);
    }
    if (rc == 0)
        rc = make_folders(o->out);
    x.count = count;
    /* With several ranks, each runs its shard of the inputs into the same
     * files (extract_shard.c); the rest is rank 0's. */
    if (rc == 0)
        rc = study_dist_size() > 1 ? shard_open(&x) : open_alone(&x);
    study_dist_clock("extract: layers, files");
    if (rc == 0)
        rc = run_batches(&x);
    study_dist_clock("extract: batches");
    if (rc == 0)
        rc = close_writers(&x);
    study_dist_clock("extract: files closed");
    /* Interrupted, the partial files stay for the next run; failed, they go,
     * and nothing half-written is left under a final name either way.
     * Shared by ranks, they stay for the rerun: the others' rows are in. */
    extract_each_writer(&x, rc == NERVE_EINTERRUPTED || x.sharded ? suspend_one : abort_one);
    char state[PATH_MAX];
    if (rc != NERVE_EINTERRUPTED && state_path(state, sizeof state, o) == 0)
        unlink(state);
    int writes = study_dist_rank() == 0;
    if (rc == 0 && writes)
        rc = write_labels(&x, count);
    study_dist_clock("extract: labels");
    sprite_info sprite = { 0 };
    /* Every rank draws its share of the sprite's rows; rank 0 writes it. */
    if (rc == 0 && !o->no_sprite && !x.inputs.token_ids) {   /* text has no thumbnails */
        char sprite_path[PATH_MAX];
        if ((rc = nerve_path(sprite_path, sizeof sprite_path, "%s/inputs/sprite.png", o->out)) == 0)
            rc = sprite_write(sprite_path, &x.inputs, count, &sprite);
    }
    study_dist_clock("extract: sprite");
    if (rc == 0 && writes)
        rc = write_manifest(&x, count, &sprite, nerve_now() - t0);
    study_dist_clock("extract: manifest");
    if (rc == 0 && x.sharded)
        study_dist_barrier();   /* the study is whole before any rank goes on */
    study_dist_clock("extract: last barrier");
    for (int i = 0; x.layers && i < x.n_layers; i++)
        free(x.layers[i].layout.blank);
    free(x.layers);
    free(x.layer_of_value);
    free(x.rows);
    free(x.positions);
    free(x.gathered);
    nerve_inputs_free(&x.inputs);
    nerve_model_free(&x.model);
    return rc;
}
