/*
 * grad_ops.c — the operators' backward passes: given a node's inputs, its
 * outputs and the gradient of its first output, the gradients of the
 * inputs that need one. Each is checked against finite differences in
 * tests/nn/test_grad.c.
 *
 * Sums over a batch (weight and bias gradients) run per fixed chunk of
 * images, and the chunks' partial sums are added in chunk order, so the
 * gradients do not depend on the thread count.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "grad_internal.h"

/* ---- pointwise ---------------------------------------------------------- */

static int grad_pointwise(const grad_args *a)
{
    if (!want(a, 0))
        return 0;
    int rc = alloc_like_raw(&a->din[0], a->in[0]);
    if (rc < 0)
        return rc;
    const float *x = a->in[0]->data, *y = a->out[0].data, *dy = a->dout->data;
    float *dx = a->din[0].data;
    int64_t n = nerve_array_count(a->in[0]);
    const char *op = a->c->node->op;
    float alpha = attr_float(a->c->node, "alpha", 0.01f);
    int kind = strcmp(op, "Relu") == 0 ? 0 : strcmp(op, "LeakyRelu") == 0 ? 1 : strcmp(op, "Sigmoid") == 0 ? 2
             : strcmp(op, "Tanh") == 0 ? 3 : 4;   /* 4: Identity, Dropout in inference */
    #pragma omp parallel if (n > 65536)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t lo = n * t / nt, hi = n * (t + 1) / nt;   /* one loop per kind, so each vectorises */
        if (kind == 0)
            for (int64_t i = lo; i < hi; i++)
                dx[i] = x[i] > 0 ? dy[i] : 0;
        else if (kind == 1)
            for (int64_t i = lo; i < hi; i++)
                dx[i] = x[i] > 0 ? dy[i] : alpha * dy[i];
        else if (kind == 2)
            for (int64_t i = lo; i < hi; i++)
                dx[i] = dy[i] * y[i] * (1 - y[i]);
        else if (kind == 3)
            for (int64_t i = lo; i < hi; i++)
                dx[i] = dy[i] * (1 - y[i] * y[i]);
        else
            memcpy(dx + lo, dy + lo, (size_t)(hi - lo) * sizeof *dx);
    }
    return 0;
}

/* The pointwise operators of issue 19's models, d y / d x from x and y. */
static float unary_slope(const char *op, float x, float y, float alpha, float beta)
{
    if (strcmp(op, "HardSigmoid") == 0)
        return alpha * x + beta > 0 && alpha * x + beta < 1 ? alpha : 0;
    if (strcmp(op, "HardSwish") == 0)
        return x < -3 ? 0 : x > 3 ? 1 : (2 * x + 3) / 6;
    if (strcmp(op, "Erf") == 0)
        return 1.1283791670955126f * expf(-x * x);   /* 2 / sqrt(pi) */
    if (strcmp(op, "Sqrt") == 0)
        return 0.5f / y;
    if (strcmp(op, "Exp") == 0)
        return y;
    if (strcmp(op, "Log") == 0)
        return 1 / x;
    if (strcmp(op, "Neg") == 0)
        return -1;
    if (strcmp(op, "Abs") == 0)
        return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f;
    if (strcmp(op, "Reciprocal") == 0)
        return -y * y;
    if (strcmp(op, "Softplus") == 0)
        return 1 / (1 + expf(-x));
    return x > 0 ? 1 : y + alpha;   /* Elu */
}

static int grad_unary(const grad_args *a)
{
    if (!want(a, 0))
        return 0;
    int rc = alloc_like_raw(&a->din[0], a->in[0]);
    if (rc < 0)
        return rc;
    const float *x = a->in[0]->data, *y = a->out[0].data, *dy = a->dout->data;
    float *dx = a->din[0].data;
    const char *op = a->c->node->op;
    int hard = strcmp(op, "HardSigmoid") == 0;
    float alpha = attr_float(a->c->node, "alpha", hard ? 0.2f : 1.0f), beta = attr_float(a->c->node, "beta", 0.5f);
    int64_t n = nerve_array_count(a->in[0]);
    for (int64_t i = 0; i < n; i++)
        dx[i] = dy[i] * unary_slope(op, x[i], y[i], alpha, beta);
    return 0;
}

