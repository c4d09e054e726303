/*
 * umap_spectral.c — UMAP's spectral start (umap-learn's spectral.py:
 * spectral_layout and multi_component_layout): each connected component of
 * the fuzzy graph is laid out by the two eigenvectors of its normalised
 * Laplacian L = I - D^-1/2 W D^-1/2 after the trivial one, and the
 * components are placed apart.
 *
 * umap-learn asks ARPACK (eigsh, which="SM", tol 1e-4) for the smallest
 * eigenvalues of L. Here they are the largest of N = D^-1/2 W D^-1/2, found
 * by Lanczos with full reorthogonalisation on N restricted to the
 * complement of the trivial eigenvector sqrt(deg), restarted from its best
 * Ritz vectors until both residuals are within 1e-4 of their values (or
 * MAX_RESTARTS pass: the Ritz vectors are then still a smooth start, which
 * is all the descent needs). The sparse product costs O(edges) a step, so
 * 70,000 points take seconds where a dense eigensolver would take hours.
 *
 * One thread: at 70,000 points the whole takes about a second, and threads
 * meeting at a barrier several times a step cost more than they saved on
 * a busy machine. The start does not depend on the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/alloc.h"
#include "nerve/internal/linalg.h"
#include "embed_internal.h"

enum { MAX_STEPS = 96, MAX_RESTARTS = 6 };
static const double TOLERANCE = 1e-4;

/* One component's normalised adjacency N in CSR over local indices. */
typedef struct component {
    int64_t  n;
    int64_t *start;    /* n + 1 */
    int32_t *col;
    double  *w;        /* w_ij / sqrt(deg_i deg_j) */
    double  *q0;       /* the trivial eigenvector sqrt(deg) / |sqrt(deg)| */
} component;

static void component_free(component *c)
{
    free(c->start);
    free(c->col);
    free(c->w);
    free(c->q0);
}

/* The component of label c; members (its points, increasing) and local
 * (global -> local index) are filled by the caller. */
static int component_build(component *c, const tsne_graph *g, const int64_t *members, int64_t n,
                           const int64_t *local)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    int64_t edges = 0;
    for (int64_t r = 0; r < n; r++)
        edges += g->start[members[r] + 1] - g->start[members[r]];
    c->start = nerve_alloc_array((size_t)n + 1, sizeof *c->start, "UMAP spectral rows");
    c->col = nerve_alloc_array((size_t)edges, sizeof *c->col, "UMAP spectral edges");
    c->w = nerve_alloc_array((size_t)edges, sizeof *c->w, "UMAP spectral weights");
    c->q0 = nerve_alloc_array((size_t)n, sizeof *c->q0, "UMAP spectral degrees");
    if (!c->start || !c->col || !c->w || !c->q0) {
        component_free(c);
        return NERVE_ENOMEM;
    }
    double norm = 0;
    for (int64_t r = 0; r < n; r++) {
        double d = 0;
        for (int64_t e = g->start[members[r]]; e < g->start[members[r] + 1]; e++)
            d += g->p[e];
        c->q0[r] = sqrt(d);   /* > 0: a point of a component of 2 or more has an edge */
        norm += d;
    }
    c->start[0] = 0;
    for (int64_t r = 0; r < n; r++) {
        int64_t at = c->start[r];
        for (int64_t e = g->start[members[r]]; e < g->start[members[r] + 1]; e++) {
            int64_t j = local[g->col[e]];
            c->col[at] = (int32_t)j;
            c->w[at++] = g->p[e] / (c->q0[r] * c->q0[j]);
        }
        c->start[r + 1] = at;
    }
    for (int64_t r = 0; r < n; r++)
        c->q0[r] /= sqrt(norm);
    return 0;
}

