/*
 * graph.c — the nerve and the figures of a Mapper graph: edges from an
 * inverted index (which nodes hold each input), node figures from the
 * members, and graph figures (components, loops with a cycle basis, branch
 * points, leaves).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "mapper_internal.h"

void nerve_mapper_graph_free(nerve_mapper_graph *g)
{
    free(g->member_start);
    free(g->members);
    free(g->node_element);
    free(g->node_cluster);
    free(g->edges);
    free(g->mean_lens);
    free(g->label_counts);
    free(g->dominant);
    free(g->purity);
    free(g->misclassified);
    free(g->mean_confidence);
    free(g->mean_norm);
    free(g->mean_activation);
    free(g->cycle_start);
    free(g->cycle_nodes);
    memset(g, 0, sizeof *g);
}

/* ---- the nerve ---------------------------------------------------------- */

/* point -> the nodes holding it, ascending (CSR). */
typedef struct inverted {
    int64_t *start, *node;
} inverted;

static int invert(inverted *inv, const nerve_mapper_graph *g)
{
    int64_t total = g->member_start[g->n_nodes];
    inv->start = calloc((size_t)g->n_points + 1, sizeof *inv->start);
    inv->node = malloc((size_t)total * sizeof *inv->node + 1);
    int64_t *fill = malloc((size_t)g->n_points * sizeof *fill + 1);
    if (!inv->start || !inv->node || !fill) {
        free(fill);
        return -1;
    }
    for (int64_t e = 0; e < total; e++)
        inv->start[g->members[e] + 1]++;
    for (int64_t i = 0; i < g->n_points; i++)
        inv->start[i + 1] += inv->start[i];
    memcpy(fill, inv->start, (size_t)g->n_points * sizeof *fill);
    for (int64_t v = 0; v < g->n_nodes; v++)
        for (int64_t e = g->member_start[v]; e < g->member_start[v + 1]; e++)
            inv->node[fill[g->members[e]]++] = v;
    free(fill);
    return 0;
}

static int by_node(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* For each node a, counts the inputs it shares with every later node b
 * through the inverted index: the work is the sum over inputs of the
 * squared number of nodes holding them, never all pairs of nodes. */
int mapper_edges(nerve_mapper_graph *g, int64_t min_intersection)
{
    inverted inv = { 0 };
    int64_t *shared = calloc((size_t)g->n_nodes + 1, sizeof *shared);
    int64_t *touched = malloc((size_t)g->n_nodes * sizeof *touched + 1);
    nerve_vec edges;   /* nerve_mapper_edge, handed to g at the end */
    nerve_vec_init(&edges, sizeof(nerve_mapper_edge), "Mapper edges");
    int rc = shared && touched && invert(&inv, g) == 0 ? 0 : -1;
    for (int64_t a = 0; rc == 0 && a < g->n_nodes; a++) {
        int64_t n_touched = 0;
        for (int64_t e = g->member_start[a]; e < g->member_start[a + 1]; e++) {
            int64_t p = g->members[e];
            for (int64_t f = inv.start[p]; f < inv.start[p + 1]; f++) {
                int64_t b = inv.node[f];
                if (b <= a)
                    continue;
                if (shared[b]++ == 0)
                    touched[n_touched++] = b;
            }
        }
        qsort(touched, (size_t)n_touched, sizeof *touched, by_node);
        for (int64_t t = 0; rc == 0 && t < n_touched; t++) {
            int64_t b = touched[t], s = shared[b];
            shared[b] = 0;
            if (s < min_intersection)
                continue;
            int64_t size_a = g->member_start[a + 1] - g->member_start[a];
            int64_t size_b = g->member_start[b + 1] - g->member_start[b];
            const nerve_mapper_edge edge = { a, b, s, (double)s / (double)(size_a + size_b - s) };
            rc = nerve_vec_append(&edges, &edge, 1);
        }
    }
    if (rc == 0) {
        size_t n_edges;
        free(g->edges);
        g->edges = nerve_vec_detach(&edges, &n_edges);
        g->n_edges = (int64_t)n_edges;
    }
    nerve_vec_free(&edges);
    free(inv.start);
    free(inv.node);
    free(shared);
    free(touched);
    return rc < 0 ? nerve_error_set(NERVE_ENOMEM, "mapper: out of memory") : 0;
}

/* ---- node figures ------------------------------------------------------- */

int nerve_mapper_labels_check(int64_t *n_classes, const int64_t *labels, int64_t n, const char *what)
{
    int64_t top = -1;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= NERVE_MAPPER_MAX_CLASSES)
            return nerve_error_set(NERVE_EINPUT, "%s: label %lld of row %lld is not a class from 0 to %d",
                                   what, (long long)labels[i], (long long)i, NERVE_MAPPER_MAX_CLASSES - 1);
        top = labels[i] > top ? labels[i] : top;
    }
    if (n_classes)
        *n_classes = top + 1;
    return 0;
}

/* The class count the node figures are sized by: the caller's, or one more
 * than the largest label; either way checked, since it sizes a table. */