/* ---- broadcasting binary ops -------------------------------------------- */

/* Adds factor * dy (times other, if given) into d, the gradient of an
 * operand broadcast to dy's shape: summed over the broadcast axes. */
static void reduce_broadcast(float *d, const nerve_array *operand, const nerve_array *dy, const nerve_array *other,
                             float factor)
{
    int ndim = dy->ndim;
    int64_t so[NERVE_MAX_DIMS], sx[NERVE_MAX_DIMS], idx[NERVE_MAX_DIMS] = { 0 };
    nn_broadcast_strides(operand, ndim, dy->shape, so);
    if (other)
        nn_broadcast_strides(other, ndim, dy->shape, sx);
    int64_t n = nerve_array_count(dy), at = 0, ot = 0;
    const float *g = dy->data, *o = other ? other->data : NULL;
    for (int64_t e = 0; e < n; e++) {
        d[at] += factor * g[e] * (o ? o[ot] : 1.0f);
        for (int k = ndim - 1; k >= 0; k--) {   /* next index, odometer style */
            at += so[k];
            ot += other ? sx[k] : 0;
            if (++idx[k] < dy->shape[k])
                break;
            at -= so[k] * dy->shape[k];
            ot -= other ? sx[k] * dy->shape[k] : 0;
            idx[k] = 0;
        }
    }
}

static int grad_binary(const grad_args *a)
{
    const char *op = a->c->node->op;
    int mul = strcmp(op, "Mul") == 0, sub = strcmp(op, "Sub") == 0;
    for (int i = 0; i < 2; i++) {
        if (!want(a, i))
            continue;
        int rc = alloc_like(&a->din[i], a->in[i]);
        if (rc < 0)
            return rc;
        reduce_broadcast(a->din[i].data, a->in[i], a->dout, mul ? a->in[1 - i] : NULL, sub && i == 1 ? -1.0f : 1.0f);
    }
    return 0;
}

/* ---- shape ops ---------------------------------------------------------- */

static int grad_reshape(const grad_args *a)
{
    if (!want(a, 0))
        return 0;
    int rc = alloc_like(&a->din[0], a->in[0]);
    if (rc == 0)
        memcpy(a->din[0].data, a->dout->data, (size_t)nerve_array_count(a->in[0]) * sizeof(float));
    return rc;
}

static int grad_concat(const grad_args *a)
{
    int ndim = a->dout->ndim, axis;
    int rc = nn_axis(a->c, attr_int(a->c->node, "axis", 0), ndim, &axis);
    if (rc < 0)
        return rc;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= a->dout->shape[d];
    for (int d = axis + 1; d < ndim; d++)
        inner *= a->dout->shape[d];
    int64_t total = a->dout->shape[axis], offset = 0;
    const float *g = a->dout->data;
    for (int i = 0; i < a->n_in; i++) {
        int64_t len = a->in[i]->shape[axis];
        if (want(a, i)) {
            if ((rc = alloc_like(&a->din[i], a->in[i])) < 0)
                return rc;
            float *d = a->din[i].data;
            for (int64_t o = 0; o < outer; o++)
                memcpy(d + o * len * inner, g + (o * total + offset) * inner, (size_t)(len * inner) * sizeof *d);
        }
        offset += len;
    }
    return 0;
}

/* ---- Gemm and MatMul ---------------------------------------------------- */

