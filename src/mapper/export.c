/*
 * export.c — a Mapper graph written as nerve's JSON, NetworkX node-link
 * JSON (what TopoAct's D3 page loads), GraphML (NetworkX, Gephi) or
 * KeplerMapper's graph dict. Nodes are named as KeplerMapper names them,
 * "cube<element>_cluster<label>", in every format.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mapper_internal.h"

static const char *const FORMAT_NAMES[] = { "json", "node-link", "graphml", "kmapper" };

const char *nerve_graph_format_name(nerve_graph_format f)
{
    return FORMAT_NAMES[f];
}

int nerve_graph_format_parse(const char *s, nerve_graph_format *f)
{
    for (int i = NERVE_GRAPH_JSON; i <= NERVE_GRAPH_KMAPPER; i++)
        if (strcmp(s, FORMAT_NAMES[i]) == 0) {
            *f = (nerve_graph_format)i;
            return 0;
        }
    return -1;
}

static void node_name(char *out, size_t cap, const nerve_mapper_graph *g, int64_t v)
{
    snprintf(out, cap, "cube%lld_cluster%lld", (long long)g->node_element[v], (long long)g->node_cluster[v]);
}

/* A real, or null for NaN (JSON has no NaN). */
static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *int_range(const int64_t *v, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

static json_t *real_range(const double *v, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(a, real_or_null(v[i]));
    return a;
}

static json_t *members_of(const nerve_mapper_graph *g, int64_t v)
{
    return int_range(g->members + g->member_start[v], g->member_start[v + 1] - g->member_start[v]);
}

static json_t *params_json(const nerve_mapper_params *p, const nerve_lens *lens, const nerve_mapper_graph *g)
{
    json_t *o = json_object();
    if (lens)
        json_object_set_new(o, "lens", json_string(lens->spec));
    if (p) {
        json_object_set_new(o, "cover", json_string(nerve_cover_name(p->cover)));
        json_object_set_new(o, "intervals", json_integer(p->intervals));
        json_object_set_new(o, "overlap", json_real(p->overlap));
        json_object_set_new(o, "cluster", json_string(nerve_cluster_name(p->cluster)));
        json_object_set_new(o, "eps", p->cluster == NERVE_CLUSTER_DBSCAN ? json_real(g->eps) : json_null());
        json_object_set_new(o, "eps_automatic", json_boolean(p->cluster == NERVE_CLUSTER_DBSCAN && p->eps == 0));
        json_object_set_new(o, "min_samples", json_integer(p->min_samples));
        if (p->cluster == NERVE_CLUSTER_LINKAGE)
            json_object_set_new(o, "distance", json_real(p->distance));
        if (p->cluster == NERVE_CLUSTER_LINKAGE_GAP)
            json_object_set_new(o, "gap_bins", json_integer(p->gap_bins));
        json_object_set_new(o, "metric", json_string(nerve_metric_name(p->metric)));
        json_object_set_new(o, "neighbours", json_string(nerve_neighbours_name(g->neighbours_used)));
        json_object_set_new(o, "min_intersection", json_integer(p->min_intersection));
    }
    return o;
}

/* ---- nerve's JSON: columns of node and edge figures --------------------- */

static json_t *nodes_json(const nerve_mapper_graph *g)
{
    int64_t n = g->n_nodes;
    json_t *ids = json_array(), *size = json_array(), *lens = json_array(), *counts = json_array();
    for (int64_t v = 0; v < n; v++) {
        char name[64];
        node_name(name, sizeof name, g, v);
        json_array_append_new(ids, json_string(name));
        json_array_append_new(size, json_integer(g->member_start[v + 1] - g->member_start[v]));
        json_array_append_new(lens, real_range(g->mean_lens + v * g->lens_dims, g->lens_dims));
        if (g->n_classes > 0)
            json_array_append_new(counts, int_range(g->label_counts + v * g->n_classes, g->n_classes));
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", ids);
    json_object_set_new(o, "element", int_range(g->node_element, n));
    json_object_set_new(o, "cluster", int_range(g->node_cluster, n));
    json_object_set_new(o, "size", size);
    json_object_set_new(o, "member_start", int_range(g->member_start, n + 1));
    json_object_set_new(o, "mean_lens", lens);
    json_object_set_new(o, "mean_norm", real_range(g->mean_norm, n));
    json_object_set_new(o, "mean_activation", real_range(g->mean_activation, n));
    json_object_set_new(o, "label_counts", g->n_classes > 0 ? counts : (json_decref(counts), json_null()));
    json_object_set_new(o, "dominant", int_range(g->dominant, n));
    json_object_set_new(o, "purity", real_range(g->purity, n));
    json_object_set_new(o, "misclassified", real_range(g->misclassified, n));
    json_object_set_new(o, "mean_confidence", real_range(g->mean_confidence, n));
    return o;
}

static json_t *edges_json(const nerve_mapper_graph *g)
{
    json_t *src = json_array(), *dst = json_array(), *shared = json_array(), *jac = json_array();
    for (int64_t e = 0; e < g->n_edges; e++) {
        json_array_append_new(src, json_integer(g->edges[e].a));
        json_array_append_new(dst, json_integer(g->edges[e].b));
        json_array_append_new(shared, json_integer(g->edges[e].shared));
        json_array_append_new(jac, json_real(g->edges[e].jaccard));
    }
    return json_pack("{s:o, s:o, s:o, s:o}", "source", src, "target", dst, "shared", shared, "jaccard", jac);
}

static json_t *figures_json(const nerve_mapper_graph *g)
{
    json_t *cycles = json_array();
    for (int64_t c = 0; c < g->n_cycles; c++)
        json_array_append_new(cycles, int_range(g->cycle_nodes + g->cycle_start[c],
                                                g->cycle_start[c + 1] - g->cycle_start[c]));
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "nodes", (json_int_t)g->n_nodes, "edges",
                     (json_int_t)g->n_edges, "components", (json_int_t)g->components, "loops", (json_int_t)g->loops,
                     "branch_points", (json_int_t)g->branch_points, "leaves", (json_int_t)g->leaves, "isolated",
                     (json_int_t)g->isolated, "cover_elements", (json_int_t)g->n_elements, "clustered_elements",
                     (json_int_t)g->clustered, "cycle_basis", cycles);
}

json_t *nerve_mapper_graph_json(const nerve_mapper_graph *g, const nerve_mapper_params *p, const nerve_lens *lens)
{
    return json_pack("{s:s, s:i, s:I, s:o, s:o, s:o, s:o, s:o}", "format", "nerve-mapper", "version", 1, "n_points",
                     (json_int_t)g->n_points, "params", params_json(p, lens, g), "figures", figures_json(g), "nodes",
                     nodes_json(g), "members", int_range(g->members, g->member_start[g->n_nodes]), "edges",
                     edges_json(g));
}

/* ---- NetworkX node_link_data, with TopoAct's node fields ---------------- */

/* Labels present in a node, most frequent first, and their percentages. */
static void top_classes(json_t **classes, json_t **percents, const nerve_mapper_graph *g, int64_t v)
{
    *classes = json_array();
    *percents = json_array();
    const int64_t *count = g->label_counts + v * g->n_classes;
    int64_t size = g->member_start[v + 1] - g->member_start[v], last = INT64_MAX, last_label = -1;
    for (int64_t taken = 0; taken < g->n_classes; taken++) {
        int64_t best = -1;
        for (int64_t c = 0; c < g->n_classes; c++) {
            int after_last = count[c] < last || (count[c] == last && c > last_label);
            if (count[c] > 0 && after_last && (best < 0 || count[c] > count[best]))
                best = c;
        }
        if (best < 0)
            break;
        json_array_append_new(*classes, json_integer(best));
        json_array_append_new(*percents, json_real(100.0 * (double)count[best] / (double)size));
        last = count[best];
        last_label = best;
    }
}

static json_t *node_link_json(const nerve_mapper_graph *g)
{
    json_t *nodes = json_array(), *links = json_array();
    for (int64_t v = 0; v < g->n_nodes; v++) {
        char name[64];
        node_name(name, sizeof name, g, v);
        json_t *classes, *percents;
        top_classes(&classes, &percents, g, v);
        json_array_append_new(nodes, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:I}", "id", name, "membership",
                                               members_of(g, v), "top_classes", classes, "top_class_percents",
                                               percents, "l2NormAvg", real_or_null(g->mean_norm[v]),
                                               "average_activation", real_or_null(g->mean_activation[v]), "size",
                                               (json_int_t)(g->member_start[v + 1] - g->member_start[v])));
    }
    for (int64_t e = 0; e < g->n_edges; e++) {
        char a[64], b[64];
        node_name(a, sizeof a, g, g->edges[e].a);
        node_name(b, sizeof b, g, g->edges[e].b);
        json_array_append_new(links, json_pack("{s:s, s:s, s:I, s:f}", "source", a, "target", b, "intersection",
                                               (json_int_t)g->edges[e].shared, "jaccard", g->edges[e].jaccard));
    }
    return json_pack("{s:b, s:b, s:{}, s:o, s:o}", "directed", 0, "multigraph", 0, "graph", "nodes", nodes, "links",
                     links);
}

