/*
 * grad_math.c — backward steps of the operators transformers add to the
 * classic convnet's: LayerNormalization, Div, Pow, Where, Cast, Clip, the
 * Reduce* that average or sum (and ReduceL2), Einsum, and MatMul of two
 * computed operands with batch axes that broadcast (attention's products). Each is
 * checked against finite differences in tests/nn/test_grad.c.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "grad_internal.h"

/* Allocates the gradients of the wanted inputs among the first n. */
static int alloc_wanted(const grad_args *a, int n)
{
    for (int i = 0; i < n; i++)
        if (want(a, i)) {
            int rc = alloc_like(&a->din[i], a->in[i]);
            if (rc < 0)
                return rc;
        }
    return 0;
}

static float *grad_of(const grad_args *a, int i)
{
    return want(a, i) ? a->din[i].data : NULL;
}

static double value_at(const nerve_array *t, int64_t i)
{
    return t->dtype == NERVE_F32 ? ((const float *)t->data)[i] : (double)((const int64_t *)t->data)[i];
}

/* ---- broadcasting arithmetic -------------------------------------------- */

/* Div: d/da = 1 / b, d/db = -a / b^2 = -y / b. */
int nn_grad_div(const grad_args *a)
{
    nn_walk w;
    int rc = nn_walk_init(a->c, &w, a->in, 2);
    if (rc < 0 || (rc = alloc_wanted(a, 2)) < 0)
        return rc;
    const float *b = a->in[1]->data, *y = a->out[0].data, *g = a->dout->data;
    float *da = grad_of(a, 0), *db = grad_of(a, 1);
    for (int64_t k = 0; k < nerve_array_count(a->dout); k++, nn_walk_next(&w)) {
        float inv = 1 / b[w.off[1]];
        if (da)
            da[w.off[0]] += g[k] * inv;
        if (db)
            db[w.off[1]] -= g[k] * y[k] * inv;
    }
    return 0;
}

/* Pow: d/dx = e x^(e-1), d/de = y ln x (where x > 0). */
int nn_grad_pow(const grad_args *a)
{
    nn_walk w;
    int rc = nn_walk_init(a->c, &w, a->in, 2);
    if (rc < 0 || (rc = alloc_wanted(a, 2)) < 0)
        return rc;
    const float *x = a->in[0]->data, *y = a->out[0].data, *g = a->dout->data;
    float *dx = grad_of(a, 0), *de = grad_of(a, 1);
    for (int64_t k = 0; k < nerve_array_count(a->dout); k++, nn_walk_next(&w)) {
        float e = (float)value_at(a->in[1], w.off[1]), v = x[w.off[0]];
        if (dx)
            dx[w.off[0]] += g[k] * (e == 2 ? 2 * v : e == 1 ? 1 : e * powf(v, e - 1));
        if (de && v > 0)
            de[w.off[1]] += g[k] * y[k] * logf(v);
    }
    return 0;
}

/* Where(condition, X, Y): the gradient goes to X where the condition
 * holds, else to Y. */
int nn_grad_where(const grad_args *a)
{
    nn_walk w;
    int rc = nn_walk_init(a->c, &w, a->in, 3);
    if (rc < 0 || (rc = alloc_wanted(a, 3)) < 0)
        return rc;
    const int64_t *cond = a->in[0]->data;
    const float *g = a->dout->data;
    float *dx = grad_of(a, 1), *dy = grad_of(a, 2);
    for (int64_t k = 0; k < nerve_array_count(a->dout); k++, nn_walk_next(&w)) {
        if (cond[w.off[0]] && dx)
            dx[w.off[1]] += g[k];
        else if (!cond[w.off[0]] && dy)
            dy[w.off[2]] += g[k];
    }
    return 0;
}

/* Cast from float to float passes the gradient; an integer input has none. */
int nn_grad_cast(const grad_args *a)
{
    if (!want(a, 0) || a->in[0]->dtype != NERVE_F32)
        return 0;
    int rc = alloc_like(&a->din[0], a->in[0]);
    if (rc == 0)
        memcpy(a->din[0].data, a->dout->data, (size_t)nerve_array_count(a->dout) * sizeof(float));
    return rc;
}

/* Clip passes the gradient where x is strictly inside [min, max]. */
int nn_grad_clip(const grad_args *a)
{
    if (!want(a, 0))
        return 0;
    float lo = attr_float(a->c->node, "min", -INFINITY), hi = attr_float(a->c->node, "max", INFINITY);
    if (a->c->opset >= 11) {
        lo = a->n_in > 1 && a->in[1] ? (float)value_at(a->in[1], 0) : -INFINITY;
        hi = a->n_in > 2 && a->in[2] ? (float)value_at(a->in[2], 0) : INFINITY;
    }
    int rc = alloc_like(&a->din[0], a->in[0]);
    if (rc < 0)
        return rc;
    const float *x = a->in[0]->data, *g = a->dout->data;
    float *dx = a->din[0].data;
    for (int64_t k = 0; k < nerve_array_count(a->in[0]); k++)
        dx[k] = x[k] > lo && x[k] < hi ? g[k] : 0;
    return 0;
}