static int grad_gemm(const grad_args *a)
{
    const nerve_array *A = a->in[0], *B = a->in[1], *dY = a->dout;
    int ta = (int)attr_int(a->c->node, "transA", 0), tb = (int)attr_int(a->c->node, "transB", 0);
    float alpha = attr_float(a->c->node, "alpha", 1), beta = attr_float(a->c->node, "beta", 1);
    int64_t m = dY->shape[0], n = dY->shape[1], k = ta ? A->shape[0] : A->shape[1];
    int rc;
    if (want(a, 0)) {   /* dA = alpha dY op(B)^T, or its transpose when transA */
        if ((rc = alloc_like(&a->din[0], A)) < 0)
            return rc;
        if (!ta)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasNoTrans : CblasTrans, (int)m, (int)k, (int)n, alpha,
                        dY->data, (int)n, B->data, (int)B->shape[1], 0, a->din[0].data, (int)k);
        else
            cblas_sgemm(CblasRowMajor, tb ? CblasTrans : CblasNoTrans, CblasTrans, (int)k, (int)m, (int)n, alpha,
                        B->data, (int)B->shape[1], dY->data, (int)n, 0, a->din[0].data, (int)m);
    }
    if (want(a, 1)) {   /* dB = alpha op(A)^T dY, or its transpose when transB */
        if ((rc = alloc_like(&a->din[1], B)) < 0)
            return rc;
        if (!tb)
            cblas_sgemm(CblasRowMajor, ta ? CblasNoTrans : CblasTrans, CblasNoTrans, (int)k, (int)n, (int)m, alpha,
                        A->data, (int)A->shape[1], dY->data, (int)n, 0, a->din[1].data, (int)n);
        else
            cblas_sgemm(CblasRowMajor, CblasTrans, ta ? CblasTrans : CblasNoTrans, (int)n, (int)k, (int)m, alpha,
                        dY->data, (int)n, A->data, (int)A->shape[1], 0, a->din[1].data, (int)k);
    }
    if (want(a, 2)) {
        if ((rc = alloc_like(&a->din[2], a->in[2])) < 0)
            return rc;
        reduce_broadcast(a->din[2].data, a->in[2], dY, NULL, beta);
    }
    return 0;
}

/* MatMul of A (..., M, K) by a matrix B (K, N): A's leading axes are rows,
 * one GEMM each way; any other shapes go batch by batch. */
static int grad_matmul(const grad_args *a)
{
    const nerve_array *A = a->in[0], *B = a->in[1];
    if (B->ndim != 2 || A->ndim < 2)
        return nn_grad_matmul_batched(a);
    int64_t k = B->shape[0], n = B->shape[1], m = nerve_array_count(A) / k;
    int rc;
    if (want(a, 0)) {
        if ((rc = alloc_like(&a->din[0], A)) < 0)
            return rc;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)n, 1, a->dout->data, (int)n,
                    B->data, (int)n, 0, a->din[0].data, (int)k);
    }
    if (want(a, 1)) {
        if ((rc = alloc_like(&a->din[1], B)) < 0)
            return rc;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)n, (int)m, 1, A->data, (int)k,
                    a->dout->data, (int)n, 0, a->din[1].data, (int)n);
    }
    return 0;
}

/* ---- convolution -------------------------------------------------------- */

enum { CHUNK = 8 };   /* images per partial weight-gradient sum */

/* The output columns [lo, hi) whose input column ow * s - pb + j * d is
 * inside [0, W). */
static void valid_columns(int64_t *lo, int64_t *hi, int64_t j, const nn_geometry *g)
{
    int64_t off = j * g->d[2] - g->pb[2], s = g->s[2], W = g->in[2], OW = g->out[2];
    int64_t first = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t last = W - 1 - off < 0 ? -1 : (W - 1 - off) / s;   /* largest ow with iw <= W - 1 */
    *lo = first < OW ? first : OW;
    *hi = last + 1 < OW ? last + 1 : OW;
    if (*hi < *lo)
        *hi = *lo;
}

/* The transpose of nn_im2col over a whole image (cols: C kh kw x OH OW):
 * adds cols back into the image's channels [c0, c0 + cn). */
static void col2im_2d(float *dx, const float *cols, int64_t c0, int64_t cn, const nn_geometry *g)
{
    int64_t H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2], KH = g->k[1], KW = g->k[2], s = g->s[2];
    for (int64_t c = 0; c < cn; c++)
        for (int64_t i = 0; i < KH; i++)
            for (int64_t j = 0; j < KW; j++) {
                const float *row = cols + ((c * KH + i) * KW + j) * OH * OW;
                int64_t lo, hi, off = j * g->d[2] - g->pb[2];
                valid_columns(&lo, &hi, j, g);
                for (int64_t oh = 0; oh < OH; oh++) {
                    int64_t ih = oh * g->s[1] - g->pb[1] + i * g->d[1];
                    if (ih < 0 || ih >= H)
                        continue;
                    float *dst = dx + ((c0 + c) * H + ih) * W + off;
                    const float *src = row + oh * OW;
                    for (int64_t ow = lo; ow < hi; ow++)
                        dst[ow * s] += src[ow];
                }
            }
}

