/*
 * embed.c — a 2-D picture of every layer of a study: PCA, t-SNE or UMAP of
 * each layer's point cloud into DIR/embed/<layer>.<method>.npy, with the
 * figures of each (explained variance, the final KL divergence, or UMAP's
 * settings) in DIR/embed/index.<method>.json.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/embed.h"
#include "nerve/internal/path.h"
#include "dist.h"
#include "study_internal.h"

static json_t *real_array(const double *v, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

/* What to embed with: the files' suffix and the method's options. */
typedef struct embed_method {
    const char               *name;   /* "pca", "tsne", "umap" */
    const nerve_tsne_options *tsne;
    const nerve_umap_options *umap;
    int64_t                   pca_dims;
} embed_method;

static json_t *tsne_file(const nerve_mat *points, const char *out, const nerve_tsne_options *o, int *rc)
{
    nerve_tsne t;
    nerve_progress bar;
    json_t *fig = NULL;
    nerve_progress_begin(&bar, "t-SNE", o->iters);
    *rc = nerve_tsne_fit(&t, points, o, &bar);
    nerve_progress_end(&bar);
    if (*rc == 0 && (*rc = nerve_mat_write_npy(out, &t.y)) == 0)
        fig = json_pack("{s:s, s:s, s:I, s:i, s:f, s:s, s:I, s:f, s:f}", "method", "tsne", "out", out, "n",
                        (json_int_t)t.n, "dims", 2, "kl_divergence", t.kl, "algorithm",
                        nerve_tsne_method_name(t.method), "iterations", (json_int_t)t.iters, "perplexity",
                        o->perplexity, "learning_rate", t.learning_rate);
    nerve_tsne_free(&t);
    return fig;
}

/* UMAP's figures hold every setting it ran with, so the stage's index
 * records them. */
static json_t *umap_file(const nerve_mat *points, const char *out, const nerve_umap_options *o, int *rc)
{
    nerve_umap u;
    nerve_progress bar;
    json_t *fig = NULL;
    int64_t epochs = o->epochs > 0 ? o->epochs : points->rows <= 10000 ? 500 : 200;
    nerve_progress_begin(&bar, "UMAP", epochs);
    *rc = nerve_umap_fit(&u, points, o, &bar);
    nerve_progress_end(&bar);
    if (*rc == 0 && (*rc = nerve_mat_write_npy(out, &u.y)) == 0)
        fig = json_pack("{s:s, s:s, s:I, s:i, s:I, s:f, s:f, s:s, s:I, s:f, s:f, s:I, s:f, s:f, s:s, s:I, s:s, s:I, "
                        "s:I}",
                        "method", "umap", "out", out, "n", (json_int_t)u.n, "dims", 2, "neighbors",
                        (json_int_t)u.neighbors, "min_dist", o->min_dist, "spread", o->spread, "metric",
                        nerve_metric_name(o->metric), "epochs", (json_int_t)u.epochs, "learning_rate",
                        o->learning_rate, "repulsion", o->repulsion, "negative_rate", (json_int_t)o->negative_rate,
                        "a", u.a, "b", u.b, "init", nerve_umap_init_name(u.init), "components",
                        (json_int_t)u.components, "neighbor_search", u.exact_neighbors ? "exact" : "nn-descent",
                        "edges", (json_int_t)u.edges, "seed", (json_int_t)o->seed);
    nerve_umap_free(&u);
    return fig;
}

static json_t *embed_file(const char *in, const char *out, const embed_method *m, int *rc)
{
    nerve_mat points;
    json_t *fig = NULL;
    if ((*rc = nerve_mat_read_npy(&points, in)) < 0)
        return NULL;
    if (m->tsne) {
        fig = tsne_file(&points, out, m->tsne, rc);
    } else if (m->umap) {
        fig = umap_file(&points, out, m->umap, rc);
    } else {
        nerve_pca p;
        *rc = nerve_pca_fit(&p, &points, m->pca_dims);
        if (*rc == 0 && (*rc = nerve_mat_write_npy(out, &p.scores)) == 0)
            fig = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "method", "pca", "out", out, "n", (json_int_t)p.n,
                            "dims", (json_int_t)p.k, "explained_variance", real_array(p.explained, p.k),
                            "explained_variance_ratio", real_array(p.explained_ratio, p.k));
        nerve_pca_free(&p);
    }
    nerve_mat_free(&points);
    return fig;
}