/* ---- reductions --------------------------------------------------------- */

/* ReduceSum, ReduceMean, ReduceL2: each input element gets its reduced
 * element's gradient, times 1 (sum), 1 / count (mean) or x / y (L2). */
int nn_grad_reduce(const grad_args *a)
{
    if (!want(a, 0))
        return 0;
    const nerve_array *x = a->in[0];
    int flag[NERVE_MAX_DIMS] = { 0 }, none;
    int rc = nn_reduced_axes(a->c, a->in, a->n_in, x->ndim, flag, &none);
    if (rc < 0 || (rc = alloc_like(&a->din[0], x)) < 0)
        return rc;
    const char *op = a->c->node->op;
    int mean = strcmp(op, "ReduceMean") == 0, l2 = strcmp(op, "ReduceL2") == 0;
    nerve_array kept = *a->dout;   /* a view of dy (and y) with the reduced axes kept as 1s */
    int64_t count = 1;
    kept.ndim = x->ndim;
    for (int d = 0; d < x->ndim; d++) {
        kept.shape[d] = none || !flag[d] ? x->shape[d] : 1;
        count *= none || !flag[d] ? 1 : x->shape[d];
    }
    const nerve_array *pair[2] = { x, &kept };
    nn_walk w;
    if ((rc = nn_walk_init(a->c, &w, pair, 2)) < 0)
        return rc;
    const float *xd = x->data, *g = a->dout->data, *y = a->out[0].data;
    float *dx = a->din[0].data, scale = mean ? 1.0f / (float)count : 1.0f;
    for (int64_t k = 0; k < nerve_array_count(x); k++, nn_walk_next(&w)) {
        float slope = l2 ? (y[w.off[1]] > 0 ? xd[k] / y[w.off[1]] : 0) : scale;
        dx[k] = g[w.off[1]] * slope;
    }
    return 0;
}

/* ---- LayerNormalization ------------------------------------------------- */

/* Over each row of the trailing axes: with x^ = (x - mean) / std and
 * g = dy * scale, dx = (g - mean(g) - x^ mean(g x^)) / std; dScale and dB
 * sum dy x^ and dy over the rows. */
int nn_grad_layer_norm(const grad_args *a)
{
    const nerve_array *x = a->in[0];
    int axis, rc = nn_axis(a->c, attr_int(a->c->node, "axis", -1), x->ndim, &axis);
    if (rc < 0 || (rc = alloc_wanted(a, 3)) < 0)
        return rc;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < x->ndim; d++)
        *(d < axis ? &outer : &inner) *= x->shape[d];
    double eps = attr_float(a->c->node, "epsilon", 1e-5f);
    const float *xd = x->data, *scale = a->in[1]->data, *dy = a->dout->data;
    float *dx = grad_of(a, 0), *dscale = grad_of(a, 1), *dbias = grad_of(a, 2);
    for (int64_t r = 0; r < outer; r++) {
        const float *xr = xd + r * inner, *gr = dy + r * inner;
        double mean, inv, sg = 0, sgx = 0;
        nn_layer_norm_moments(xr, inner, eps, &mean, &inv);
        for (int64_t i = 0; i < inner; i++) {
            double xh = (xr[i] - mean) * inv, g = (double)gr[i] * scale[i];
            sg += g;
            sgx += g * xh;
            if (dscale)
                dscale[i] += (float)(gr[i] * xh);
            if (dbias)
                dbias[i] += gr[i];
        }
        for (int64_t i = 0; dx && i < inner; i++) {
            double xh = (xr[i] - mean) * inv, g = (double)gr[i] * scale[i];
            dx[r * inner + i] = (float)(inv * (g - sg / (double)inner - xh * sgx / (double)inner));
        }
    }
    return 0;
}

/* ---- MatMul of batches -------------------------------------------------- */

/* A (..., M, K) times B (..., K, N), the batch axes broadcast (numpy's
 * matmul; a 1-D operand is a row or a column): per batch, dA += dY B^T
 * and dB += A^T dY, added into the operand's own batch where it was
 * broadcast. */