static int grad_conv(const grad_args *a)
{
    const nerve_array *x = a->in[0], *w = a->in[1];
    if (x->ndim != 4)
        return node_error(a->c, NERVE_EUNSUPPORTED, "gradients of Conv are 2-D only");
    int64_t groups = attr_int(a->c->node, "group", 1), M = w->shape[0];
    nn_geometry g;
    int rc = nn_window(a->c, x, w->shape + 2, 0, &g);
    if (rc < 0)
        return rc;
    int64_t C = g.channels, Cg = C / groups, Mg = M / groups, P = g.out[1] * g.out[2];
    int64_t Kc = Cg * g.k[1] * g.k[2], N = g.batch, chunks = (N + CHUNK - 1) / CHUNK;
    int64_t ivol = C * g.in[1] * g.in[2], wcount = nerve_array_count(w);
    int need_x = want(a, 0), need_w = want(a, 1), need_b = want(a, 2);
    if ((need_x && (rc = alloc_like(&a->din[0], x)) < 0) || (need_w && (rc = alloc_like(&a->din[1], w)) < 0) ||
        (need_b && (rc = alloc_like(&a->din[2], a->in[2])) < 0))
        return rc;
    float *partial = need_w ? calloc((size_t)(chunks * wcount), sizeof *partial) : NULL;
    if (need_w && !partial)
        return nerve_error_set(NERVE_ENOMEM, "out of memory for a convolution's gradient");
    const float *dy = a->dout->data, *xd = x->data, *wd = w->data;
    int failed = 0;
    #pragma omp parallel reduction(|:failed)
    {
        float *cols = malloc((size_t)(Kc * P) * sizeof *cols);
        failed = !cols;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t ch = 0; ch < chunks; ch++) {
            if (failed)
                continue;
            for (int64_t n = ch * CHUNK; n < N && n < (ch + 1) * CHUNK; n++)
                for (int64_t gi = 0; gi < groups; gi++) {
                    const float *dyg = dy + (n * M + gi * Mg) * P;
                    if (need_w) {
                        nn_im2col(cols, P, xd + n * ivol, gi * Cg, Cg, 0, P, &g);
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Mg, (int)Kc, (int)P, 1, dyg, (int)P,
                                    cols, (int)P, 1, partial + ch * wcount + gi * Mg * Kc, (int)Kc);
                    }
                    if (need_x) {
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Kc, (int)P, (int)Mg, 1,
                                    wd + gi * Mg * Kc, (int)Kc, dyg, (int)P, 0, cols, (int)P);
                        col2im_2d((float *)a->din[0].data + n * ivol, cols, gi * Cg, Cg, &g);
                    }
                }
        }
        free(cols);
    }
    for (int64_t ch = 0; need_w && ch < chunks; ch++)
        for (int64_t i = 0; i < wcount; i++)
            ((float *)a->din[1].data)[i] += partial[ch * wcount + i];
    free(partial);
    if (need_b) {
        #pragma omp parallel for schedule(static)
        for (int64_t m = 0; m < M; m++) {
            double s = 0;
            for (int64_t n = 0; n < N; n++)
                for (int64_t p = 0; p < P; p++)
                    s += dy[(n * M + m) * P + p];
            ((float *)a->din[2].data)[m] = (float)s;
        }
    }
    return failed ? nerve_error_set(NERVE_ENOMEM, "out of memory for a convolution's gradient") : 0;
}

/* ---- pooling ------------------------------------------------------------ */