static double dot(const double *a, const double *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* out = N v. */
static void multiply(double *out, const component *c, const double *v)
{
    for (int64_t r = 0; r < c->n; r++) {
        double s = 0;
        for (int64_t e = c->start[r]; e < c->start[r + 1]; e++)
            s += c->w[e] * v[c->col[e]];
        out[r] = s;
    }
}

/* w minus its projections on q0 and the rows v[0 .. m): classical
 * Gram-Schmidt, a second pass only when the first removed most of w
 * (Kahan and Parlett's "twice is enough"). */
static void orthogonalise(double *w, const double *q0, const double *v, int64_t m, int64_t n, double *coef)
{
    double before = dot(w, w, n);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && dot(w, w, n) > 0.25 * before)
            break;
        double c0 = dot(w, q0, n);
        for (int64_t r = 0; r < m; r++)
            coef[r] = dot(w, v + r * n, n);
        for (int64_t i = 0; i < n; i++) {
            double s = c0 * q0[i];
            for (int64_t r = 0; r < m; r++)
                s += coef[r] * v[r * n + i];
            w[i] -= s;
        }
    }
}

/* Lanczos on N restricted to the complement of q0: the Ritz vectors of the
 * two largest eigenvalues into x0, x1 (n each). v is (MAX_STEPS + 1) x n
 * scratch; start (n) is the first vector, overwritten. 0, or NERVE_ENOMEM. */
static int lanczos(double *x0, double *x1, const component *c, double *v, double *start)
{
    int64_t n = c->n, m = n - 1 < MAX_STEPS ? n - 1 : MAX_STEPS;
    double *t = nerve_alloc_array((size_t)(m * m), sizeof *t, "UMAP Lanczos matrix");
    double *theta = nerve_alloc_array((size_t)m, sizeof *theta, "UMAP Lanczos values");
    double *alpha = nerve_alloc_array((size_t)m, sizeof *alpha, "UMAP Lanczos values");
    double *beta = nerve_alloc_array((size_t)m, sizeof *beta, "UMAP Lanczos values");
    double *coef = nerve_alloc_array((size_t)m + 1, sizeof *coef, "UMAP Lanczos values");
    int rc = !t || !theta || !alpha || !beta || !coef ? NERVE_ENOMEM : 0;
    for (int restart = 0; rc == 0 && restart <= MAX_RESTARTS; restart++) {
        orthogonalise(start, c->q0, v, 0, n, coef);
        double norm = sqrt(dot(start, start, n));
        for (int64_t i = 0; i < n; i++)
            v[i] = start[i] / norm;
        int64_t steps = m;
        for (int64_t j = 0; j < m; j++) {
            double *w = v + (j + 1) * n;
            multiply(w, c, v + j * n);
            alpha[j] = dot(w, v + j * n, n);
            /* The three-term recurrence first, so that what the full
             * reorthogonalisation removes is only rounding's drift. */
            for (int64_t i = 0; i < n; i++)
                w[i] -= alpha[j] * v[j * n + i] + (j > 0 ? beta[j - 1] * v[(j - 1) * n + i] : 0);
            orthogonalise(w, c->q0, v, j + 1, n, coef);
            beta[j] = sqrt(dot(w, w, n));
            if (beta[j] < 1e-10) {   /* an invariant subspace: its Ritz pairs are exact */
                steps = j + 1;
                beta[j] = 0;
                break;
            }
            for (int64_t i = 0; i < n; i++)
                w[i] /= beta[j];
        }
        memset(t, 0, (size_t)(steps * steps) * sizeof *t);
        for (int64_t j = 0; j < steps; j++) {
            t[j * steps + j] = alpha[j];
            if (j + 1 < steps)
                t[j * steps + j + 1] = t[(j + 1) * steps + j] = beta[j];
        }
        if ((rc = nerve_linalg_eigh(theta, t, steps)) < 0)
            break;
        /* Columns steps - 1 and steps - 2 of t: the two largest. */
        int64_t top = steps - 1, next = steps >= 2 ? steps - 2 : steps - 1;
        double r0 = fabs(beta[steps - 1] * t[(steps - 1) * steps + top]);
        double r1 = fabs(beta[steps - 1] * t[(steps - 1) * steps + next]);
        for (int64_t i = 0; i < n; i++) {
            double a = 0, b = 0;
            for (int64_t j = 0; j < steps; j++) {
                a += t[j * steps + top] * v[j * n + i];
                b += t[j * steps + next] * v[j * n + i];
            }
            x0[i] = a;
            x1[i] = b;
        }
        if ((r0 <= TOLERANCE * fabs(theta[top]) && r1 <= TOLERANCE * fabs(theta[next])) || steps < m)
            break;
        for (int64_t i = 0; i < n; i++)   /* restart from the span of the two */
            start[i] = x0[i] + x1[i];
    }
    free(t);
    free(theta);
    free(alpha);
    free(beta);
    free(coef);
    return rc;
}