int nn_grad_matmul_batched(const grad_args *a)
{
    nerve_array A = *a->in[0], B = *a->in[1];   /* views: only the shapes change */
    if (A.ndim == 1) {
        A.ndim = 2;
        A.shape[1] = A.shape[0];
        A.shape[0] = 1;
    }
    if (B.ndim == 1) {
        B.ndim = 2;
        B.shape[1] = 1;
    }
    int64_t m = A.shape[A.ndim - 2], k = A.shape[A.ndim - 1], n = B.shape[B.ndim - 1];
    nerve_array ba = A, bb = B;   /* batch shapes only */
    ba.ndim -= 2;
    bb.ndim -= 2;
    const nerve_array *pair[2] = { &ba, &bb };
    nn_walk w;
    int rc = nn_walk_init(a->c, &w, pair, 2);
    if (rc < 0 || (rc = alloc_wanted(a, 2)) < 0 || !m || !n || !k)
        return rc;
    int64_t batches = nerve_array_count(a->dout) / (m * n);
    const float *g = a->dout->data, *ad = A.data, *bd = B.data;
    float *dA = grad_of(a, 0), *dB = grad_of(a, 1);
    for (int64_t t = 0; t < batches; t++, nn_walk_next(&w)) {
        const float *gt = g + t * m * n, *at = ad + w.off[0] * m * k, *bt = bd + w.off[1] * k * n;
        if (dA)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)n, 1, gt, (int)n, bt, (int)n,
                        1, dA + w.off[0] * m * k, (int)k);
        if (dB)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)n, (int)m, 1, at, (int)k, gt, (int)n,
                        1, dB + w.off[1] * k * n, (int)n);
    }
    return 0;
}

/* ---- Einsum ------------------------------------------------------------- */

enum { EINSUM_TERMS = 8, EINSUM_CHARS = 256 };

/* An explicit equation ("ab,bc->ac"; no ellipsis), spaces dropped: the
 * operands' terms and the output's, pointing into text. */
typedef struct einsum_terms {
    char  text[EINSUM_CHARS];
    char *term[EINSUM_TERMS], *out;
    int   n;
} einsum_terms;

static int einsum_terms_of(einsum_terms *t, const char *eq)
{
    size_t len = 0;
    for (const char *p = eq; *p; p++)
        if (*p != ' ') {
            if (len + 1 >= sizeof t->text)
                return -1;
            t->text[len++] = *p;
        }
    t->text[len] = '\0';
    char *arrow = strstr(t->text, "->");
    if (!arrow || strstr(t->text, "..."))
        return -1;
    *arrow = '\0';
    t->out = arrow + 2;
    t->n = 0;
    for (char *p = t->text; t->n < EINSUM_TERMS; p++) {
        t->term[t->n++] = p;
        p = strchr(p, ',');
        if (!p)
            return 0;
        *p = '\0';
    }
    return -1;
}

/* Whether operand i's gradient is itself an Einsum: its letters are
 * distinct and each is in the output or another operand. */
static int einsum_invertible(const einsum_terms *t, int i)
{
    for (const char *p = t->term[i]; *p; p++) {
        if (strchr(p + 1, *p))
            return 0;
        int found = strchr(t->out, *p) != NULL;
        for (int j = 0; j < t->n && !found; j++)
            found = j != i && strchr(t->term[j], *p) != NULL;
        if (!found)
            return 0;
    }
    return 1;
}

/* d operand i = Einsum("out,<the other operands>-><operand i>") of dy and
 * the other operands. */
int nn_grad_einsum(const grad_args *a)
{
    einsum_terms t;
    if (einsum_terms_of(&t, attr_string(a->c->node, "equation", "")) < 0 || t.n != a->n_in)
        return node_error(a->c, NERVE_EUNSUPPORTED, "gradients of Einsum need an explicit equation "
                          "('ab,bc->ac') without '...'");
    for (int i = 0; i < a->n_in; i++) {
        if (!want(a, i))
            continue;
        if (!einsum_invertible(&t, i))
            return node_error(a->c, NERVE_EUNSUPPORTED, "no gradient for operand %d of Einsum '%s->%s' "
                              "(a repeated letter, or one summed in that operand alone)", i, t.term[i], t.out);
        char eq[2 * EINSUM_CHARS + 8];
        const nerve_array *in[EINSUM_TERMS];
        int len = snprintf(eq, sizeof eq, "%s", t.out), n_in = 1;
        in[0] = a->dout;
        for (int j = 0; j < a->n_in; j++)
            if (j != i) {
                len += snprintf(eq + len, sizeof eq - (size_t)len, ",%s", t.term[j]);
                in[n_in++] = a->in[j];
            }
        snprintf(eq + len, sizeof eq - (size_t)len, "->%s", t.term[i]);
        nerve_attr equation = { .name = (char *)"equation", .type = NERVE_ATTR_STRING, .s = eq };
        nerve_node node = *a->c->node;
        node.attr = &equation;
        node.n_attr = 1;
        op_context c = *a->c;
        c.node = &node;
        int rc = nn_op(nn_op_find("Einsum"))->run(&c, in, n_in, &a->din[i], 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}