static int grad_pool(const grad_args *a)
{
    if (!want(a, 0))
        return 0;
    const nerve_array *x = a->in[0];
    const char *op = a->c->node->op;
    int global = strncmp(op, "Global", 6) == 0, is_max = strstr(op, "Max") != NULL;
    int rc = alloc_like(&a->din[0], x);
    if (rc < 0)
        return rc;
    int64_t NC = x->shape[0] * x->shape[1], H = x->ndim > 2 ? x->shape[2] : 1, W = x->ndim > 3 ? x->shape[3] : 1;
    const float *xd = x->data, *dy = a->dout->data;
    float *dx = a->din[0].data;
    if (global) {
        for (int64_t p = 0; p < NC; p++)
            for (int64_t i = 0; i < H * W; i++)
                dx[p * H * W + i] = is_max ? 0 : dy[p] / (float)(H * W);
        if (is_max)
            for (int64_t p = 0; p < NC; p++) {
                int64_t best = 0;
                for (int64_t i = 1; i < H * W; i++)
                    best = xd[p * H * W + i] > xd[p * H * W + best] ? i : best;
                dx[p * H * W + best] = dy[p];
            }
        return 0;
    }
    if (x->ndim != 4)
        return node_error(a->c, NERVE_EUNSUPPORTED, "gradients of pooling are 2-D only");
    int64_t nk;
    const int64_t *ks = attr_ints(a->c->node, "kernel_shape", &nk);
    nn_geometry g;
    if (!ks || (rc = nn_window(a->c, x, ks, (int)attr_int(a->c->node, "ceil_mode", 0), &g)) < 0)
        return rc < 0 ? rc : node_error(a->c, NERVE_EINPUT, "needs kernel_shape");
    int count_pad = (int)attr_int(a->c->node, "count_include_pad", 0);
    int64_t OH = g.out[1], OW = g.out[2];
    if (is_max && g.k[1] == 2 && g.k[2] == 2 && g.s[1] == 2 && g.s[2] == 2 && g.d[1] == 1 && g.d[2] == 1 &&
        g.pb[1] == 0 && g.pb[2] == 0 && 2 * OH <= H && 2 * OW <= W) {
        /* The common 2 x 2 window, stride 2, no padding: no bounds to check. */
        #pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < NC; p++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    int64_t at = (p * H + 2 * oh) * W + 2 * ow, best = at;
                    int64_t cand[3] = { at + 1, at + W, at + W + 1 };
                    for (int q = 0; q < 3; q++)
                        best = xd[cand[q]] > xd[best] ? cand[q] : best;
                    dx[best] += dy[(p * OH + oh) * OW + ow];
                }
        return 0;
    }
    #pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < NC; p++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                float gval = dy[(p * OH + oh) * OW + ow];
                int64_t best = -1, inside = 0;
                for (int64_t i = 0; i < g.k[1]; i++)
                    for (int64_t j = 0; j < g.k[2]; j++) {
                        int64_t ih = oh * g.s[1] - g.pb[1] + i * g.d[1], iw = ow * g.s[2] - g.pb[2] + j * g.d[2];
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                            continue;
                        int64_t at = (p * H + ih) * W + iw;
                        inside++;
                        if (best < 0 || xd[at] > xd[best])
                            best = at;
                    }
                if (is_max) {
                    if (best >= 0)
                        dx[best] += gval;
                    continue;
                }
                float share = gval / (float)(count_pad ? g.k[1] * g.k[2] : inside);
                for (int64_t i = 0; i < g.k[1]; i++)
                    for (int64_t j = 0; j < g.k[2]; j++) {
                        int64_t ih = oh * g.s[1] - g.pb[1] + i * g.d[1], iw = ow * g.s[2] - g.pb[2] + j * g.d[2];
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                            dx[(p * H + ih) * W + iw] += share;
                    }
            }
    return 0;
}

/* ---- normalisation ------------------------------------------------------ */

/* BatchNormalization: with the batch's statistics when training (saved by
 * the forward pass as mean and 1/std per channel), else the running ones. */
