/*
 * summary.c — a study at a glance: one line per layer with its point cloud,
 * its Mapper graph, its persistence and its t-SNE, read from the indexes
 * the stages wrote (a stage not run shows as "-").
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "nerve/internal/path.h"
#include "study_internal.h"

static json_t *load(const char *dir, const char *rel)
{
    char path[PATH_MAX];
    return nerve_path(path, sizeof path, "%s/%s", dir, rel) == 0 ? json_load_file(path, 0, NULL) : NULL;
}

/* The entry of an index's "layers" whose "name" (or "layer") is name. */
static json_t *layer_entry(json_t *index, const char *name)
{
    json_t *layers = json_object_get(index, "layers"), *l;
    size_t i;
    json_array_foreach(layers, i, l) {
        const char *n = json_string_value(json_object_get(l, "name"));
        if (!n)
            n = json_string_value(json_object_get(l, "layer"));
        if (n && strcmp(n, name) == 0)
            return l;
    }
    return NULL;
}

/* The name the table shows for a layer: its readable display name
 * (nerve_study_display_names), else the tap name. */
static const char *shown_name(json_t *layer, const char *tap)
{
    const char *display = json_string_value(json_object_get(layer, "display"));
    return display ? display : tap;
}

static long long int_of(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* One line per layer of m; manifest's layers carry "dim" and "display". */
static void print_table(FILE *out, const study_manifest *m, json_t *manifest, json_t *mapper, json_t *ph,
                        json_t *embed)
{
    json_t *layers = json_object_get(manifest, "layers");
    int width = 5;   /* "layer" */
    for (int i = 0; i < m->count; i++) {
        int len = (int)strlen(shown_name(json_array_get(layers, (size_t)i), m->layers[i].name));
        width = len > width ? len : width;
    }
    fprintf(out, "%-*s %9s %6s %6s %6s %6s %6s %6s %8s\n", width, "layer", "points", "dim", "nodes", "edges",
            "loops", "H0", "H1", "t-SNE KL");
    for (int i = 0; i < m->count; i++) {
        const char *name = m->layers[i].name;   /* the indexes know a layer by its tap name */
        json_t *layer = json_array_get(layers, (size_t)i);
        json_t *g = layer_entry(mapper, name), *p = layer_entry(ph, name), *e = layer_entry(embed, name);
        json_t *counts = json_object_get(p, "counts");
        char nodes[24] = "-", edges[24] = "-", loops[24] = "-", h0[24] = "-", h1[24] = "-", kl[24] = "-";
        if (g) {
            snprintf(nodes, sizeof nodes, "%lld", int_of(g, "nodes"));
            snprintf(edges, sizeof edges, "%lld", int_of(g, "edges"));
            snprintf(loops, sizeof loops, "%lld", int_of(g, "loops"));
        }
        if (json_array_size(counts) > 0)
            snprintf(h0, sizeof h0, "%lld", (long long)json_integer_value(json_array_get(counts, 0)));
        if (json_array_size(counts) > 1)
            snprintf(h1, sizeof h1, "%lld", (long long)json_integer_value(json_array_get(counts, 1)));
        if (e)
            snprintf(kl, sizeof kl, "%.3f", json_real_value(json_object_get(e, "kl_divergence")));
        fprintf(out, "%-*s %9lld %6lld %6s %6s %6s %6s %6s %8s\n", width, shown_name(layer, name),
                (long long)m->layers[i].rows, int_of(layer, "dim"), nodes, edges, loops, h0, h1, kl);
    }
}

int nerve_study_summary(const char *dir, FILE *out)
{
    study_manifest m;
    int rc = study_manifest_read(&m, dir);
    if (rc < 0)
        return rc;
    json_t *manifest = load(dir, "manifest.json"), *mapper = load(dir, "mapper/index.json"),
           *ph = load(dir, "ph/index.json"), *embed = load(dir, "embed/index.tsne.json");
    rc = manifest ? nerve_study_display_names(manifest) : 0;
    if (rc >= 0)
        print_table(out, &m, manifest, mapper, ph, embed);
    json_decref(manifest);
    json_decref(mapper);
    json_decref(ph);
    json_decref(embed);
    study_manifest_free(&m);
    return rc < 0 ? rc : 0;
}
