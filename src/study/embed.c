/*
 * embed.c — a 2-D picture of every layer of a study: PCA or t-SNE of each
 * layer's point cloud into DIR/embed/<layer>.<method>.npy, with the
 * figures of each (explained variance, or the final KL divergence).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/embed.h"
#include "study_internal.h"

static json_t *real_array(const double *v, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

json_t *nerve_embed_file(const char *in, const char *out, const nerve_tsne_options *tsne, int64_t pca_dims, int *rc)
{
    nerve_mat points;
    json_t *fig = NULL;
    if ((*rc = nerve_mat_read_npy(&points, in)) < 0)
        return NULL;
    if (tsne) {
        nerve_tsne t;
        nerve_progress bar;
        nerve_progress_begin(&bar, "t-SNE", tsne->iters);
        *rc = nerve_tsne_fit(&t, &points, tsne, &bar);
        nerve_progress_end(&bar);
        if (*rc == 0 && (*rc = nerve_mat_write_npy(out, &t.y)) == 0)
            fig = json_pack("{s:s, s:s, s:I, s:i, s:f, s:s, s:I, s:f, s:f}", "method", "tsne", "out", out, "n",
                            (json_int_t)t.n, "dims", 2, "kl_divergence", t.kl, "algorithm",
                            nerve_tsne_method_name(t.method), "iterations", (json_int_t)t.iters, "perplexity",
                            tsne->perplexity, "learning_rate", t.learning_rate);
        nerve_tsne_free(&t);
    } else {
        nerve_pca p;
        *rc = nerve_pca_fit(&p, &points, pca_dims);
        if (*rc == 0 && (*rc = nerve_mat_write_npy(out, &p.scores)) == 0)
            fig = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "method", "pca", "out", out, "n", (json_int_t)p.n,
                            "dims", (json_int_t)p.k, "explained_variance", real_array(p.explained, p.k),
                            "explained_variance_ratio", real_array(p.explained_ratio, p.k));
        nerve_pca_free(&p);
    }
    nerve_mat_free(&points);
    return fig;
}

int nerve_study_embed(const char *dir, const nerve_tsne_options *tsne, int64_t pca_dims, json_t **figures)
{
    *figures = NULL;
    study_manifest m;
    int rc = study_manifest_read(&m, dir);
    if (rc < 0)
        return rc;
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/embed", dir);
    rc = nerve_dir_create(folder);
    json_t *all = json_array();
    for (int i = 0; rc == 0 && i < m.count; i++) {
        char in[4096], out[5400], stem[1024];
        study_file_stem(stem, sizeof stem, m.layers[i].file);
        snprintf(in, sizeof in, "%s/%s", dir, m.layers[i].file);
        snprintf(out, sizeof out, "%s/%s.%s.npy", folder, stem, tsne ? "tsne" : "pca");
        if (!nerve_quiet())
            fprintf(stderr, "nerve: embedding %s\n", m.layers[i].name);
        json_t *fig = nerve_embed_file(in, out, tsne, pca_dims, &rc);
        if (fig) {
            json_object_set_new(fig, "layer", json_string(m.layers[i].name));
            char rel[1200];
            snprintf(rel, sizeof rel, "embed/%s.%s.npy", stem, tsne ? "tsne" : "pca");
            json_object_set_new(fig, "file", json_string(rel));
            json_array_append_new(all, fig);
        }
    }
    study_manifest_free(&m);
    if (rc == 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/index.%s.json", folder, tsne ? "tsne" : "pca");
        json_incref(all);
        rc = study_write_json(path, json_pack("{s:o}", "layers", all));
    }
    if (rc < 0) {
        json_decref(all);
        return rc;
    }
    *figures = all;
    return 0;
}