static int grad_batch_norm(const grad_args *a)
{
    const nerve_array *x = a->in[0];
    int64_t N = x->shape[0], C = x->shape[1], inner = nerve_array_count(x) / (N * C);
    const float *scale = a->in[1]->data, *xd = x->data, *dy = a->dout->data;
    float eps = attr_float(a->c->node, "epsilon", 1e-5f);
    const float *saved = a->saved && a->saved->data ? a->saved->data : NULL;   /* mean[C], invstd[C] */
    int rc;
    for (int i = 0; i < 3; i++)   /* every element is written */
        if (want(a, i) && (rc = alloc_like_raw(&a->din[i], a->in[i])) < 0)
            return rc;
    #pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < C; ch++) {
        float mean = saved ? saved[ch] : ((const float *)a->in[3]->data)[ch];
        float invstd = saved ? saved[C + ch] : (float)(1 / sqrt(((const float *)a->in[4]->data)[ch] + eps));
        double sum_dy = 0, sum_dy_x = 0;
        for (int64_t n = 0; n < N; n++) {
            const float *xr = xd + (n * C + ch) * inner, *gr = dy + (n * C + ch) * inner;
            float s1 = 0, s2 = 0;
            for (int64_t i = 0; i < inner; i++) {
                s1 += gr[i];
                s2 += gr[i] * xr[i];
            }
            sum_dy += s1;
            sum_dy_x += s2;
        }
        double sum_dy_xhat = (sum_dy_x - mean * sum_dy) * invstd;
        if (want(a, 1))
            ((float *)a->din[1].data)[ch] = (float)sum_dy_xhat;
        if (want(a, 2))
            ((float *)a->din[2].data)[ch] = (float)sum_dy;
        if (!want(a, 0))
            continue;
        double count = (double)(N * inner);
        float k = scale[ch] * invstd, mdy = saved ? (float)(sum_dy / count) : 0;
        float mxh = saved ? (float)(sum_dy_xhat / count) : 0;
        for (int64_t n = 0; n < N; n++) {
            const float *xr = xd + (n * C + ch) * inner, *gr = dy + (n * C + ch) * inner;
            float *dr = (float *)a->din[0].data + (n * C + ch) * inner;
            for (int64_t i = 0; i < inner; i++)
                dr[i] = k * (gr[i] - mdy - (xr[i] - mean) * invstd * mxh);
        }
    }
    return 0;
}

static int grad_lrn(const grad_args *a)
{
    if (!want(a, 0))
        return 0;
    const nerve_array *x = a->in[0];
    int64_t size = attr_int(a->c->node, "size", 1);
    double alpha = attr_float(a->c->node, "alpha", 1e-4f), beta = attr_float(a->c->node, "beta", 0.75f);
    double bias = attr_float(a->c->node, "bias", 1.0f);
    int64_t N = x->shape[0], C = x->shape[1], inner = nerve_array_count(x) / (N * C);
    int64_t before = (size - 1) / 2, after = size - 1 - before;
    int rc = alloc_like(&a->din[0], x);
    double *s = malloc((size_t)C * sizeof *s);
    if (rc < 0 || !s) {
        free(s);
        return rc < 0 ? rc : nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    const float *xd = x->data, *dy = a->dout->data;
    float *dx = a->din[0].data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < inner; i++) {
            for (int64_t ch = 0; ch < C; ch++) {   /* s_c = bias + alpha / size * sum of squares in c's window */
                double sq = 0;
                for (int64_t k = ch - before < 0 ? 0 : ch - before; k <= ch + after && k < C; k++)
                    sq += (double)xd[(n * C + k) * inner + i] * xd[(n * C + k) * inner + i];
                s[ch] = bias + alpha / (double)size * sq;
            }
            for (int64_t ch = 0; ch < C; ch++) {
                int64_t at = (n * C + ch) * inner + i;
                /* channels j whose window holds ch: j in [ch - after, ch + before] */
                double cross = 0;
                for (int64_t j = ch - after < 0 ? 0 : ch - after; j <= ch + before && j < C; j++) {
                    int64_t aj = (n * C + j) * inner + i;
                    cross += dy[aj] * xd[aj] * pow(s[j], -beta - 1);
                }
                dx[at] = (float)(dy[at] * pow(s[ch], -beta) - 2 * alpha * beta / (double)size * xd[at] * cross);
            }
        }
    free(s);
    return 0;
}