static int class_count(int64_t *out, const nerve_mapper_meta *meta, int64_t n)
{
    int rc = nerve_mapper_labels_check(out, meta->labels, n, "mapper: labels");
    if (rc == 0 && meta->n_classes > 0)
        *out = meta->n_classes;
    if (rc == 0 && *out > NERVE_MAPPER_MAX_CLASSES)
        rc = nerve_error_set(NERVE_EINPUT, "mapper: %lld classes; at most %d", (long long)*out,
                             NERVE_MAPPER_MAX_CLASSES);
    return rc;
}

static void label_figures(nerve_mapper_graph *g, int64_t v, const nerve_mapper_meta *meta)
{
    int64_t *count = g->label_counts + v * g->n_classes, size = g->member_start[v + 1] - g->member_start[v];
    int64_t wrong = 0;
    for (int64_t e = g->member_start[v]; e < g->member_start[v + 1]; e++) {
        int64_t p = g->members[e], l = meta->labels[p];
        if (l >= 0 && l < g->n_classes)
            count[l]++;
        if (meta->predictions)
            wrong += meta->predictions[p] != l;
    }
    int64_t best = 0;
    for (int64_t c = 1; c < g->n_classes; c++)
        best = count[c] > count[best] ? c : best;
    g->dominant[v] = best;
    g->purity[v] = (double)count[best] / (double)size;
    g->misclassified[v] = meta->predictions ? (double)wrong / (double)size : NAN;
}

/* The members' mean L2 norm and mean entry. */
static void vector_figures(nerve_mapper_graph *g, int64_t v, const nerve_mat *x)
{
    double norm = 0, sum = 0;
    int64_t size = g->member_start[v + 1] - g->member_start[v];
    for (int64_t e = g->member_start[v]; e < g->member_start[v + 1]; e++) {
        const float *row = x->data + g->members[e] * x->cols;
        double sq = 0;
        for (int64_t j = 0; j < x->cols; j++) {
            sq += (double)row[j] * row[j];
            sum += row[j];
        }
        norm += sqrt(sq);
    }
    g->mean_norm[v] = norm / (double)size;
    g->mean_activation[v] = sum / ((double)size * (double)x->cols);
}

int mapper_node_figures(nerve_mapper_graph *g, const nerve_mat *x, const nerve_lens *lens,
                        const nerve_mapper_meta *meta)
{
    int64_t n = g->n_nodes, dims = lens->dims;
    int has_labels = meta && meta->labels;
    g->lens_dims = dims;
    g->n_classes = 0;
    int rc = has_labels ? class_count(&g->n_classes, meta, g->n_points) : 0;
    size_t counts;
    if (rc == 0 && nerve_mul_size((size_t)n, (size_t)g->n_classes, &counts) < 0)
        rc = nerve_error_set(NERVE_EINPUT, "mapper: %lld nodes x %lld classes is too many counts", (long long)n,
                             (long long)g->n_classes);
    if (rc < 0) {
        g->n_classes = 0;
        return rc;
    }
    g->mean_lens = calloc((size_t)(n * dims) + 1, sizeof *g->mean_lens);
    g->label_counts = calloc(counts + 1, sizeof *g->label_counts);
    g->dominant = malloc((size_t)n * sizeof *g->dominant + 1);
    g->purity = malloc((size_t)n * sizeof *g->purity + 1);
    g->misclassified = malloc((size_t)n * sizeof *g->misclassified + 1);
    g->mean_confidence = malloc((size_t)n * sizeof *g->mean_confidence + 1);
    g->mean_norm = malloc((size_t)n * sizeof *g->mean_norm + 1);
    g->mean_activation = malloc((size_t)n * sizeof *g->mean_activation + 1);
    if (!g->mean_lens || !g->label_counts || !g->dominant || !g->purity || !g->misclassified || !g->mean_confidence ||
        !g->mean_norm || !g->mean_activation)
        return nerve_error_set(NERVE_ENOMEM, "mapper: out of memory");
    for (int64_t v = 0; v < n; v++) {
        int64_t size = g->member_start[v + 1] - g->member_start[v];
        double conf = 0;
        for (int64_t e = g->member_start[v]; e < g->member_start[v + 1]; e++) {
            int64_t p = g->members[e];
            for (int64_t k = 0; k < dims; k++)
                g->mean_lens[v * dims + k] += lens->values[p * dims + k] / (double)size;
            if (meta && meta->confidence)
                conf += meta->confidence[p];
        }
        g->mean_confidence[v] = meta && meta->confidence ? conf / (double)size : NAN;
        g->dominant[v] = -1;
        g->purity[v] = g->misclassified[v] = NAN;
        if (has_labels)
            label_figures(g, v, meta);
    }
    #pragma omp parallel for schedule(dynamic, 16)
    for (int64_t v = 0; v < n; v++)
        vector_figures(g, v, x);
    return 0;
}

/* ---- graph figures ------------------------------------------------------ */

/* Adjacency lists (CSR) of the undirected graph. */
typedef struct adjacency {
    int64_t *start, *next;
} adjacency;

