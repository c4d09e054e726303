/*
 * findings.c — the findings stage of a study (issue 21): every layer's
 * outlier scores and figures, the overall outlier and label-noise scores,
 * and what they, the similarity matrices and the Mapper graphs say, as
 * .npy files in DIR/findings/ and DIR/findings/findings.json.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/findings.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/path.h"
#include "nerve/study.h"
#include "study_findings.h"
#include "study_internal.h"

enum { TOP_INPUTS = 24 };

void nerve_study_findings_defaults(nerve_study_findings_options *o)
{
    memset(o, 0, sizeof *o);
    o->k = 10;
    o->max_dims = 64;
}

int study_findings_add(study_findings_ctx *c, json_t *f)
{
    if (!f || json_array_append_new(c->findings, f) < 0)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for the findings");
    return 0;
}

/* What the stage holds while it works. */
typedef struct run_t {
    const char *dir;
    const nerve_study_findings_options *o;
    study_findings_ctx c;
    study_manifest m;
    json_t *manifest, *layers_out;
    nerve_mapper_columns cols;
    int n_layers;                 /* with one row per input */
    const char **names;           /* display names */
    int *idx;                     /* each one's place in the manifest */
    double **scores;              /* 2 per layer: k-NN, Mahalanobis (when labelled) */
    int n_scores;
    nerve_knn last[2];            /* the last two layers' neighbours */
    double *probs;                /* n x n_classes from the output layer, or NULL */
    nerve_findings_layer_figures *fig;
} run_t;

static int write_scores(const char *dir, const char *name, const double *s, int64_t n)
{
    char path[PATH_MAX];
    nerve_mat m = { 0 };
    int rc = nerve_path(path, sizeof path, "%s/findings/%s.npy", dir, name);
    if (rc == 0)
        rc = nerve_mat_alloc(&m, n, 1);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        m.data[i] = (float)s[i];
    if (rc == 0)
        rc = nerve_mat_write_npy(path, &m);
    nerve_mat_free(&m);
    return rc;
}

static double *new_scores(run_t *r)
{
    double *s = nerve_alloc_array((size_t)r->c.n + 1, sizeof *s, "scores");
    if (s)
        r->scores[r->n_scores++] = s;
    return s;
}

/* One layer: its neighbours, figures and outlier scores. */
static int layer_pass(run_t *r, int l, const study_layer *sl)
{
    char path[PATH_MAX], stem[256], name[300];
    nerve_mat x = { 0 };
    nerve_knn nn = { 0 };
    int rc = nerve_path(path, sizeof path, "%s/%s", r->dir, sl->file);
    if (rc == 0)
        rc = nerve_mat_read_npy(&x, path);
    if (rc == 0 && x.rows != r->c.n)
        rc = nerve_error_set(NERVE_EINPUT, "%s: %lld rows, the manifest says %lld", path, (long long)x.rows,
                             (long long)r->c.n);
    if (rc == 0)
        rc = nerve_knn_build(&nn, &x, r->o->k < r->c.n - 1 ? r->o->k : r->c.n - 1, NERVE_METRIC_EUCLIDEAN, r->o->seed);
    if (rc == 0)
        rc = nerve_findings_layer(&r->fig[l], &x, &nn, r->c.labels, r->c.n_classes, r->o->seed);
    study_file_stem(stem, sizeof stem, sl->file);
    double *knn = rc == 0 ? new_scores(r) : NULL, *maha = NULL;
    if (rc == 0 && !knn)
        rc = NERVE_ENOMEM;
    if (rc == 0) {
        nerve_findings_knn_score(knn, &nn, nn.k);
        snprintf(name, sizeof name, "%s.knn", stem);
        rc = write_scores(r->dir, name, knn, r->c.n);
    }
    if (rc == 0 && r->c.labels) {
        rc = (maha = new_scores(r)) ? nerve_findings_mahalanobis(maha, &x, r->c.labels, r->c.n_classes,
                                                                 r->o->max_dims, 1e-6) : NERVE_ENOMEM;
        snprintf(name, sizeof name, "%s.mahalanobis", stem);
        if (rc == 0)
            rc = write_scores(r->dir, name, maha, r->c.n);
    }
    if (rc == 0 && l == r->n_layers - 1 && r->c.labels && r->cols.predictions.data) {
        int found = 0;
        r->probs = nerve_alloc_array((size_t)(r->c.n * r->c.n_classes), sizeof *r->probs, "probabilities");
        rc = r->probs ? nerve_findings_output_probabilities(r->probs, &found, &x, r->cols.predictions.data,
                                                            r->c.n_classes) : NERVE_ENOMEM;
        if (rc == 0 && !found) {
            free(r->probs);
            r->probs = NULL;
        }
    }
    int keep = l - (r->n_layers - 2);   /* the last two layers' neighbours stay for the label noise */
    if (rc == 0 && keep >= 0)
        r->last[keep] = nn;
    else
        nerve_knn_free(&nn);
    nerve_mat_free(&x);
    return rc;
}