json_t *nerve_embed_file(const char *in, const char *out, const nerve_tsne_options *tsne, int64_t pca_dims, int *rc)
{
    embed_method m = { tsne ? "tsne" : "pca", tsne, NULL, pca_dims };
    return embed_file(in, out, &m, rc);
}

json_t *nerve_embed_file_umap(const char *in, const char *out, const nerve_umap_options *umap, int *rc)
{
    embed_method m = { "umap", NULL, umap, 2 };
    return embed_file(in, out, &m, rc);
}

static int study_embed(const char *dir, const embed_method *method, json_t **figures)
{
    *figures = NULL;
    study_manifest m;
    int rc = study_manifest_read(&m, dir);
    if (rc < 0)
        return rc;
    char folder[4096];
    if ((rc = nerve_path(folder, sizeof folder, "%s/embed", dir)) == 0)
        rc = nerve_dir_create(folder);
    /* With several ranks each embeds its share of the layers, and rank 0
     * writes the index from every layer's slot: {"figure": ...} or
     * {"skipped": ...}. */
    json_t *all = json_array(), *skipped = json_array(), *slots = json_array();
    int *owner = study_dist_layer_owners(&m);
    if (!owner && rc == 0)
        rc = NERVE_ENOMEM;
    for (int i = 0; rc == 0 && i < m.count; i++) {
        char in[4096], out[5400], stem[1024];
        if (owner[i] != study_dist_rank()) {
            json_array_append_new(slots, json_null());
            continue;
        }
        json_t *slot = json_object(), *skip = json_array();
        json_array_append_new(slots, slot);
        study_file_stem(stem, sizeof stem, m.layers[i].file);
        if ((rc = nerve_path(in, sizeof in, "%s/%s", dir, m.layers[i].file)) < 0 ||
            (rc = nerve_path(out, sizeof out, "%s/%s.%s.npy", folder, stem, method->name)) < 0)
            break;   /* before the layer is embedded: a failure, not a layer skipped */
        if (!nerve_quiet())
            fprintf(stderr, "nerve: embedding %s\n", m.layers[i].name);
        json_t *fig = embed_file(in, out, method, &rc);
        if (rc == NERVE_EINPUT)   /* too few points for the method, say: the other layers go on */
            rc = study_skip_layer(skip, method->name, m.layers[i].name);
        if (json_array_size(skip))
            json_object_set(slot, "skipped", json_array_get(skip, 0));
        json_decref(skip);
        if (fig) {
            json_object_set_new(fig, "layer", json_string(m.layers[i].name));
            char rel[1200];
            snprintf(rel, sizeof rel, "embed/%s.%s.npy", stem, method->name);
            json_object_set_new(fig, "file", json_string(rel));
            json_object_set_new(slot, "figure", fig);
        }
    }
    if (rc == 0)
        rc = study_dist_merge(slots);
    for (size_t i = 0; rc == 0 && i < json_array_size(slots); i++) {
        json_t *slot = json_array_get(slots, i);
        if (json_object_get(slot, "skipped"))
            json_array_append(skipped, json_object_get(slot, "skipped"));
        if (json_object_get(slot, "figure"))
            json_array_append(all, json_object_get(slot, "figure"));
    }
    json_decref(slots);
    free(owner);
    study_manifest_free(&m);
    char path[4200];
    if (rc == 0 && study_dist_rank() == 0 &&
        (rc = nerve_path(path, sizeof path, "%s/index.%s.json", folder, method->name)) == 0) {
        json_incref(all);
        rc = study_write_json(path, json_pack("{s:o, s:O}", "layers", all, "skipped", skipped));
    }
    json_decref(skipped);
    if (rc < 0) {
        json_decref(all);
        return rc;
    }
    *figures = all;
    return 0;
}

int nerve_study_embed(const char *dir, const nerve_tsne_options *tsne, int64_t pca_dims, json_t **figures)
{
    embed_method m = { tsne ? "tsne" : "pca", tsne, NULL, pca_dims };
    return study_embed(dir, &m, figures);
}

int nerve_study_embed_umap(const char *dir, const nerve_umap_options *umap, json_t **figures)
{
    embed_method m = { "umap", NULL, umap, 2 };
    return study_embed(dir, &m, figures);
}