/* Where each component goes (umap-learn's multi_component_layout): up to
 * four on the axes (+-e1, +-e2); more by the first two principal
 * components of their centroids in the input space, scaled into [-1, 1].
 * (umap-learn embeds the centroids spectrally with affinity exp(-d^2),
 * which underflows to 0 for activations' distances; PCA keeps what that
 * was after, that near components land near.) */
static int meta_layout(double *meta, const int32_t *label, int64_t count, const nerve_mat *x)
{
    if (count <= 4) {
        static const double axes[4][2] = { { 1, 0 }, { 0, 1 }, { -1, 0 }, { 0, -1 } };
        int64_t half = (count + 1) / 2;
        for (int64_t c = 0; c < count; c++) {
            /* vstack([eye(k), -eye(k)])[:count] with k = ceil(count / 2) */
            int64_t axis = c < half ? c : c - half;
            meta[2 * c] = (c < half ? 1 : -1) * axes[axis][0];
            meta[2 * c + 1] = (c < half ? 1 : -1) * axes[axis][1];
        }
        return 0;
    }
    nerve_mat centre = { 0 };
    int rc = nerve_mat_alloc(&centre, count, x->cols);
    int64_t *size = nerve_zalloc_array((size_t)count, sizeof *size, "UMAP components");
    if (rc < 0 || !size) {
        nerve_mat_free(&centre);
        free(size);
        return NERVE_ENOMEM;
    }
    double *sum = nerve_zalloc_array((size_t)(count * x->cols), sizeof *sum, "UMAP component centroids");
    if (!sum)
        rc = NERVE_ENOMEM;
    for (int64_t i = 0; rc == 0 && i < x->rows; i++) {
        size[label[i]]++;
        for (int64_t d = 0; d < x->cols; d++)
            sum[label[i] * x->cols + d] += x->data[i * x->cols + d];
    }
    for (int64_t e = 0; rc == 0 && e < count * x->cols; e++)
        centre.data[e] = (float)(sum[e] / (double)size[e / x->cols]);
    free(sum);
    free(size);
    nerve_pca p = { 0 };
    if (rc == 0)
        rc = nerve_pca_fit(&p, &centre, x->cols >= 2 ? 2 : 1);
    double top = 0;
    for (int64_t c = 0; rc == 0 && c < count; c++) {
        meta[2 * c] = p.scores.data[c * p.k];
        meta[2 * c + 1] = p.k > 1 ? p.scores.data[c * p.k + 1] : 0;
        top = fmax(top, fmax(fabs(meta[2 * c]), fabs(meta[2 * c + 1])));
    }
    double closest = INFINITY;
    for (int64_t c = 0; rc == 0 && c < count; c++)
        for (int64_t e = c + 1; e < count; e++)
            closest = fmin(closest, hypot(meta[2 * c] - meta[2 * e], meta[2 * c + 1] - meta[2 * e + 1]));
    /* Centroids that coincide (on these two components): a circle. */
    for (int64_t c = 0; rc == 0 && c < count; c++) {
        int circle = !(top > 0) || closest < 1e-6 * top;
        double angle = 2 * 3.14159265358979323846 * (double)c / (double)count;
        meta[2 * c] = circle ? cos(angle) : meta[2 * c] / top;
        meta[2 * c + 1] = circle ? sin(angle) : meta[2 * c + 1] / top;
    }
    nerve_pca_free(&p);
    nerve_mat_free(&centre);
    return rc;
}