/* The inputs of scores ranked, the top count of them, as a JSON list. */
static int cmp_desc(const void *a, const void *b, void *s)
{
    double x = ((const double *)s)[*(const int64_t *)a], y = ((const double *)s)[*(const int64_t *)b];
    if (x != y)
        return x < y ? 1 : -1;
    return (*(const int64_t *)a > *(const int64_t *)b) - (*(const int64_t *)a < *(const int64_t *)b);
}

static json_t *top_inputs(const double *s, int64_t n, int64_t count)
{
    int64_t *order = nerve_alloc_array((size_t)n + 1, sizeof *order, "a ranking");
    if (!order)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, cmp_desc, (void *)s);
    json_t *a = json_array();
    for (int64_t i = 0; a && i < n && i < count; i++)
        json_array_append_new(a, json_integer(order[i]));
    free(order);
    return a;
}

static int per_input(run_t *r, json_t *root)
{
    int64_t n = r->c.n;
    double *overall = nerve_alloc_array((size_t)n + 1, sizeof *overall, "the outlier score");
    int rc = overall ? nerve_findings_combine(overall, (const double *const *)r->scores, r->n_scores, n) : NERVE_ENOMEM;
    if (rc == 0)
        rc = write_scores(r->dir, "outlier", overall, n);
    json_t *top = rc == 0 ? top_inputs(overall, n, TOP_INPUTS) : NULL;
    if (rc == 0) {
        char text[400];
        snprintf(text, sizeof text, "The %d inputs least like the others: far from their nearest neighbours and "
                 "from their class in %d layers.", TOP_INPUTS, r->n_layers);
        json_object_set_new(root, "outlier", json_pack("{s:s, s:O}", "file", "findings/outlier.npy", "top", top));
        rc = study_findings_add(&r->c, json_pack("{s:s, s:n, s:f, s:O, s:s}", "kind", "outliers", "layer", "score",
                                                 overall[json_integer_value(json_array_get(top, 0))], "inputs",
                                                 top, "text", text));
    }
    json_decref(top);
    if (rc == 0 && r->c.labels && r->n_layers >= 1) {
        const nerve_knn *nns[2] = { &r->last[0], &r->last[1] };
        int first = r->n_layers >= 2 ? 0 : 1;
        rc = nerve_findings_label_noise(overall, n, r->c.n_classes, r->c.labels, r->probs, r->cols.predictions.data,
                                        r->cols.confidence.data, nns + first, 2 - first);
        if (rc == 0)
            rc = write_scores(r->dir, "label_noise", overall, n);
        top = rc == 0 ? top_inputs(overall, n, TOP_INPUTS) : NULL;
        if (rc == 0) {
            char text[400];
            snprintf(text, sizeof text, "The %d inputs whose labels look most wrong: the model and the inputs "
                     "nearest to them in the last layers say another class.", TOP_INPUTS);
            json_object_set_new(root, "label_noise", json_pack("{s:s, s:O}", "file", "findings/label_noise.npy", "top", top));
            rc = study_findings_add(&r->c, json_pack("{s:s, s:n, s:f, s:O, s:s}", "kind", "label_noise", "layer",
                                                     "score", overall[json_integer_value(json_array_get(top, 0))],
                                                     "inputs", top, "text", text));
        }
        json_decref(top);
    }
    free(overall);
    return rc;
}

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Every layer's figures, and the findings they make: dead units, the
 * layer where classes separate. */
