/*
 * mapper.c — every layer's Mapper graph in a study: DIR/mapper/<layer>.json
 * with the inputs' labels, predictions and confidences as node figures,
 * the links between consecutive layers' nodes (shared inputs) in
 * DIR/mapper/links/, and DIR/mapper/index.json naming them all.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/path.h"
#include "nerve/mapper.h"
#include "dist.h"
#include "study_internal.h"

/* The inputs' metadata, repeated for layers with several rows per input. */
typedef struct study_meta {
    nerve_array labels, predictions, confidence;
    int64_t    *row_labels, *row_predictions;
    float      *row_confidence;
} study_meta;

static void study_meta_free(study_meta *m)
{
    nerve_array_free(&m->labels);
    nerve_array_free(&m->predictions);
    nerve_array_free(&m->confidence);
    free(m->row_labels);
    free(m->row_predictions);
    free(m->row_confidence);
    memset(m, 0, sizeof *m);
}

static int optional_path(char *path, size_t cap, const char *dir, const char *name)
{
    return nerve_path(path, cap, "%s/inputs/%s.npy", dir, name);
}

/* Reads DIR/inputs/NAME.npy if it is there. */
static int read_optional(nerve_array *a, const char *dir, const char *name, nerve_dtype want, int64_t inputs)
{
    char path[PATH_MAX];
    int rc = optional_path(path, sizeof path, dir, name);
    if (rc < 0)
        return rc;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    nerve_npy_header h;
    rc = nerve_npy_read(a, &h, path, want);
    if (rc == 0 && nerve_array_count(a) != inputs)
        rc = nerve_error_set(NERVE_EINPUT, "%s: %lld values, the study has %lld inputs", path,
                             (long long)nerve_array_count(a), (long long)inputs);
    return rc;
}

/* meta for a layer of rows = inputs x per rows. */
static int layer_meta(nerve_mapper_meta *out, study_meta *m, int64_t inputs, int64_t per)
{
    int64_t rows = inputs * per;
    free(m->row_labels);
    free(m->row_predictions);
    free(m->row_confidence);
    m->row_labels = m->labels.data ? malloc((size_t)rows * sizeof *m->row_labels) : NULL;
    m->row_predictions = m->predictions.data ? malloc((size_t)rows * sizeof *m->row_predictions) : NULL;
    m->row_confidence = m->confidence.data ? malloc((size_t)rows * sizeof *m->row_confidence) : NULL;
    if ((m->labels.data && !m->row_labels) || (m->predictions.data && !m->row_predictions) ||
        (m->confidence.data && !m->row_confidence))
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int64_t r = 0; r < rows; r++) {
        if (m->row_labels)
            m->row_labels[r] = ((const int64_t *)m->labels.data)[r / per];
        if (m->row_predictions)
            m->row_predictions[r] = ((const int64_t *)m->predictions.data)[r / per];
        if (m->row_confidence)
            m->row_confidence[r] = ((const float *)m->confidence.data)[r / per];
    }
    out->labels = m->row_labels;
    out->predictions = m->row_predictions;
    out->confidence = m->row_confidence;
    return 0;
}

static int write_links(const char *dir, const char *rel, const nerve_mapper_graph *a, const nerve_mapper_graph *b)
{
    nerve_mapper_links l;
    char path[PATH_MAX];
    int rc = nerve_path(path, sizeof path, "%s/%s", dir, rel);
    if (rc == 0)
        rc = nerve_mapper_links_between(&l, a, b);
    if (rc < 0)
        return rc;
    json_t *src = json_array(), *dst = json_array(), *shared = json_array();
    for (int64_t i = 0; i < l.n; i++) {
        json_array_append_new(src, json_integer(l.a[i]));
        json_array_append_new(dst, json_integer(l.b[i]));
        json_array_append_new(shared, json_integer(l.shared[i]));
    }
    nerve_mapper_links_free(&l);
    return study_write_json(path, json_pack("{s:o, s:o, s:o}", "source", src, "target", dst, "shared", shared));
}