int umap_spectral(double *y, const tsne_graph *g, const int32_t *label, int64_t count, const nerve_mat *x,
                  uint64_t seed)
{
    int64_t n = g->n;
    double *meta = nerve_zalloc_array((size_t)(2 * count), sizeof *meta, "UMAP component places");
    int64_t *members = nerve_alloc_array((size_t)n, sizeof *members, "UMAP component members");
    int64_t *local = nerve_alloc_array((size_t)n, sizeof *local, "UMAP component members");
    int64_t *first = nerve_zalloc_array((size_t)count + 1, sizeof *first, "UMAP components");
    int64_t largest = 0;
    if (!meta || !members || !local || !first) {
        free(meta);
        free(members);
        free(local);
        free(first);
        return NERVE_ENOMEM;
    }
    /* members grouped by component, increasing within each. */
    for (int64_t i = 0; i < n; i++)
        first[label[i] + 1]++;
    for (int64_t c = 0; c < count; c++) {
        largest = first[c + 1] > largest ? first[c + 1] : largest;
        first[c + 1] += first[c];
    }
    /* local[i]: i's place in its component; members: the points grouped
     * by component. */
    int64_t *fill = nerve_alloc_array((size_t)count, sizeof *fill, "UMAP components");
    int rc = fill ? 0 : NERVE_ENOMEM;
    if (fill) {
        memcpy(fill, first, (size_t)count * sizeof *fill);
        for (int64_t i = 0; i < n; i++) {
            local[i] = fill[label[i]] - first[label[i]];
            members[fill[label[i]]++] = i;
        }
        free(fill);
    }
    if (rc == 0 && count > 1)
        rc = meta_layout(meta, label, count, x);
    int64_t steps = largest - 1 < MAX_STEPS ? largest - 1 : MAX_STEPS;
    double *v = rc == 0 ? nerve_alloc_array((size_t)((steps + 1) * largest), sizeof *v, "UMAP Lanczos vectors") : NULL;
    double *start = nerve_alloc_array((size_t)largest, sizeof *start, "UMAP Lanczos start");
    double *x0 = nerve_alloc_array((size_t)largest, sizeof *x0, "UMAP eigenvectors");
    double *x1 = nerve_alloc_array((size_t)largest, sizeof *x1, "UMAP eigenvectors");
    if (rc == 0 && (!v || !start || !x0 || !x1))
        rc = NERVE_ENOMEM;
    for (int64_t c = 0; rc == 0 && c < count; c++) {
        const int64_t *mem = members + first[c];
        int64_t size = first[c + 1] - first[c];
        /* Half the distance to the nearest other component's place. */
        double range = INFINITY;
        for (int64_t e = 0; e < count; e++) {
            double d = hypot(meta[2 * c] - meta[2 * e], meta[2 * c + 1] - meta[2 * e + 1]);
            if (d > 0)
                range = fmin(range, d / 2);
        }
        nerve_rng r;
        nerve_rng_stream(&r, seed, (uint64_t)c);
        if (size < 4) {   /* umap-learn: fewer than 2 x dim points, at random */
            for (int64_t a = 0; a < size; a++)
                for (int d = 0; d < 2; d++)
                    y[2 * mem[a] + d] = meta[2 * c + d] + (2 * nerve_rng_uniform(&r) - 1) * range;
            continue;
        }
        component comp;
        if ((rc = component_build(&comp, g, mem, size, local)) < 0)
            break;
        for (int64_t a = 0; a < size; a++)
            start[a] = nerve_rng_normal(&r);
        rc = lanczos(x0, x1, &comp, v, start);
        component_free(&comp);
        double top = 0;
        for (int64_t a = 0; a < size; a++)
            top = fmax(top, fmax(fabs(x0[a]), fabs(x1[a])));
        double scale = count == 1 || !(top > 0) ? 1 : range / top;
        for (int64_t a = 0; rc == 0 && a < size; a++) {
            y[2 * mem[a]] = meta[2 * c] + x0[a] * scale;
            y[2 * mem[a] + 1] = meta[2 * c + 1] + x1[a] * scale;
        }
    }
    free(v);
    free(start);
    free(x0);
    free(x1);
    free(meta);
    free(members);
    free(local);
    free(first);
    return rc;
}