static int per_layer(run_t *r)
{
    int rc = 0, best = -1;
    for (int l = 0; l < r->n_layers && rc == 0; l++) {
        const nerve_findings_layer_figures *f = &r->fig[l];
        json_array_append_new(r->layers_out, json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "name",
                              r->names[l], "dim", (json_int_t)f->d, "dead", (json_int_t)f->dead, "constant",
                              (json_int_t)f->constant, "pca90", (json_int_t)f->pca90, "participation",
                              number(f->participation), "twonn", number(f->twonn), "knn_accuracy",
                              number(f->knn_accuracy), "probe_accuracy", number(f->probe_accuracy)));
        if (f->dead + f->constant > 0) {
            char text[400];
            snprintf(text, sizeof text, "%s: %lld of its %lld units are dead (0 on every input) and %lld constant.",
                     r->names[l], (long long)f->dead, (long long)f->d, (long long)f->constant);
            rc = study_findings_add(&r->c, json_pack("{s:s, s:s, s:f, s:s}", "kind", "dead_units", "layer",
                                                     r->names[l], "score", (double)(f->dead + f->constant) / (double)f->d,
                                                     "text", text));
        }
        if (isfinite(f->probe_accuracy) && (best < 0 || f->probe_accuracy > r->fig[best].probe_accuracy))
            best = l;
    }
    for (int l = 0; rc == 0 && best >= 0 && l < r->n_layers; l++) {
        if (!(r->fig[l].probe_accuracy >= r->fig[best].probe_accuracy - 0.01))
            continue;
        char text[400];
        snprintf(text, sizeof text, "Classes separate linearly from %s on: a linear probe reaches %.1f%% there "
                 "(the best layer %.1f%%), k-NN %.1f%%.", r->names[l], 100 * r->fig[l].probe_accuracy,
                 100 * r->fig[best].probe_accuracy, 100 * r->fig[l].knn_accuracy);
        rc = study_findings_add(&r->c, json_pack("{s:s, s:s, s:f, s:s}", "kind", "separation", "layer", r->names[l],
                                                 "score", r->fig[l].probe_accuracy, "text", text));
        break;
    }
    return rc;
}

/* Consecutive layers whose similarity (the first of the study's
 * matrices: debiased CKA by default) is near 1: one of them adds little. */
static int redundancy(run_t *r)
{
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/sim/index.json", r->dir);
    json_t *index = rc == 0 && access(path, R_OK) == 0 ? json_load_file(path, 0, NULL) : NULL;
    json_t *layers = json_object_get(index, "layers"), *matrices = json_object_get(index, "matrices");
    const char *metric = NULL;
    json_t *file = NULL;
    void *it = json_object_iter(matrices);
    if (it) {
        metric = json_object_iter_key(it);
        file = json_object_iter_value(it);
    }
    nerve_mat m = { 0 };
    if (rc < 0 || !json_is_string(file) || nerve_path(path, sizeof path, "%s/%s", r->dir, json_string_value(file)) < 0 ||
        nerve_mat_read_npy(&m, path) < 0 || m.rows != m.cols || m.rows != (int64_t)json_array_size(layers)) {
        nerve_mat_free(&m);
        json_decref(index);
        return rc;   /* no similarity stage (yet): no redundancy findings */
    }
    for (int64_t i = 0; rc == 0 && i + 1 < m.rows; i++) {
        double v = m.data[i * m.cols + i + 1];
        if (!(v >= 0.95))
            continue;
        const char *a = json_string_value(json_array_get(layers, (size_t)i));
        const char *b = json_string_value(json_array_get(layers, (size_t)i + 1));
        char text[400];
        snprintf(text, sizeof text, "%s and %s are nearly the same representation (%s %.3f): one of them adds little.",
                 a, b, metric, v);
        rc = study_findings_add(&r->c, json_pack("{s:s, s:s, s:f, s:[s, s], s:s}", "kind", "redundant", "layer", b,
                                                 "score", v, "layers", a, b, "text", text));
    }
    nerve_mat_free(&m);
    json_decref(index);
    return rc;
}

/* The Mapper findings of every layer with a graph, and the layer where
 * each class first holds a pure component of its own. */
