/*
 * graph.c — findings in a Mapper graph: nodes that bridge two class
 * regions (TopoAct's "mixed" nodes), loops of the cycle basis and flares
 * (branches ending in a leaf) with the classes on them, and the classes
 * that hold a connected component of their own.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/findings.h"
#include "nerve/internal/alloc.h"

/* The two largest classes of node v: *a the larger (smaller label on a
 * tie), *b the other (-1 if none); *total the node's labelled members. */
static void top_two(const nerve_mapper_graph *g, int64_t v, int64_t *a, int64_t *b, int64_t *total)
{
    const int64_t *row = g->label_counts + v * g->n_classes;
    *a = *b = -1;
    *total = 0;
    for (int64_t c = 0; c < g->n_classes; c++) {
        *total += row[c];
        if (row[c] == 0)
            continue;
        if (*a < 0 || row[c] > row[*a]) {
            *b = *a;
            *a = c;
        } else if (*b < 0 || row[c] > row[*b]) {
            *b = c;
        }
    }
}

/* Whether v's neighbours are dominated by at least two classes. */
static int mixed_neighbours(const nerve_mapper_graph *g, int64_t v)
{
    int64_t first = -1;
    for (int64_t e = 0; e < g->n_edges; e++) {
        int64_t u = g->edges[e].a == v ? g->edges[e].b : g->edges[e].b == v ? g->edges[e].a : -1;
        if (u < 0 || g->dominant[u] < 0)
            continue;
        if (first < 0)
            first = g->dominant[u];
        else if (g->dominant[u] != first)
            return 1;
    }
    return 0;
}

static int compare_bridges(const void *x, const void *y)
{
    const nerve_findings_bridge *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    return (a->node > b->node) - (a->node < b->node);
}

int nerve_findings_bridges(nerve_findings_bridge **out, int64_t *count, const nerve_mapper_graph *g,
                           int64_t min_size, double max_purity)
{
    *out = NULL;
    *count = 0;
    if (!g->label_counts || g->n_classes < 2 || g->n_nodes == 0)
        return 0;
    nerve_findings_bridge *b = nerve_alloc_array((size_t)g->n_nodes, sizeof *b, "bridge nodes");
    if (!b)
        return NERVE_ENOMEM;
    for (int64_t v = 0; v < g->n_nodes; v++) {
        int64_t first, second, total, size = g->member_start[v + 1] - g->member_start[v];
        top_two(g, v, &first, &second, &total);
        if (size < min_size || second < 0 || total == 0 || g->purity[v] >= max_purity)
            continue;
        double share = (double)g->label_counts[v * g->n_classes + second] / (double)total;
        if (!mixed_neighbours(g, v) && share < 0.25)
            continue;
        b[(*count)++] = (nerve_findings_bridge){ .node = v, .a = first, .b = second, .score = share };
    }
    qsort(b, (size_t)*count, sizeof *b, compare_bridges);
    *out = b;
    return 0;
}

void nerve_findings_shapes_free(nerve_findings_shape *s, int64_t count)
{
    for (int64_t i = 0; s && i < count; i++)
        free(s[i].nodes);
    free(s);
}

/* Fills a shape's classes from its nodes' label counts. */
static void shape_classes(nerve_findings_shape *s, const nerve_mapper_graph *g)
{
    s->dominant = -1;
    s->purity = NAN;
    s->members = 0;
    int64_t best = 0, labelled = 0;
    for (int64_t i = 0; i < s->n_nodes; i++)
        s->members += g->member_start[s->nodes[i] + 1] - g->member_start[s->nodes[i]];
    for (int64_t c = 0; g->label_counts && c < g->n_classes; c++) {
        int64_t sum = 0;
        for (int64_t i = 0; i < s->n_nodes; i++)
            sum += g->label_counts[s->nodes[i] * g->n_classes + c];
        labelled += sum;
        if (sum > best) {
            best = sum;
            s->dominant = c;
        }
    }
    if (labelled > 0)
        s->purity = (double)best / (double)labelled;
}

static int push_shape(nerve_vec *v, const nerve_mapper_graph *g, int loop, const int64_t *nodes, int64_t n)
{
    nerve_findings_shape s = { .loop = loop, .n_nodes = n };
    if (!(s.nodes = nerve_alloc_array((size_t)n, sizeof *s.nodes, "a loop or flare")))
        return NERVE_ENOMEM;
    memcpy(s.nodes, nodes, (size_t)n * sizeof *nodes);
    shape_classes(&s, g);
    if (nerve_vec_append(v, &s, 1) < 0) {
        free(s.nodes);
        return NERVE_ENOMEM;
    }
    return 0;
}

/* The flare from leaf v: the path through nodes of degree 2 until a node
 * of degree 3 or more (which is not on it), into path; its length, or 0
 * when the path ends elsewhere (a component that is only a path). */
static int64_t flare_from(int64_t *path, int64_t v, const int64_t *degree, const int64_t *adj_start,
                          const int64_t *adj)
{
    int64_t len = 0, prev = -1;
    while (degree[v] <= 2) {
        path[len++] = v;
        int64_t next = -1;
        for (int64_t e = adj_start[v]; e < adj_start[v + 1]; e++)
            if (adj[e] != prev)
                next = adj[e];
        if (next < 0)
            return 0;
        prev = v;
        v = next;
    }
    return len;
}