static json_t *layer_entry(const study_layer *l, const char *graph, const nerve_mapper_graph *g)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "name", l->name, "graph", graph, "rows",
                     (json_int_t)l->rows, "nodes", (json_int_t)g->n_nodes, "edges", (json_int_t)g->n_edges,
                     "components", (json_int_t)g->components, "loops", (json_int_t)g->loops, "branch_points",
                     (json_int_t)g->branch_points, "leaves", (json_int_t)g->leaves, "eps", g->eps);
}

/* Where a layer's points are and where its graph goes (graph_rel: from the
 * study's folder, as the index names it). */
typedef struct layer_files {
    char points[PATH_MAX], graph[PATH_MAX], graph_rel[1100];
} layer_files;

/* Built before the layer is mapped, so that a path too long fails the
 * stage instead of reading as a layer whose data defeats the parameters. */
static int layer_files_of(layer_files *f, const char *dir, const study_layer *l)
{
    char stem[1024];
    study_file_stem(stem, sizeof stem, l->file);
    snprintf(f->graph_rel, sizeof f->graph_rel, "mapper/%s.json", stem);   /* a stem is a file's name: it fits */
    int rc = nerve_path(f->points, sizeof f->points, "%s/%s", dir, l->file);
    return rc < 0 ? rc : nerve_path(f->graph, sizeof f->graph, "%s/%s", dir, f->graph_rel);
}

/* One layer: its graph written (unless `write` is 0: a layer another rank
 * owns, mapped again for the link into this rank's first, or mapped with
 * rank 0), kept in *g for the links to the next. split: the cover's
 * elements shared by all ranks, or NULL. */
static int map_layer(nerve_mapper_graph *g, const layer_files *f, const char *lens_spec, const nerve_mapper_params *p,
                     const nerve_mapper_meta *meta, int write, const nerve_mapper_split *split)
{
    nerve_mat x;
    nerve_lens lens = { 0 };
    int rc = nerve_mat_read_npy(&x, f->points);
    if (rc < 0)
        return rc;
    if ((rc = nerve_lens_compute(&lens, lens_spec, &x, meta)) == 0)
        rc = nerve_mapper_build_split(g, &x, &lens, p, meta, split);
    if (rc == 0 && write)
        rc = nerve_mapper_write(f->graph, NERVE_GRAPH_JSON, g, p, &lens);
    nerve_lens_free(&lens);
    nerve_mat_free(&x);
    return rc;
}

/* The study's labels, predictions and confidences, those it has. */
static int read_meta(study_meta *sm, const char *dir, int64_t inputs)
{
    int rc = read_optional(&sm->labels, dir, "labels", NERVE_I64, inputs);
    if (rc == 0 && sm->labels.data) {
        char path[PATH_MAX];
        if ((rc = optional_path(path, sizeof path, dir, "labels")) == 0)
            rc = nerve_mapper_labels_check(NULL, sm->labels.data, inputs, path);
    }
    if (rc == 0)
        rc = read_optional(&sm->predictions, dir, "predictions", NERVE_I64, inputs);
    if (rc == 0)
        rc = read_optional(&sm->confidence, dir, "confidence", NERVE_F32, inputs);
    return rc;
}

