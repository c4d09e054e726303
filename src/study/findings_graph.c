/*
 * findings_graph.c — the Mapper side of a study's findings: each layer's
 * graph read back from DIR/mapper/<layer>.json (what the findings room
 * needs of it), its bridge nodes, loops and flares as findings, and which
 * classes hold a pure component of their own.
 */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/findings.h"
#include "nerve/internal/alloc.h"
#include "nerve/internal/path.h"
#include "nerve/study.h"
#include "study_internal.h"
#include "study_findings.h"

/* An array of n integers from a JSON list, each in [0, bound); NULL (the
 * error set, naming where) if it is not one. */
static int64_t *int_list(const json_t *list, int64_t n, int64_t bound, const char *where, const char *key)
{
    if (!json_is_array(list) || (int64_t)json_array_size(list) != n) {
        nerve_error_set(NERVE_EINPUT, "%s: \"%s\" is not a list of %lld integers", where, key, (long long)n);
        return NULL;
    }
    int64_t *out = nerve_alloc_array((size_t)n + 1, sizeof *out, key);
    for (int64_t i = 0; out && i < n; i++) {
        json_t *v = json_array_get(list, (size_t)i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= bound) {
            nerve_error_set(NERVE_EINPUT, "%s: \"%s\" entry %lld is not an integer in [0, %lld)", where, key,
                            (long long)i, (long long)bound);
            free(out);
            return NULL;
        }
        out[i] = json_integer_value(v);
    }
    return out;
}

static int read_nodes(nerve_mapper_graph *g, const json_t *root, const char *where)
{
    const json_t *nodes = json_object_get(root, "nodes");
    json_t *start = json_object_get(nodes, "member_start"), *counts = json_object_get(nodes, "label_counts");
    g->n_nodes = json_is_array(start) ? (int64_t)json_array_size(start) - 1 : -1;
    if (g->n_nodes < 0)
        return nerve_error_set(NERVE_EINPUT, "%s: no nodes.member_start", where);
    json_t *members = json_object_get(root, "members");
    int64_t n_members = json_is_array(members) ? (int64_t)json_array_size(members) : 0;
    if (!(g->member_start = int_list(start, g->n_nodes + 1, n_members + 1, where, "member_start")) ||
        !(g->members = int_list(members, n_members, g->n_points, where, "members")))
        return NERVE_EINPUT;
    for (int64_t v = 0; v < g->n_nodes; v++)
        if (g->member_start[v + 1] < g->member_start[v])
            return nerve_error_set(NERVE_EINPUT, "%s: member_start decreases at node %lld", where, (long long)v);
    g->n_classes = json_is_array(counts) && json_array_size(counts) > 0
                   ? (int64_t)json_array_size(json_array_get(counts, 0)) : 0;
    if (g->n_classes == 0)
        return 0;   /* no labels: no class findings */
    g->label_counts = nerve_alloc_array((size_t)(g->n_nodes * g->n_classes) + 1, sizeof *g->label_counts, "label counts");
    g->dominant = nerve_alloc_array((size_t)g->n_nodes + 1, sizeof *g->dominant, "dominant classes");
    g->purity = nerve_alloc_array((size_t)g->n_nodes + 1, sizeof *g->purity, "purities");
    if (!g->label_counts || !g->dominant || !g->purity || (int64_t)json_array_size(counts) != g->n_nodes)
        return g->dominant ? nerve_error_set(NERVE_EINPUT, "%s: label_counts is not one row a node", where)
                           : NERVE_ENOMEM;
    for (int64_t v = 0; v < g->n_nodes; v++) {
        int64_t *row = int_list(json_array_get(counts, (size_t)v), g->n_classes, INT64_MAX, where, "label_counts");
        if (!row)
            return NERVE_EINPUT;
        memcpy(g->label_counts + v * g->n_classes, row, (size_t)g->n_classes * sizeof *row);
        free(row);
        int64_t best = 0, total = 0;
        for (int64_t c = 0; c < g->n_classes; c++) {
            total += g->label_counts[v * g->n_classes + c];
            best = g->label_counts[v * g->n_classes + c] > g->label_counts[v * g->n_classes + best] ? c : best;
        }
        g->dominant[v] = total > 0 ? best : -1;
        g->purity[v] = total > 0 ? (double)g->label_counts[v * g->n_classes + best] / (double)total : NAN;
    }
    return 0;
}

static int read_edges_and_cycles(nerve_mapper_graph *g, const json_t *root, const char *where)
{
    const json_t *edges = json_object_get(root, "edges");
    json_t *src = json_object_get(edges, "source"), *dst = json_object_get(edges, "target");
    g->n_edges = json_is_array(src) ? (int64_t)json_array_size(src) : 0;
    int64_t *a = int_list(src, g->n_edges, g->n_nodes, where, "edges.source");
    int64_t *b = a ? int_list(dst, g->n_edges, g->n_nodes, where, "edges.target") : NULL;
    g->edges = b ? nerve_alloc_array((size_t)g->n_edges + 1, sizeof *g->edges, "edges") : NULL;
    for (int64_t e = 0; g->edges && e < g->n_edges; e++)
        g->edges[e] = (nerve_mapper_edge){ .a = a[e] < b[e] ? a[e] : b[e], .b = a[e] < b[e] ? b[e] : a[e] };
    free(a);
    free(b);
    if (!g->edges)
        return NERVE_EINPUT;
    json_t *cycles = json_object_get(json_object_get(root, "figures"), "cycle_basis"), *cycle;
    size_t i, total = 0;
    json_array_foreach(cycles, i, cycle)
        total += json_array_size(cycle);
    g->n_cycles = json_is_array(cycles) ? (int64_t)json_array_size(cycles) : 0;
    g->cycle_start = nerve_zalloc_array((size_t)g->n_cycles + 1, sizeof *g->cycle_start, "cycles");
    g->cycle_nodes = nerve_alloc_array(total + 1, sizeof *g->cycle_nodes, "cycles");
    if (!g->cycle_start || !g->cycle_nodes)
        return NERVE_ENOMEM;
    json_array_foreach(cycles, i, cycle) {
        int64_t len = (int64_t)json_array_size(cycle);
        int64_t *nodes = int_list(cycle, len, g->n_nodes, where, "cycle_basis");
        if (!nodes)
            return NERVE_EINPUT;
        memcpy(g->cycle_nodes + g->cycle_start[i], nodes, (size_t)len * sizeof *nodes);
        g->cycle_start[i + 1] = g->cycle_start[i] + len;
        free(nodes);
    }
    return 0;
}