/* ---- KeplerMapper's graph dict ------------------------------------------ */

static json_t *kmapper_json(const nerve_mapper_graph *g, const nerve_mapper_params *p)
{
    json_t *nodes = json_object(), *links = json_object(), *simplices = json_array();
    for (int64_t v = 0; v < g->n_nodes; v++) {
        char name[64];
        node_name(name, sizeof name, g, v);
        json_object_set_new(nodes, name, members_of(g, v));
        json_array_append_new(simplices, json_pack("[s]", name));
    }
    for (int64_t e = 0; e < g->n_edges; e++) {
        char a[64], b[64];
        node_name(a, sizeof a, g, g->edges[e].a);
        node_name(b, sizeof b, g, g->edges[e].b);
        json_t *list = json_object_get(links, a);
        if (!list)
            json_object_set_new(links, a, list = json_array());
        json_array_append_new(list, json_string(b));
        json_array_append_new(simplices, json_pack("[s, s]", a, b));
    }
    json_t *meta = json_object();
    if (p) {
        json_object_set_new(meta, "n_cubes", json_integer(p->intervals));
        json_object_set_new(meta, "perc_overlap", json_real(p->overlap));
        json_object_set_new(meta, "nerve_min_intersection", json_integer(p->min_intersection));
        json_object_set_new(meta, "clusterer", json_string(nerve_cluster_name(p->cluster)));
    }
    return json_pack("{s:o, s:o, s:o, s:o}", "nodes", nodes, "links", links, "simplices", simplices, "meta_data", meta);
}