static int adjacency_build(adjacency *adj, const nerve_mapper_graph *g)
{
    adj->start = calloc((size_t)g->n_nodes + 1, sizeof *adj->start);
    adj->next = malloc((size_t)(2 * g->n_edges) * sizeof *adj->next + 1);
    int64_t *fill = malloc((size_t)g->n_nodes * sizeof *fill + 1);
    if (!adj->start || !adj->next || !fill) {
        free(fill);
        return -1;
    }
    for (int64_t e = 0; e < g->n_edges; e++) {
        adj->start[g->edges[e].a + 1]++;
        adj->start[g->edges[e].b + 1]++;
    }
    for (int64_t v = 0; v < g->n_nodes; v++)
        adj->start[v + 1] += adj->start[v];
    memcpy(fill, adj->start, (size_t)g->n_nodes * sizeof *fill);
    for (int64_t e = 0; e < g->n_edges; e++) {
        adj->next[fill[g->edges[e].a]++] = g->edges[e].b;
        adj->next[fill[g->edges[e].b]++] = g->edges[e].a;
    }
    free(fill);
    return 0;
}

/* A breadth-first spanning forest: parent (-1 at roots), depth, and the
 * component count. */
static int64_t spanning_forest(int64_t *parent, int64_t *depth, const adjacency *adj, int64_t n, int64_t *queue)
{
    int64_t components = 0;
    for (int64_t v = 0; v < n; v++)
        depth[v] = -1;
    for (int64_t root = 0; root < n; root++) {
        if (depth[root] >= 0)
            continue;
        components++;
        int64_t head = 0, tail = 0;
        queue[tail++] = root;
        depth[root] = 0;
        parent[root] = -1;
        while (head < tail) {
            int64_t v = queue[head++];
            for (int64_t e = adj->start[v]; e < adj->start[v + 1]; e++) {
                int64_t w = adj->next[e];
                if (depth[w] < 0) {
                    depth[w] = depth[v] + 1;
                    parent[w] = v;
                    queue[tail++] = w;
                }
            }
        }
    }
    return components;
}

/* The fundamental cycle of a non-tree edge (a, b): a up to the common
 * ancestor, then down to b. Returns its length, written at out. */
static int64_t fundamental_cycle(int64_t *out, int64_t a, int64_t b, const int64_t *parent, const int64_t *depth,
                                 int64_t *scratch)
{
    int64_t na = 0, nb = 0;
    while (depth[a] > depth[b]) {
        out[na++] = a;
        a = parent[a];
    }
    while (depth[b] > depth[a]) {
        scratch[nb++] = b;
        b = parent[b];
    }
    while (a != b) {
        out[na++] = a;
        scratch[nb++] = b;
        a = parent[a];
        b = parent[b];
    }
    out[na++] = a;
    for (int64_t i = nb - 1; i >= 0; i--)
        out[na++] = scratch[i];
    return na;
}

static int cycle_basis(nerve_mapper_graph *g, const int64_t *parent, const int64_t *depth, int64_t *scratch)
{
    int64_t total = 0;
    for (int64_t e = 0; e < g->n_edges; e++) {
        int64_t a = g->edges[e].a, b = g->edges[e].b;
        if (parent[a] != b && parent[b] != a)
            total += depth[a] + depth[b] + 1;
    }
    g->cycle_start = malloc((size_t)(g->loops + 1) * sizeof *g->cycle_start);
    g->cycle_nodes = malloc((size_t)total * sizeof *g->cycle_nodes + 1);
    if (!g->cycle_start || !g->cycle_nodes)
        return -1;
    int64_t c = 0, at = 0;
    for (int64_t e = 0; e < g->n_edges; e++) {
        int64_t a = g->edges[e].a, b = g->edges[e].b;
        if (parent[a] == b || parent[b] == a)
            continue;
        g->cycle_start[c++] = at;
        at += fundamental_cycle(g->cycle_nodes + at, a, b, parent, depth, scratch);
    }
    g->cycle_start[c] = at;
    g->n_cycles = c;
    return 0;
}

int mapper_graph_figures(nerve_mapper_graph *g)
{
    int64_t n = g->n_nodes;
    adjacency adj = { 0 };
    int64_t *parent = malloc((size_t)n * sizeof *parent + 1), *depth = malloc((size_t)n * sizeof *depth + 1);
    int64_t *scratch = malloc((size_t)n * sizeof *scratch + 1);
    int rc = parent && depth && scratch && adjacency_build(&adj, g) == 0 ? 0 : -1;
    if (rc == 0) {
        g->components = spanning_forest(parent, depth, &adj, n, scratch);
        g->loops = g->n_edges - n + g->components;
        g->branch_points = g->leaves = g->isolated = 0;
        for (int64_t v = 0; v < n; v++) {
            int64_t degree = adj.start[v + 1] - adj.start[v];
            g->branch_points += degree >= 3;
            g->leaves += degree == 1;
            g->isolated += degree == 0;
        }
        rc = cycle_basis(g, parent, depth, scratch);
    }
    free(adj.start);
    free(adj.next);
    free(parent);
    free(depth);
    free(scratch);
    return rc < 0 ? nerve_error_set(NERVE_ENOMEM, "mapper: out of memory") : 0;
}