int study_findings_graph_read(nerve_mapper_graph *g, const char *path)
{
    memset(g, 0, sizeof *g);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        return nerve_error_set(NERVE_EINPUT, "%s: %s (line %d)", path, err.text, err.line);
    json_t *n = json_object_get(root, "n_points");
    g->n_points = json_is_integer(n) ? json_integer_value(n) : -1;
    int rc = g->n_points >= 0 ? 0 : nerve_error_set(NERVE_EINPUT, "%s: no n_points", path);
    if (rc == 0)
        rc = read_nodes(g, root, path);
    if (rc == 0)
        rc = read_edges_and_cycles(g, root, path);
    json_decref(root);
    if (rc < 0)
        nerve_mapper_graph_free(g);
    return rc;
}

static json_t *int_array(const int64_t *v, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

static const char *class_name(const study_findings_ctx *c, int64_t k, char *buf, size_t cap)
{
    if (c->class_names && k >= 0 && k < c->n_class_names)
        return c->class_names[k];
    snprintf(buf, cap, "class %lld", (long long)k);
    return buf;
}

/* Up to BRIDGES_A_LAYER bridge nodes of one layer's graph as findings. */
enum { BRIDGES_A_LAYER = 3, SHAPES_A_LAYER = 3 };

static int bridges(study_findings_ctx *c, const nerve_mapper_graph *g, const char *layer)
{
    nerve_findings_bridge *b;
    int64_t n;
    /* nodes of at least 0.1% of the inputs: a handful of points mixing classes is noise */
    int64_t min_size = g->n_points / 1000 > 5 ? g->n_points / 1000 : 5;
    int rc = nerve_findings_bridges(&b, &n, g, min_size, 0.7);
    for (int64_t i = 0; rc == 0 && i < n && i < BRIDGES_A_LAYER; i++) {
        char text[512], x[32], y[32];
        int64_t size = g->member_start[b[i].node + 1] - g->member_start[b[i].node];
        snprintf(text, sizeof text, "In %s, a node of %lld inputs bridges %s and %s (%.0f%% %s): the layer confuses them there.",
                 layer, (long long)size, class_name(c, b[i].a, x, sizeof x), class_name(c, b[i].b, y, sizeof y),
                 100 * b[i].score, class_name(c, b[i].b, y, sizeof y));
        json_t *f = json_pack("{s:s, s:s, s:f, s:[I], s:[I, I], s:s}", "kind", "bridge", "layer", layer, "score",
                              b[i].score, "nodes", (json_int_t)b[i].node, "classes", (json_int_t)b[i].a,
                              (json_int_t)b[i].b, "text", text);
        rc = study_findings_add(c, f);
    }
    free(b);
    return rc;
}

static int shapes(study_findings_ctx *c, const nerve_mapper_graph *g, const char *layer)
{
    nerve_findings_shape *s;
    int64_t n, done[2] = { 0, 0 };
    int rc = nerve_findings_shapes(&s, &n, g, 3);
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        /* a shape whose inputs are mostly one class says something about it; a mix is noise */
        if (!(s[i].purity >= 0.6) || done[s[i].loop]++ >= SHAPES_A_LAYER)
            continue;
        char text[512], x[32];
        snprintf(text, sizeof text, "In %s, a %s of %lld nodes (%lld inputs), %.0f%% %s.", layer,
                 s[i].loop ? "loop" : "flare", (long long)s[i].n_nodes, (long long)s[i].members,
                 100 * (isnan(s[i].purity) ? 0 : s[i].purity), class_name(c, s[i].dominant, x, sizeof x));
        json_t *f = json_pack("{s:s, s:s, s:f, s:o, s:[I], s:s}", "kind", s[i].loop ? "loop" : "flare", "layer",
                              layer, "score", isnan(s[i].purity) ? 0.0 : s[i].purity, "nodes",
                              int_array(s[i].nodes, s[i].n_nodes), "classes", (json_int_t)s[i].dominant, "text", text);
        rc = study_findings_add(c, f);
    }
    nerve_findings_shapes_free(s, n);
    return rc;
}

int study_findings_graph(study_findings_ctx *c, const nerve_mapper_graph *g, const char *layer, int *pure)
{
    int rc = bridges(c, g, layer);
    if (rc == 0)
        rc = shapes(c, g, layer);
    if (rc == 0 && c->labels && g->n_classes == c->n_classes && g->n_points == c->n)
        rc = nerve_findings_pure_classes(pure, g, c->labels, 0.5, 0.9);
    return rc;
}
