/*
 * barnes_hut.c — t-SNE's repulsive forces by Barnes-Hut (van der Maaten,
 * 2014): a quadtree over the embedding, each cell holding its points'
 * count and centre of mass; a cell whose width seen from a point is below
 * theta acts as one heavy point. Also the sparse affinity lists' upkeep.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/simd.h"
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

/*
 * The points are sorted by their Morton codes (MORTON_BITS bits an axis
 * over the root square), so every cell of the quadtree is a contiguous
 * range of them and its four quadrants are the sub-ranges by the next two
 * bits. A cell of at most LEAF_POINTS points (or at the finest level) is a
 * leaf, whose points a walk takes one by one when the cell is too near to
 * be summarised.
 */
enum { MORTON_BITS = 24, LEAF_POINTS = 16 };

void tsne_tree_free(tsne_tree *t)
{
    free(t->nodes);
    free(t->order);
    free(t->pos);
    free(t->code);
    memset(t, 0, sizeof *t);
}

static int64_t new_node(tsne_tree *t, int64_t first, int64_t count, double width)
{
    if (t->n_nodes == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 1024;
        tsne_node *nodes = realloc(t->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return -1;
        t->nodes = nodes;
        t->cap = cap;
    }
    t->nodes[t->n_nodes] = (tsne_node){ 0, 0, width, first, count, -1, 0 };
    return t->n_nodes++;
}

/* Spreads the low 32 bits of v to the even bits. */
static uint64_t spread_bits(uint64_t v)
{
    v &= 0xffffffffu;
    v = (v | v << 16) & 0x0000ffff0000ffffu;
    v = (v | v << 8) & 0x00ff00ff00ff00ffu;
    v = (v | v << 4) & 0x0f0f0f0f0f0f0f0fu;
    v = (v | v << 2) & 0x3333333333333333u;
    v = (v | v << 1) & 0x5555555555555555u;
    return v;
}

/* t->order, t->code and t->pos: the points sorted by Morton code over the
 * square [x0, x0 + side) x [y0, y0 + side) (ties by index), a stable LSD
 * radix sort, 8 bits a pass. */
static int morton_sort(tsne_tree *t, const double *y, int64_t n, double x0, double y0, double side)
{
    uint64_t *code2 = malloc((size_t)n * sizeof *code2);
    int64_t *order2 = malloc((size_t)n * sizeof *order2);
    if (!code2 || !order2) {
        free(code2);
        free(order2);
        return -1;
    }
    const double cells = (double)(1u << MORTON_BITS), scale = cells / side;
    for (int64_t i = 0; i < n; i++) {
        double fx = (y[2 * i] - x0) * scale, fy = (y[2 * i + 1] - y0) * scale;
        uint64_t qx = fx < cells ? (uint64_t)fx : (1u << MORTON_BITS) - 1;
        uint64_t qy = fy < cells ? (uint64_t)fy : (1u << MORTON_BITS) - 1;
        t->code[i] = spread_bits(qx) | spread_bits(qy) << 1;
        t->order[i] = i;
    }
    for (int shift = 0; shift < 2 * MORTON_BITS; shift += 8) {
        int64_t bucket[257] = { 0 };
        for (int64_t i = 0; i < n; i++)
            bucket[(t->code[i] >> shift & 0xff) + 1]++;
        for (int b = 0; b < 256; b++)
            bucket[b + 1] += bucket[b];
        for (int64_t i = 0; i < n; i++) {
            int64_t at = bucket[t->code[i] >> shift & 0xff]++;
            code2[at] = t->code[i];
            order2[at] = t->order[i];
        }
        memcpy(t->code, code2, (size_t)n * sizeof *code2);
        memcpy(t->order, order2, (size_t)n * sizeof *order2);
    }
    for (int64_t a = 0; a < n; a++) {
        t->pos[2 * a] = y[2 * t->order[a]];
        t->pos[2 * a + 1] = y[2 * t->order[a] + 1];
    }
    free(code2);
    free(order2);
    return 0;
}

/* Splits node v, a cell `level` halvings below the root, into its
 * non-empty quadrants, and those in turn; then its centre of mass. */
static int split(tsne_tree *t, int64_t v, int level)
{
    int64_t lo = t->nodes[v].first, hi = lo + t->nodes[v].count;
    if (hi - lo > LEAF_POINTS && level < MORTON_BITS) {
        int shift = 2 * (MORTON_BITS - 1 - level);
        int64_t bound[5] = { lo }, at = lo;
        for (int q = 0; q < 4; q++) {
            while (at < hi && (int)(t->code[at] >> shift & 3) == q)
                at++;
            bound[q + 1] = at;
        }
        int32_t first = (int32_t)t->n_nodes;
        for (int q = 0; q < 4; q++)
            if (bound[q + 1] > bound[q] && new_node(t, bound[q], bound[q + 1] - bound[q], t->nodes[v].width / 2) < 0)
                return -1;
        t->nodes[v].child = first;
        t->nodes[v].n_child = (int32_t)(t->n_nodes - first);
        double mx = 0, my = 0;
        for (int32_t c = first; c < first + t->nodes[v].n_child; c++) {
            if (split(t, c, level + 1) < 0)
                return -1;
            mx += t->nodes[c].mx * (double)t->nodes[c].count;
            my += t->nodes[c].my * (double)t->nodes[c].count;
        }
        t->nodes[v].mx = mx / (double)(hi - lo);
        t->nodes[v].my = my / (double)(hi - lo);
        return 0;
    }
    double mx = 0, my = 0;
    for (int64_t a = lo; a < hi; a++) {
        mx += t->pos[2 * a];
        my += t->pos[2 * a + 1];
    }
    t->nodes[v].mx = mx / (double)(hi - lo);
    t->nodes[v].my = my / (double)(hi - lo);
    return 0;
}

int tsne_tree_build(tsne_tree *t, const double *y, int64_t n)
{
    if (t->n_order < n) {   /* the arrays are kept from one iteration to the next */
        free(t->order);
        free(t->pos);
        free(t->code);
        t->order = malloc((size_t)n * sizeof *t->order);
        t->pos = malloc((size_t)(2 * n) * sizeof *t->pos);
        t->code = malloc((size_t)n * sizeof *t->code);
        t->n_order = 0;
        if (!t->order || !t->pos || !t->code)
            return -1;
    }
    t->n_order = n;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        xmin = fmin(xmin, y[2 * i]);
        xmax = fmax(xmax, y[2 * i]);
        ymin = fmin(ymin, y[2 * i + 1]);
        ymax = fmax(ymax, y[2 * i + 1]);
    }
    double side = fmax(xmax - xmin, ymax - ymin) * (1 + 1e-9) + 1e-12;
    t->n_nodes = 0;
    if (morton_sort(t, y, n, xmin, ymin, side) < 0 || new_node(t, 0, n, side) < 0)
        return -1;
    return split(t, 0, 0);
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
enum { GROUP = 64 };

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

/* The cells and points that act on every point of the box
 * [x0, x1] x [y0, y1]: a cell far enough from the box for the angle
 * criterion as its centre of mass, a nearer leaf as its points. */
static int walk(interactions *l, const tsne_tree *t, double x0, double x1, double y0, double y1, double theta2)
{
    int64_t stack[4 * MORTON_BITS + 8], top = 0;
    stack[top++] = 0;
    l->n = 0;
    while (top > 0) {
        const tsne_node *v = &t->nodes[stack[--top]];
        /* libm's fmax is a call, not an instruction, without -ffast-math. */
        double dx = v->mx < x0 ? x0 - v->mx : v->mx > x1 ? v->mx - x1 : 0;
        double dy = v->my < y0 ? y0 - v->my : v->my > y1 ? v->my - y1 : 0;
        if (v->width * v->width < theta2 * (dx * dx + dy * dy)) {
            if (interactions_push(l, v->mx, v->my, (double)v->count) < 0)
                return -1;
        } else if (v->child < 0) {
            for (int64_t a = v->first; a < v->first + v->count; a++)
                if (interactions_push(l, t->pos[2 * a], t->pos[2 * a + 1], 1) < 0)
                    return -1;
        } else {
            for (int32_t c = v->child; c < v->child + v->n_child; c++)
                stack[top++] = c;
        }
    }
    return 0;
}

/* Point i's sums over the list. The list holds the point itself, at
 * distance 0, adding q = 1 and no force, which comes off z after the loop:
 * a cell holding a point of the group is within sqrt(2) widths of the box,
 * never summarised for theta < 1/sqrt(2) (0.5 by default; above, a
 * point's z can be off by up to 1). */
NERVE_SIMD_CLONES
static void point_forces(double *rep, double *z, const interactions *l, float px, float py, int64_t i)
{
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

int tsne_repulsive_bh(double *rep, double *z, const tsne_tree *tree, double theta)
{
    const int64_t n = tree->n_order, *order = tree->order;
    const double *pos = tree->pos;
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
                double px = pos[2 * a], py = pos[2 * a + 1];
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
                point_forces(rep, z, &l, (float)pos[2 * a], (float)pos[2 * a + 1], order[a]);
        }
        interactions_free(&l);
    }
    return failed ? nerve_error_set(NERVE_ENOMEM, "t-SNE: out of memory") : 0;
}
