/*
 * barnes_hut.c — t-SNE's repulsive forces by Barnes-Hut (van der Maaten,
 * 2014): a quadtree over the embedding, each cell holding its points'
 * count and centre of mass; a cell whose width seen from a point is below
 * theta acts as one heavy point. Also the sparse affinity lists' upkeep.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed_internal.h"

/* ---- the affinity lists ------------------------------------------------- */

void tsne_graph_free(tsne_graph *g)
{
    free(g->start);
    free(g->col);
    free(g->p);
    memset(g, 0, sizeof *g);
}

void tsne_graph_merge(tsne_graph *g)
{
    int64_t at = 0;
    for (int64_t i = 0; i < g->n; i++) {
        int64_t s = g->start[i], e = g->start[i + 1];
        for (int64_t a = s + 1; a < e; a++) {   /* insertion sort: rows are short */
            int64_t c = g->col[a];
            double v = g->p[a];
            int64_t b = a - 1;
            while (b >= s && g->col[b] > c) {
                g->col[b + 1] = g->col[b];
                g->p[b + 1] = g->p[b];
                b--;
            }
            g->col[b + 1] = c;
            g->p[b + 1] = v;
        }
        g->start[i] = at;
        for (int64_t a = s; a < e; a++) {
            if (a > s && g->col[a] == g->col[a - 1]) {
                g->p[at - 1] += g->p[a];
                continue;
            }
            g->col[at] = g->col[a];
            g->p[at++] = g->p[a];
        }
    }
    g->start[g->n] = at;
}

/* ---- the quadtree ------------------------------------------------------- */

enum { MAX_DEPTH = 48 };

void tsne_tree_free(tsne_tree *t)
{
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

static int64_t new_node(tsne_tree *t, double cx, double cy, double half)
{
    if (t->n_nodes == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 1024;
        tsne_node *nodes = realloc(t->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return -1;
        t->nodes = nodes;
        t->cap = cap;
    }
    t->nodes[t->n_nodes] = (tsne_node){ cx, cy, half, 0, 0, 0, -1, -1 };
    return t->n_nodes++;
}

static int split(tsne_tree *t, int64_t v)
{
    double h = t->nodes[v].half / 2, cx = t->nodes[v].cx, cy = t->nodes[v].cy;
    int64_t first = -1;
    for (int q = 0; q < 4; q++) {
        int64_t c = new_node(t, cx + (q & 1 ? h : -h), cy + (q & 2 ? h : -h), h);
        if (c < 0)
            return -1;
        first = q == 0 ? c : first;
    }
    t->nodes[v].child = first;
    return 0;
}

static int quadrant(const tsne_node *v, double x, double y)
{
    return (x > v->cx) | (y > v->cy) << 1;
}

/* Adds point i at (x, y) below node v. */
static int insert(tsne_tree *t, int64_t v, int64_t i, const double *y)
{
    double px = y[2 * i], py = y[2 * i + 1];
    for (int depth = 0;; depth++) {
        tsne_node *node = &t->nodes[v];
        node->mx = (node->mx * (double)node->count + px) / (double)(node->count + 1);
        node->my = (node->my * (double)node->count + py) / (double)(node->count + 1);
        node->count++;
        if (node->child < 0 && node->point < 0) {   /* an empty leaf */
            node->point = i;
            return 0;
        }
        if (node->child < 0) {
            int64_t other = node->point;
            if (depth >= MAX_DEPTH || (y[2 * other] == px && y[2 * other + 1] == py))
                return 0;   /* coincident points share the leaf */
            if (split(t, v) < 0)
                return -1;
            node = &t->nodes[v];
            /* Move the resident point down one level. */
            int64_t c = node->child + quadrant(node, y[2 * other], y[2 * other + 1]);
            t->nodes[c].point = other;
            t->nodes[c].count = node->count - 1;
            t->nodes[c].mx = y[2 * other];
            t->nodes[c].my = y[2 * other + 1];
            node->point = -1;
        }
        v = node->child + quadrant(node, px, py);
    }
}

static int build(tsne_tree *t, const double *y, int64_t n)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        xmin = fmin(xmin, y[2 * i]);
        xmax = fmax(xmax, y[2 * i]);
        ymin = fmin(ymin, y[2 * i + 1]);
        ymax = fmax(ymax, y[2 * i + 1]);
    }
    double half = fmax(xmax - xmin, ymax - ymin) / 2 * (1 + 1e-9) + 1e-12;
    t->n_nodes = 0;
    if (new_node(t, (xmin + xmax) / 2, (ymin + ymax) / 2, half) < 0)
        return -1;
    for (int64_t i = 0; i < n; i++)
        if (insert(t, 0, i, y) < 0)
            return -1;
    return 0;
}

/* ---- the forces --------------------------------------------------------- */

static void point_forces(double *rep, double *z, const tsne_tree *t, const double *y, int64_t i, double theta2)
{
    int64_t stack[4 * MAX_DEPTH + 8], top = 0;
    double px = y[2 * i], py = y[2 * i + 1], fx = 0, fy = 0, zi = 0;
    stack[top++] = 0;
    while (top > 0) {
        const tsne_node *v = &t->nodes[stack[--top]];
        if (v->count == 0)
            continue;
        double dx = px - v->mx, dy = py - v->my, d2 = dx * dx + dy * dy;
        double width = 2 * v->half;
        if (v->child < 0 || width * width < theta2 * d2) {
            double count = (double)v->count;
            if (v->child < 0 && v->point >= 0 && dx == 0 && dy == 0)
                count -= 1;   /* the point itself (and coincident ones contribute q = 1, no force) */
            if (count <= 0)
                continue;
            double q = 1 / (1 + d2);
            zi += count * q;
            fx += count * q * q * dx;
            fy += count * q * q * dy;
            continue;
        }
        for (int c = 0; c < 4; c++)
            stack[top++] = v->child + c;
    }
    rep[2 * i] = fx;
    rep[2 * i + 1] = fy;
    z[i] = zi;
}

int tsne_repulsive_bh(double *rep, double *z, tsne_tree *tree, const double *y, int64_t n, double theta)
{
    if (build(tree, y, n) < 0)
        return nerve_error_set(NERVE_ENOMEM, "t-SNE: out of memory");
    double theta2 = theta * theta;
    #pragma omp parallel for schedule(dynamic, 256)
    for (int64_t i = 0; i < n; i++)
        point_forces(rep, z, tree, y, i, theta2);
    return 0;
}