static int graphs(run_t *r)
{
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/mapper/index.json", r->dir);
    json_t *index = rc == 0 && access(path, R_OK) == 0 ? json_load_file(path, 0, NULL) : NULL, *layer;
    int k = r->c.n_classes, *pure = calloc((size_t)k + 1, sizeof *pure), *first = malloc(((size_t)k + 1) * sizeof *first);
    if (!pure || !first)
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int c = 0; c < k && first; c++)
        first[c] = -1;
    size_t i;
    const char **at = calloc(json_array_size(json_object_get(index, "layers")) + 1, sizeof *at);
    json_array_foreach(json_object_get(index, "layers"), i, layer) {
        const char *name = json_string_value(json_object_get(layer, "name"));
        const char *graph = json_string_value(json_object_get(layer, "graph"));
        nerve_mapper_graph g;
        if (rc < 0 || !at || !name || !graph || nerve_path(path, sizeof path, "%s/%s", r->dir, graph) < 0)
            continue;
        if ((rc = study_findings_graph_read(&g, path)) < 0)
            break;
        at[i] = name;
        for (int l = 0; l < r->n_layers; l++)   /* the display name */
            if (strcmp(r->m.layers[r->idx[l]].name, name) == 0)
                at[i] = r->names[l];
        memset(pure, 0, (size_t)k * sizeof *pure);
        rc = study_findings_graph(&r->c, &g, at[i], pure);
        for (int c = 0; rc == 0 && c < k; c++)
            if (pure[c] && first[c] < 0)
                first[c] = (int)i;
        nerve_mapper_graph_free(&g);
    }
    for (int c = 0; rc == 0 && at && c < k; c++) {
        if (first[c] < 0)
            continue;
        char text[400], buf[32];
        const char *cn = c < r->c.n_class_names ? r->c.class_names[c] : (snprintf(buf, sizeof buf, "class %d", c), buf);
        snprintf(text, sizeof text, "%s first forms a pure component of its own in %s's Mapper graph.", cn, at[first[c]]);
        rc = study_findings_add(&r->c, json_pack("{s:s, s:s, s:f, s:[i], s:s}", "kind", "class_forms", "layer",
                                                 at[first[c]], "score", (double)first[c], "classes", c, "text", text));
    }
    free(at);
    free(pure);
    free(first);
    json_decref(index);
    return rc;
}

/* The manifest's layers with one row per input (their display names),
 * the inputs' labels, predictions and confidences, the class names. */
static int load(run_t *r)
{
    char path[PATH_MAX], lp[PATH_MAX], pp[PATH_MAX], cp[PATH_MAX];
    int rc = study_manifest_read(&r->m, r->dir);
    if (rc == 0)
        rc = nerve_path(path, sizeof path, "%s/manifest.json", r->dir);
    if (rc == 0 && !(r->manifest = json_load_file(path, 0, NULL)))
        rc = nerve_error_set(NERVE_EINPUT, "%s: not JSON", path);
    if (rc == 0)   /* findings name layers as the viewer shows them */
        rc = nerve_study_display_names(r->manifest);
    r->c.n = r->m.inputs;
    r->names = calloc((size_t)r->m.count + 1, sizeof *r->names);
    r->scores = calloc(2 * (size_t)r->m.count + 1, sizeof *r->scores);
    r->fig = calloc((size_t)r->m.count + 1, sizeof *r->fig);
    r->idx = calloc((size_t)r->m.count + 1, sizeof *r->idx);
    if (rc == 0 && (!r->names || !r->scores || !r->fig || !r->idx))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
    json_t *layers = json_object_get(r->manifest, "layers");
    for (int l = 0; rc == 0 && l < r->m.count; l++) {
        if (r->m.layers[l].rows != r->m.inputs)
            continue;   /* several rows per input: not one point per input */
        r->idx[r->n_layers] = l;
        json_t *display = json_object_get(json_array_get(layers, (size_t)l), "display");
        r->names[r->n_layers++] = json_is_string(display) ? json_string_value(display) : r->m.layers[l].name;
    }
    if (rc == 0 && r->c.n < 3)
        r->n_layers = 0;   /* no neighbours to speak of: nothing to find (the stage says so) */
    if (rc == 0 && (rc = nerve_path(lp, sizeof lp, "%s/inputs/labels.npy", r->dir)) == 0 &&
        (rc = nerve_path(pp, sizeof pp, "%s/inputs/predictions.npy", r->dir)) == 0)
        rc = nerve_path(cp, sizeof cp, "%s/inputs/confidence.npy", r->dir);
    if (rc == 0)
        rc = nerve_mapper_columns_read(&r->cols, access(lp, R_OK) == 0 ? lp : NULL, access(pp, R_OK) == 0 ? pp : NULL,
                                       access(cp, R_OK) == 0 ? cp : NULL, r->c.n);
    if (rc == 0 && r->cols.labels.data) {
        int64_t k = 0;
        rc = nerve_mapper_labels_check(&k, r->cols.labels.data, r->c.n, lp);
        r->c.labels = r->cols.labels.data;
        r->c.n_classes = k >= 2 ? (int)k : 0;
        if (r->c.n_classes == 0)
            r->c.labels = NULL;   /* one class: nothing to separate or confuse */
    }
    json_t *classes = json_object_get(json_object_get(r->manifest, "inputs"), "classes"), *name;
    size_t i;
    r->c.class_names = calloc(json_array_size(classes) + 1, sizeof *r->c.class_names);
    json_array_foreach(classes, i, name)
        if (r->c.class_names && json_is_string(name))
            r->c.class_names[r->c.n_class_names++] = json_string_value(name);
    return rc;
}