int nerve_study_mapper_layer(struct json_t **out, const char *dir, const char *layer, const char *lens_spec,
                             const nerve_mapper_params *p)
{
    *out = NULL;
    study_manifest m;
    study_meta sm = { 0 };
    int rc = study_manifest_read(&m, dir);
    if (rc < 0)
        return rc;
    const study_layer *l = NULL;
    for (int i = 0; i < m.count && !l; i++)
        if (strcmp(m.layers[i].name, layer) == 0)
            l = &m.layers[i];
    if (!l)
        rc = nerve_error_set(NERVE_EINPUT, "%s: no layer '%s' in the study", dir, layer);
    else if (l->rows % m.inputs != 0)
        rc = nerve_error_set(NERVE_EINPUT, "%s: layer '%s' has %lld rows for %lld inputs", dir, layer,
                             (long long)l->rows, (long long)m.inputs);
    nerve_mapper_meta meta = { .seed = p->seed };
    char path[PATH_MAX];
    nerve_mat x = { 0 };
    nerve_lens lens = { 0 };
    nerve_mapper_graph g = { 0 };
    if (rc == 0 && (rc = read_meta(&sm, dir, m.inputs)) == 0 &&
        (rc = layer_meta(&meta, &sm, m.inputs, l->rows / m.inputs)) == 0 &&
        (rc = nerve_path(path, sizeof path, "%s/%s", dir, l->file)) == 0)
        rc = nerve_mat_read_npy(&x, path);
    if (rc == 0 && (rc = nerve_lens_compute(&lens, lens_spec, &x, &meta)) == 0 &&
        (rc = nerve_mapper_build(&g, &x, &lens, p, &meta)) == 0)
        *out = nerve_mapper_graph_json(&g, p, &lens);
    nerve_mapper_graph_free(&g);
    nerve_lens_free(&lens);
    nerve_mat_free(&x);
    study_meta_free(&sm);
    study_manifest_free(&m);
    return rc;
}

/* Whether the ranks share each layer's cover elements (all ranks map every
 * layer, rank 0 writes) rather than the layers, by the time each takes in
 * layers' work: split by layers, a rank maps its run of layers and the one
 * before it again (for the link); split by elements, every layer's points,
 * lens, automatic eps and assembly (0.4 of its work, measured on 9 layers
 * of 20,000 inputs) are done on every rank and only the clustering
 * divides. So elements pay for a few layers only (up to 7 on 2 ranks, 4
 * on 3 or more); NERVE_TEST_MAPPER_ELEMENTS=1 forces them for the tests. */
static int by_elements(const study_manifest *m)
{
    int mapped = 0, k = study_dist_size();
    for (int i = 0; i < m->count; i++)
        mapped += m->layers[i].rows % m->inputs == 0;
    double layers = (double)((mapped + k - 1) / k) + (mapped > 1), elements = mapped * (0.4 + 0.6 / k);
    const char *test = getenv("NERVE_TEST_MAPPER_ELEMENTS");
    return k > 1 && (elements < layers || (test && strcmp(test, "1") == 0));
}

/* Where this rank starts: with several ranks each maps a contiguous run of
 * layers [*first, last), and the link into its first layer needs the graph
 * of the layer mapped before it, which it maps again from *from. Sharing
 * the elements, rank 0 owns every layer and the others help with each. */
static void layer_share(const study_manifest *m, int *from, int *first, int *last)
{
    int64_t a, b;
    if (by_elements(m)) {
        *from = 0;
        *first = study_dist_rank() == 0 ? 0 : m->count;
        *last = m->count;
        return;
    }
    study_dist_share(m->count, 1, study_dist_rank(), study_dist_size(), &a, &b);
    *first = (int)a;
    *last = (int)b;
    *from = *first - 1;
    while (*from >= 0 && m->layers[*from].rows % m->inputs != 0)   /* layers the stage passes over */
        (*from)--;
    if (*from < 0)
        *from = *first;
}

/* Rank 0: the index from every layer's slot ({"layer", "link", "skipped",
 * "passed"}, those that apply), in the layers' order. */
static void index_lists(const json_t *slots, json_t *layers, json_t *links, json_t *skipped,
                        nerve_study_mapper_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    for (size_t i = 0; i < json_array_size(slots); i++) {
        const json_t *slot = json_array_get(slots, i), *v;
        if ((v = json_object_get(slot, "layer"))) {
            json_array_append(layers, (json_t *)v);
            sum->layers++;
        }
        if ((v = json_object_get(slot, "link")))
            json_array_append(links, (json_t *)v);
        if ((v = json_object_get(slot, "skipped")))
            json_array_append(skipped, (json_t *)v);
        sum->skipped += json_object_get(slot, "skipped") || json_object_get(slot, "passed");
    }
}