static int grad_softmax(const grad_args *a)
{
    if (!want(a, 0))
        return 0;
    const nerve_array *y = &a->out[0];
    int legacy = a->c->opset < 13, axis, rc;
    int64_t ax = attr_int(a->c->node, "axis", legacy ? 1 : -1);
    if ((rc = nn_axis(a->c, ax, y->ndim, &axis)) < 0 || (rc = alloc_like(&a->din[0], y)) < 0)
        return rc;
    int log_softmax = strcmp(a->c->node->op, "LogSoftmax") == 0;
    int64_t outer = 1, len = 1, inner = 1;
    for (int d = 0; d < y->ndim; d++) {
        if (d < axis)
            outer *= y->shape[d];
        else if (legacy || d == axis)
            len *= y->shape[d];
        else
            inner *= y->shape[d];
    }
    const float *yd = y->data, *dy = a->dout->data;
    float *dx = a->din[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * len * inner + i;
            double dot = 0;
            for (int64_t k = 0; k < len; k++)
                dot += log_softmax ? dy[base + k * inner] : (double)dy[base + k * inner] * yd[base + k * inner];
            for (int64_t k = 0; k < len; k++) {
                int64_t at = base + k * inner;
                dx[at] = log_softmax ? (float)(dy[at] - exp(yd[at]) * dot) : (float)(yd[at] * (dy[at] - dot));
            }
        }
    return 0;
}

/* Dropout in training: the forward pass saved the kept mask scaled by
 * 1 / (1 - ratio). */
static int grad_dropout(const grad_args *a)
{
    if (!a->saved || !a->saved->data)
        return grad_pointwise(a);
    if (!want(a, 0))
        return 0;
    int rc = alloc_like(&a->din[0], a->in[0]);
    if (rc < 0)
        return rc;
    const float *mask = a->saved->data, *dy = a->dout->data;
    float *dx = a->din[0].data;
    for (int64_t i = 0; i < nerve_array_count(a->in[0]); i++)
        dx[i] = dy[i] * mask[i];
    return 0;
}

static const struct {
    const char *op;
    grad_fn     fn;
} GRADS[] = {
    { "Relu", grad_pointwise },         { "LeakyRelu", grad_pointwise },  { "Sigmoid", grad_pointwise },
    { "Tanh", grad_pointwise },         { "Identity", grad_pointwise },   { "Dropout", grad_dropout },
    { "Add", grad_binary },             { "Sub", grad_binary },           { "Mul", grad_binary },
    { "Flatten", grad_reshape },        { "Reshape", grad_reshape },      { "Squeeze", grad_reshape },
    { "Unsqueeze", grad_reshape },      { "Concat", grad_concat },        { "Gemm", grad_gemm },
    { "MatMul", grad_matmul },          { "Conv", grad_conv },            { "MaxPool", grad_pool },
    { "AveragePool", grad_pool },       { "GlobalAveragePool", grad_pool }, { "GlobalMaxPool", grad_pool },
    { "BatchNormalization", grad_batch_norm }, { "LRN", grad_lrn },       { "Softmax", grad_softmax },
    { "LogSoftmax", grad_softmax },
    { "HardSigmoid", grad_unary },      { "HardSwish", grad_unary },      { "Erf", grad_unary },
    { "Sqrt", grad_unary },             { "Exp", grad_unary },            { "Log", grad_unary },
    { "Neg", grad_unary },              { "Abs", grad_unary },            { "Reciprocal", grad_unary },
    { "Softplus", grad_unary },         { "Elu", grad_unary },
    { "Transpose", nn_grad_by_index },  { "Gather", nn_grad_by_index },   { "Slice", nn_grad_by_index },
    { "Split", nn_grad_by_index },      { "Expand", nn_grad_by_index },   { "Tile", nn_grad_by_index },
    { "Pad", nn_grad_by_index },
    { "Div", nn_grad_div },             { "Pow", nn_grad_pow },           { "Where", nn_grad_where },
    { "Cast", nn_grad_cast },           { "Clip", nn_grad_clip },         { "ReduceSum", nn_grad_reduce },
    { "ReduceMean", nn_grad_reduce },   { "ReduceL2", nn_grad_reduce },   { "Einsum", nn_grad_einsum },
    { "LayerNormalization", nn_grad_layer_norm },
};

grad_fn nn_grad_find(const char *op)
{
    for (size_t i = 0; i < sizeof GRADS / sizeof GRADS[0]; i++)
        if (strcmp(GRADS[i].op, op) == 0)
            return GRADS[i].fn;
    return NULL;
}
