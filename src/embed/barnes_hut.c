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
    free(t->order);
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
        node->mx += px;   /* sums until build() divides them */
        node->my += py;
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
            t->nodes[c].count = node->count - 1;   /* it, and points coincident with it */
            t->nodes[c].mx = y[2 * other] * (double)t->nodes[c].count;
            t->nodes[c].my = y[2 * other + 1] * (double)t->nodes[c].count;
            node->point = -1;
        }
        v = node->child + quadrant(node, px, py);
    }
}

/* ---- the forces --------------------------------------------------------- */

/*
 * Points are taken in groups of GROUP neighbours along a Morton curve, and
 * the tree is walked once per group: a cell far enough from the group's
 * bounding box for the angle criterion (so from each of its points) goes on
 * the group's interaction list, the others are opened. Each point then
 * sums over that list in one branch-free loop. The criterion is stricter
 * than per point (the box is nearer than the point), so the forces are at
 * least as accurate; the walks are 1/GROUP as many and the sums vectorise.
 * The groups come from the positions alone, so the result does not depend
 * on the thread count.
 */
enum { GROUP = 64, MORTON_BITS = 16 };

/* A group's interaction list: cells as (centre of mass, point count). */
typedef struct interactions {
    float  *x, *y, *count;   /* float: 8 to an AVX2 vector in the sums */
    int64_t n, cap;
} interactions;

static int interactions_push(interactions *l, double x, double y, double count)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 1024;
        float *nx = realloc(l->x, (size_t)cap * sizeof *nx), *ny = nx ? realloc(l->y, (size_t)cap * sizeof *ny) : NULL,
              *nc = ny ? realloc(l->count, (size_t)cap * sizeof *nc) : NULL;
        if (nx)
            l->x = nx;
        if (ny)
            l->y = ny;
        if (!nc)
            return -1;
        l->count = nc;
        l->cap = cap;
    }
    l->x[l->n] = (float)x;
    l->y[l->n] = (float)y;
    l->count[l->n++] = (float)count;
    return 0;
}

static void interactions_free(interactions *l)
{
    free(l->x);
    free(l->y);
    free(l->count);
}

/* Spreads the low 16 bits of v to the even bits. */
static uint32_t spread_bits(uint32_t v)
{
    v &= 0xffff;
    v = (v | v << 8) & 0x00ff00ff;
    v = (v | v << 4) & 0x0f0f0f0f;
    v = (v | v << 2) & 0x33333333;
    v = (v | v << 1) & 0x55555555;
    return v;
}

/* The points in Morton order of their positions (ties by index): a stable
 * LSD radix sort of (code, index) pairs, 8 bits a pass. */
static int morton_order(int64_t *order, const double *y, int64_t n, const tsne_node *root)
{
    uint32_t *code = malloc((size_t)n * sizeof *code), *code2 = malloc((size_t)n * sizeof *code2);
    int64_t *order2 = malloc((size_t)n * sizeof *order2);
    if (!code || !code2 || !order2) {
        free(code);
        free(code2);
        free(order2);
        return -1;
    }
    double lo_x = root->cx - root->half, lo_y = root->cy - root->half, scale = ((1 << MORTON_BITS) - 1) / (2 * root->half);
    for (int64_t i = 0; i < n; i++) {
        uint32_t qx = (uint32_t)((y[2 * i] - lo_x) * scale), qy = (uint32_t)((y[2 * i + 1] - lo_y) * scale);
        code[i] = spread_bits(qx) | spread_bits(qy) << 1;
        order[i] = i;
    }
    for (int shift = 0; shift < 32; shift += 8) {
        int64_t bucket[257] = { 0 };
        for (int64_t i = 0; i < n; i++)
            bucket[(code[i] >> shift & 0xff) + 1]++;
        for (int b = 0; b < 256; b++)
            bucket[b + 1] += bucket[b];
        for (int64_t i = 0; i < n; i++) {
            int64_t at = bucket[code[i] >> shift & 0xff]++;
            code2[at] = code[i];
            order2[at] = order[i];
        }
        memcpy(code, code2, (size_t)n * sizeof *code);
        memcpy(order, order2, (size_t)n * sizeof *order);
    }
    free(code);
    free(code2);
    free(order2);
    return 0;
}

/* The quadtree of the points, inserted in Morton order (tree->order,
 * filled here) so that cells near in the plane are near in memory. */