int nerve_study_mapper(const char *dir, const char *lens_spec, const nerve_mapper_params *p,
                       nerve_study_mapper_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    study_manifest m;
    study_meta sm = { 0 };
    int rc = study_manifest_read(&m, dir);
    if (rc < 0)
        return rc;
    char path[PATH_MAX];
    if ((rc = nerve_path(path, sizeof path, "%s/mapper/links", dir)) == 0)
        rc = nerve_dir_create(path);   /* and mapper/ on the way */
    if (rc == 0)
        rc = read_meta(&sm, dir, m.inputs);
    json_t *slots = json_array(), *scratch = json_array();
    nerve_mapper_graph prev = { 0 }, g = { 0 };
    const study_layer *prev_layer = NULL;
    int from, first, last;
    layer_share(&m, &from, &first, &last);
    nerve_mapper_split split;
    study_dist_mapper_split(&split);
    for (int i = 0; i < first; i++)
        json_array_append_new(slots, json_null());
    for (int i = from; rc == 0 && i < last; i++) {
        const study_layer *l = &m.layers[i];
        int own = i >= first;
        json_t *slot = json_object();
        if (own)
            json_array_append_new(slots, slot);
        else
            json_array_append_new(scratch, slot);
        if (l->rows % m.inputs != 0) {
            json_object_set_new(slot, "passed", json_true());
            continue;
        }
        nerve_mapper_meta meta = { .seed = p->seed };
        char links_rel[2600], a[1024], b[1024];
        layer_files f;
        if ((rc = layer_files_of(&f, dir, l)) < 0 || (rc = layer_meta(&meta, &sm, m.inputs, l->rows / m.inputs)) < 0)
            break;
        if ((rc = map_layer(&g, &f, lens_spec, p, &meta, own, by_elements(&m) ? &split : NULL)) == NERVE_EINPUT) {
            /* This layer's data defeats these parameters (all points equal, say):
             * the others still get their graphs, and the index says why. */
            json_t *why = json_array();
            if ((rc = own ? study_skip_layer(why, "mapper", l->name) : 0) == 0 && json_array_size(why))
                json_object_set(slot, "skipped", json_array_get(why, 0));
            json_decref(why);
            nerve_mapper_graph_free(&prev);   /* no links across the gap */
            prev_layer = NULL;
            continue;
        }
        if (rc < 0)
            break;
        if (own)
            json_object_set_new(slot, "layer", layer_entry(l, f.graph_rel, &g));
        if (own && prev_layer && prev_layer->rows == l->rows) {
            study_file_stem(a, sizeof a, prev_layer->file);
            study_file_stem(b, sizeof b, l->file);
            snprintf(links_rel, sizeof links_rel, "mapper/links/%s__%s.json", a, b);
            if ((rc = write_links(dir, links_rel, &prev, &g)) == 0)
                json_object_set_new(slot, "link", json_pack("{s:s, s:s, s:s}", "from", prev_layer->name, "to",
                                                            l->name, "file", links_rel));
        }
        nerve_mapper_graph_free(&prev);
        prev = g;
        memset(&g, 0, sizeof g);
        prev_layer = l;
    }
    for (int i = last; i < m.count; i++)
        json_array_append_new(slots, json_null());
    if (rc == 0)
        rc = study_dist_merge(slots);
    json_t *layers = json_array(), *links = json_array(), *skipped = json_array();
    index_lists(slots, layers, links, skipped, sum);
    if (rc == 0 && study_dist_rank() == 0 && (rc = nerve_path(path, sizeof path, "%s/mapper/index.json", dir)) == 0) {
        rc = study_write_json(path, json_pack("{s:s, s:s, s:I, s:f, s:O, s:O, s:O}", "lens", lens_spec, "cover",
                                              nerve_cover_name(p->cover), "intervals", (json_int_t)p->intervals,
                                              "overlap", p->overlap, "layers", layers, "links", links, "skipped",
                                              skipped));
    }
    json_decref(layers);
    json_decref(links);
    json_decref(skipped);
    json_decref(slots);
    json_decref(scratch);
    nerve_mapper_graph_free(&prev);
    nerve_mapper_graph_free(&g);
    study_meta_free(&sm);
    study_manifest_free(&m);
    return rc;
}