/* Adjacency lists of g (both directions), degree and offsets. */
static int adjacency(const nerve_mapper_graph *g, int64_t **degree, int64_t **start, int64_t **adj)
{
    *degree = nerve_zalloc_array((size_t)g->n_nodes, sizeof **degree, "node degrees");
    *start = nerve_zalloc_array((size_t)g->n_nodes + 1, sizeof **start, "adjacency");
    *adj = nerve_alloc_array((size_t)(2 * g->n_edges), sizeof **adj, "adjacency");
    if (!*degree || !*start || !*adj)
        return NERVE_ENOMEM;
    for (int64_t e = 0; e < g->n_edges; e++) {
        (*degree)[g->edges[e].a]++;
        (*degree)[g->edges[e].b]++;
    }
    for (int64_t v = 0; v < g->n_nodes; v++)
        (*start)[v + 1] = (*start)[v] + (*degree)[v];
    int64_t *fill = nerve_alloc_array((size_t)g->n_nodes + 1, sizeof *fill, "adjacency");
    if (!fill)
        return NERVE_ENOMEM;
    memcpy(fill, *start, (size_t)g->n_nodes * sizeof *fill);
    for (int64_t e = 0; e < g->n_edges; e++) {
        (*adj)[fill[g->edges[e].a]++] = g->edges[e].b;
        (*adj)[fill[g->edges[e].b]++] = g->edges[e].a;
    }
    free(fill);
    return 0;
}

int nerve_findings_shapes(nerve_findings_shape **out, int64_t *count, const nerve_mapper_graph *g,
                          int64_t min_nodes)
{
    *out = NULL;
    *count = 0;
    nerve_vec v;
    nerve_vec_init(&v, sizeof(nerve_findings_shape), "loops and flares");
    int64_t *degree = NULL, *start = NULL, *adj = NULL;
    int64_t *path = nerve_alloc_array((size_t)g->n_nodes + 1, sizeof *path, "a flare");
    int rc = path ? adjacency(g, &degree, &start, &adj) : NERVE_ENOMEM;
    for (int64_t c = 0; rc == 0 && c < g->n_cycles; c++) {
        int64_t len = g->cycle_start[c + 1] - g->cycle_start[c];
        if (len >= min_nodes)
            rc = push_shape(&v, g, 1, g->cycle_nodes + g->cycle_start[c], len);
    }
    for (int64_t leaf = 0; rc == 0 && leaf < g->n_nodes; leaf++) {
        if (degree[leaf] != 1)
            continue;
        int64_t len = flare_from(path, leaf, degree, start, adj);
        if (len >= min_nodes)
            rc = push_shape(&v, g, 0, path, len);
    }
    free(degree);
    free(start);
    free(adj);
    free(path);
    size_t n = 0;
    nerve_findings_shape *s = nerve_vec_detach(&v, &n);
    if (rc < 0) {
        nerve_findings_shapes_free(s, (int64_t)n);
        return rc;
    }
    *out = s;
    *count = (int64_t)n;
    return 0;
}

/* The root of v (with path halving). */
static int64_t find(int64_t *parent, int64_t v)
{
    while (parent[v] != v)
        v = parent[v] = parent[parent[v]];
    return v;
}

int nerve_findings_pure_classes(int *pure, const nerve_mapper_graph *g, const int64_t *labels, double min_share,
                                double purity)
{
    int64_t n = g->n_points, k = g->n_classes, nv = g->n_nodes;
    memset(pure, 0, (size_t)k * sizeof *pure);
    int64_t *parent = nerve_alloc_array((size_t)nv + 1, sizeof *parent, "components");
    int64_t *of = nerve_alloc_array((size_t)n + 1, sizeof *of, "components");
    int64_t *counts = nerve_zalloc_array((size_t)((nv + 1) * k), sizeof *counts, "component classes");
    int64_t *total = nerve_zalloc_array((size_t)k + 1, sizeof *total, "class sizes");
    int rc = parent && of && counts && total ? 0 : NERVE_ENOMEM;
    if (rc == 0) {
        for (int64_t v = 0; v < nv; v++)
            parent[v] = v;
        for (int64_t e = 0; e < g->n_edges; e++)
            parent[find(parent, g->edges[e].a)] = find(parent, g->edges[e].b);
        for (int64_t i = 0; i < n; i++)
            of[i] = -1;
        for (int64_t v = 0; v < nv; v++)   /* overlapping nodes share an edge, so one component a point */
            for (int64_t m = g->member_start[v]; m < g->member_start[v + 1]; m++)
                of[g->members[m]] = find(parent, v);
        for (int64_t i = 0; i < n; i++) {
            total[labels[i]]++;
            if (of[i] >= 0)
                counts[of[i] * k + labels[i]]++;
        }
        for (int64_t r = 0; r < nv; r++) {
            int64_t size = 0;
            for (int64_t c = 0; c < k; c++)
                size += counts[r * k + c];
            for (int64_t c = 0; c < k && size > 0; c++)
                if (counts[r * k + c] >= purity * (double)size && counts[r * k + c] >= min_share * (double)total[c])
                    pure[c] = 1;
        }
    }
    free(parent);
    free(of);
    free(counts);
    free(total);
    return rc;
}