int tsne_tree_build(tsne_tree *t, const double *y, int64_t n)
{
    if (t->n_order < n) {
        int64_t *order = realloc(t->order, (size_t)n * sizeof *order);
        if (!order)
            return -1;
        t->order = order;
    }
    t->n_order = n;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        xmin = fmin(xmin, y[2 * i]);
        xmax = fmax(xmax, y[2 * i]);
        ymin = fmin(ymin, y[2 * i + 1]);
        ymax = fmax(ymax, y[2 * i + 1]);
    }
    double half = fmax(xmax - xmin, ymax - ymin) / 2 * (1 + 1e-9) + 1e-12;
    t->n_nodes = 0;
    if (new_node(t, (xmin + xmax) / 2, (ymin + ymax) / 2, half) < 0 || morton_order(t->order, y, n, &t->nodes[0]) < 0)
        return -1;
    for (int64_t a = 0; a < n; a++)
        if (insert(t, 0, t->order[a], y) < 0)
            return -1;
    for (int64_t v = 0; v < t->n_nodes; v++)
        if (t->nodes[v].count > 0) {
            t->nodes[v].mx /= (double)t->nodes[v].count;
            t->nodes[v].my /= (double)t->nodes[v].count;
        }
    return 0;
}

/* The cells that act on every point of the box [x0, x1] x [y0, y1]. */
static int walk(interactions *l, const tsne_tree *t, double x0, double x1, double y0, double y1, double theta2)
{
    int64_t stack[4 * MAX_DEPTH + 8], top = 0;
    stack[top++] = 0;
    l->n = 0;
    while (top > 0) {
        const tsne_node *v = &t->nodes[stack[--top]];
        /* libm's fmax is a call, not an instruction, without -ffast-math. */
        double dx = v->mx < x0 ? x0 - v->mx : v->mx > x1 ? v->mx - x1 : 0;
        double dy = v->my < y0 ? y0 - v->my : v->my > y1 ? v->my - y1 : 0;
        double width = 2 * v->half;
        if (v->child < 0 || width * width < theta2 * (dx * dx + dy * dy)) {
            if (interactions_push(l, v->mx, v->my, (double)v->count) < 0)
                return -1;
            continue;
        }
        for (int64_t c = v->child; c < v->child + 4; c++)
            if (t->nodes[c].count > 0)
                stack[top++] = c;
    }
    return 0;
}

/* Point i's sums over the list. The list always holds the leaf with the
 * point itself (every cell around the group's box is opened), at distance
 * 0 when alone or with points coincident with it (they add q = 1 and no
 * force): the point's own q = 1 comes off z after the loop. */
NERVE_SIMD_CLONES
static void point_forces(double *rep, double *z, const interactions *l, const double *y, int64_t i)
{
    const float px = (float)y[2 * i], py = (float)y[2 * i + 1];
    const float *restrict cx = l->x, *restrict cy = l->y, *restrict cc = l->count;
    const int64_t n = l->n;
    float fx = 0, fy = 0, zi = 0;
    #pragma omp simd reduction(+ : fx, fy, zi)
    for (int64_t e = 0; e < n; e++) {
        float dx = px - cx[e], dy = py - cy[e], q = 1 / (1 + dx * dx + dy * dy), cq = cc[e] * q;
        zi += cq;
        fx += cq * q * dx;
        fy += cq * q * dy;
    }
    rep[2 * i] = fx;
    rep[2 * i + 1] = fy;
    z[i] = (double)zi - 1;
}

int tsne_repulsive_bh(double *rep, double *z, const tsne_tree *tree, const double *y, double theta)
{
    const int64_t n = tree->n_order, *order = tree->order;
    double theta2 = theta * theta;
    int failed = 0;
    #pragma omp parallel reduction(| : failed)
    {
        interactions l = { 0 };
        #pragma omp for schedule(dynamic, 4)
        for (int64_t g = 0; g < n; g += GROUP) {
            int64_t end = g + GROUP < n ? g + GROUP : n;
            double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
            for (int64_t a = g; a < end; a++) {
                double px = y[2 * order[a]], py = y[2 * order[a] + 1];
                x0 = px < x0 ? px : x0;
                x1 = px > x1 ? px : x1;
                y0 = py < y0 ? py : y0;
                y1 = py > y1 ? py : y1;
            }
            if (failed || walk(&l, tree, x0, x1, y0, y1, theta2) < 0) {
                failed = 1;
                continue;
            }
            for (int64_t a = g; a < end; a++)
                point_forces(rep, z, &l, y, order[a]);
        }
        interactions_free(&l);
    }
    return failed ? nerve_error_set(NERVE_ENOMEM, "t-SNE: out of memory") : 0;
}