/* ---- GraphML ------------------------------------------------------------ */

static void graphml_write(FILE *f, const nerve_mapper_graph *g)
{
    fprintf(f, "<?xml version='1.0' encoding='utf-8'?>\n"
               "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
               "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
               "xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns "
               "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n"
               "  <key id=\"size\" for=\"node\" attr.name=\"size\" attr.type=\"long\"/>\n"
               "  <key id=\"dominant\" for=\"node\" attr.name=\"dominant\" attr.type=\"long\"/>\n"
               "  <key id=\"purity\" for=\"node\" attr.name=\"purity\" attr.type=\"double\"/>\n"
               "  <key id=\"lens\" for=\"node\" attr.name=\"mean_lens\" attr.type=\"double\"/>\n"
               "  <key id=\"norm\" for=\"node\" attr.name=\"mean_norm\" attr.type=\"double\"/>\n"
               "  <key id=\"members\" for=\"node\" attr.name=\"members\" attr.type=\"string\"/>\n"
               "  <key id=\"shared\" for=\"edge\" attr.name=\"shared\" attr.type=\"long\"/>\n"
               "  <key id=\"jaccard\" for=\"edge\" attr.name=\"jaccard\" attr.type=\"double\"/>\n"
               "  <graph edgedefault=\"undirected\">\n");
    for (int64_t v = 0; v < g->n_nodes; v++) {
        char name[64];
        node_name(name, sizeof name, g, v);
        fprintf(f, "    <node id=\"%s\">\n      <data key=\"size\">%lld</data>\n", name,
                (long long)(g->member_start[v + 1] - g->member_start[v]));
        if (g->dominant[v] >= 0)
            fprintf(f, "      <data key=\"dominant\">%lld</data>\n      <data key=\"purity\">%.17g</data>\n",
                    (long long)g->dominant[v], g->purity[v]);
        fprintf(f, "      <data key=\"lens\">%.17g</data>\n      <data key=\"norm\">%.17g</data>\n"
                   "      <data key=\"members\">",
                g->mean_lens[v * g->lens_dims], g->mean_norm[v]);
        for (int64_t e = g->member_start[v]; e < g->member_start[v + 1]; e++)
            fprintf(f, e > g->member_start[v] ? " %lld" : "%lld", (long long)g->members[e]);
        fprintf(f, "</data>\n    </node>\n");
    }
    for (int64_t e = 0; e < g->n_edges; e++) {
        char a[64], b[64];
        node_name(a, sizeof a, g, g->edges[e].a);
        node_name(b, sizeof b, g, g->edges[e].b);
        fprintf(f, "    <edge source=\"%s\" target=\"%s\">\n      <data key=\"shared\">%lld</data>\n"
                   "      <data key=\"jaccard\">%.17g</data>\n    </edge>\n",
                a, b, (long long)g->edges[e].shared, g->edges[e].jaccard);
    }
    fprintf(f, "  </graph>\n</graphml>\n");
}

int nerve_mapper_write(const char *path, nerve_graph_format f, const nerve_mapper_graph *g,
                       const nerve_mapper_params *p, const nerve_lens *lens)
{
    if (f != NERVE_GRAPH_GRAPHML) {
        json_t *root = f == NERVE_GRAPH_NODE_LINK ? node_link_json(g)
                     : f == NERVE_GRAPH_KMAPPER   ? kmapper_json(g, p)
                                                  : nerve_mapper_graph_json(g, p, lens);
        int rc = nerve_json_write(path, root, JSON_COMPACT | JSON_REAL_PRECISION(17));
        json_decref(root);
        return rc;
    }
    nerve_outfile out;
    int rc = nerve_outfile_open(&out, path);
    if (rc < 0)
        return rc;
    graphml_write(out.f, g);   /* a failed fprintf leaves ferror set, which commit checks */
    return nerve_outfile_commit(&out);
}