static void run_free(run_t *r)
{
    for (int i = 0; i < r->n_scores; i++)
        free(r->scores[i]);
    free(r->scores);
    free(r->names);
    free(r->fig);
    free(r->idx);
    free(r->probs);
    free(r->c.class_names);
    nerve_knn_free(&r->last[0]);
    nerve_knn_free(&r->last[1]);
    nerve_mapper_columns_free(&r->cols);
    study_manifest_free(&r->m);
    json_decref(r->manifest);
    json_decref(r->layers_out);
    json_decref(r->c.findings);
}

int nerve_study_findings(const char *dir, const nerve_study_findings_options *o, int *found)
{
    run_t r = { .dir = dir, .o = o };
    r.c.findings = json_array();
    r.layers_out = json_array();
    char path[PATH_MAX];
    int rc = r.c.findings && r.layers_out ? load(&r) : nerve_error_set(NERVE_ENOMEM, "out of memory");
    if (rc == 0)
        rc = nerve_path(path, sizeof path, "%s/findings", dir);
    if (rc == 0)
        rc = nerve_dir_create(path);
    nerve_progress bar;
    nerve_progress_begin(&bar, "findings", r.n_layers);
    for (int l = 0; rc == 0 && l < r.n_layers; l++) {
        rc = layer_pass(&r, l, &r.m.layers[r.idx[l]]);
        nerve_progress_update(&bar, l + 1);
        if (rc == 0 && nerve_interrupted())
            rc = nerve_error_set(NERVE_EINTERRUPTED, "interrupted");
    }
    nerve_progress_end(&bar);
    json_t *root = json_pack("{s:s, s:i, s:I}", "format", "nerve-findings", "version", 1, "inputs", (json_int_t)r.c.n);
    if (rc == 0 && root && r.n_layers == 0) {
        /* A study of several rows per input in every layer (--per-input, --mode all), or of
         * fewer than 3 inputs: an empty result that says why, not a failed run. */
        const char *why = "no layer holds one vector per input for 3 inputs or more";
        if (!nerve_quiet())
            fprintf(stderr, "nerve: warning: findings: %s: %s\n", dir, why);
        json_object_set_new(root, "skipped", json_string(why));
    } else if (rc == 0) {
        rc = root ? per_input(&r, root) : NERVE_ENOMEM;
    }
    if (rc == 0)
        rc = per_layer(&r);
    if (rc == 0)
        rc = redundancy(&r);
    if (rc == 0)
        rc = graphs(&r);
    if (rc == 0 && found)
        *found = (int)json_array_size(r.c.findings);
    if (rc == 0 && (rc = nerve_path(path, sizeof path, "%s/findings/findings.json", dir)) == 0) {
        json_object_set(root, "layers", r.layers_out);
        json_object_set(root, "findings", r.c.findings);
        rc = study_write_json(path, root);
        root = NULL;
    }
    json_decref(root);
    run_free(&r);
    return rc;
}
