/*
 * ops_conv.c — convolution by im2col and OpenBLAS sgemm, with groups,
 * strides, dilations and padding, for 1-D to 3-D inputs; and its naive twin.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

/* Unfolds the windows of one image's channels [c0, c0 + cn) into
 * cols: (cn * kd * kh * kw) x (od * oh * ow). */
static void im2col(float *cols, const float *x, int64_t c0, int64_t cn, const nn_geometry *g)
{
    const int64_t D = g->in[0], H = g->in[1], W = g->in[2];
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
    float *col = cols;
    for (int64_t ch = c0; ch < c0 + cn; ch++)
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++)
                    for (int64_t od = 0; od < OD; od++) {
                        int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                        for (int64_t oh = 0; oh < OH; oh++, col += OW) {
                            int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                            if (id < 0 || id >= D || ih < 0 || ih >= H) {
                                memset(col, 0, (size_t)OW * sizeof *col);
                                continue;
                            }
                            const float *row = x + ((ch * D + id) * H + ih) * W;
                            for (int64_t ow = 0; ow < OW; ow++) {
                                int64_t iw = ow * g->s[2] - g->pb[2] + kw * g->d[2];
                                col[ow] = iw >= 0 && iw < W ? row[iw] : 0;
                            }
                        }
                    }
}

static int is_pointwise(const nn_geometry *g)
{
    for (int i = 0; i < 3; i++)
        if (g->k[i] != 1 || g->s[i] != 1 || g->pb[i] != 0 || g->pe[i] != 0)
            return 0;
    return 1;
}

/* y (N, M, out...) = conv(x (N, C, in...), w (M, C/groups, k...)) + b (M). */
static int conv_forward(float *y, const float *x, const float *w, const float *b, const nn_geometry *g,
                        int64_t M, int64_t groups)
{
    int64_t cg = g->channels / groups, mg = M / groups;
    int64_t kvol = g->k[0] * g->k[1] * g->k[2], ivol = g->in[0] * g->in[1] * g->in[2];
    int64_t ovol = g->out[0] * g->out[1] * g->out[2];
    int pointwise = is_pointwise(g);
    float *cols = NULL;
    if (!pointwise) {
        size_t bytes;
        if (nerve_mul_size((size_t)(cg * kvol), (size_t)ovol * sizeof *cols, &bytes) < 0 ||
            !(cols = malloc(bytes ? bytes : 1)))
            return nerve_error_set(NERVE_ENOMEM, "out of memory for a convolution's columns");
    }
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t gi = 0; gi < groups; gi++) {
            const float *xn = x + n * g->channels * ivol;
            const float *a = w + gi * mg * cg * kvol;
            const float *bm = xn + gi * cg * ivol;
            if (!pointwise) {
                im2col(cols, xn, gi * cg, cg, g);
                bm = cols;
            }
            float *yn = y + (n * M + gi * mg) * ovol;
            if (mg > 0 && ovol > 0 && cg * kvol > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)ovol, (int)(cg * kvol),
                            1.0f, a, (int)(cg * kvol), bm, (int)ovol, 0.0f, yn, (int)ovol);
        }
    free(cols);
    for (int64_t n = 0; b && n < g->batch; n++)
        for (int64_t m = 0; m < M; m++) {
            float *yc = y + (n * M + m) * ovol;
            for (int64_t i = 0; i < ovol; i++)
                yc[i] += b[m];
        }
    return 0;
}

/* The direct definition, for tests: one output element at a time. */
void nn_conv_naive(float *y, const float *x, const float *w, const float *b, const nn_geometry *g,
                   int64_t M, int64_t groups)
{
    int64_t cg = g->channels / groups, mg = M / groups;
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t od = 0; od < g->out[0]; od++)
                for (int64_t oh = 0; oh < g->out[1]; oh++)
                    for (int64_t ow = 0; ow < g->out[2]; ow++) {
                        double s = b ? b[m] : 0;
                        for (int64_t c = 0; c < cg; c++)
                            for (int64_t kd = 0; kd < g->k[0]; kd++)
                                for (int64_t kh = 0; kh < g->k[1]; kh++)
                                    for (int64_t kw = 0; kw < g->k[2]; kw++) {
                                        int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                                        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                                        int64_t iw = ow * g->s[2] - g->pb[2] + kw * g->d[2];
                                        if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1] ||
                                            iw < 0 || iw >= g->in[2])
                                            continue;
                                        int64_t ci = (m / mg) * cg + c;
                                        s += (double)x[(((n * g->channels + ci) * g->in[0] + id) * g->in[1] + ih) * g->in[2] + iw] *
                                             w[(((m * cg + c) * g->k[0] + kd) * g->k[1] + kh) * g->k[2] + kw];
                                    }
                        y[(((n * M + m) * g->out[0] + od) * g->out[1] + oh) * g->out[2] + ow] = (float)s;
                    }
}

static int op_conv(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    if (n_in < 2 || !in[1])
        return node_error(c, NERVE_EINPUT, "needs X and W");
    const nerve_array *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    if (x->dtype != NERVE_F32 || w->dtype != NERVE_F32 || w->ndim != x->ndim)
        return node_error(c, NERVE_EINPUT, "X and W must be float tensors of the same rank");
    int64_t groups = attr_int(c->node, "group", 1), M = w->shape[0];
    int64_t nk;
    const int64_t *ks = attr_ints(c->node, "kernel_shape", &nk);
    if (ks && nk != x->ndim - 2)
        return node_error(c, NERVE_EINPUT, "kernel_shape has %lld values", (long long)nk);
    nn_geometry g;
    int rc = nn_window(c, x, ks ? ks : w->shape + 2, 0, &g);
    if (rc < 0)
        return rc;
    if (groups < 1 || g.channels % groups || M % groups || w->shape[1] != g.channels / groups)
        return node_error(c, NERVE_EINPUT, "W (%lld, %lld, ...) does not fit %lld input channels in %lld groups",
                          (long long)M, (long long)w->shape[1], (long long)g.channels, (long long)groups);
    if (b && (b->dtype != NERVE_F32 || nerve_array_count(b) != M))
        return node_error(c, NERVE_EINPUT, "B must hold %lld floats", (long long)M);
    if ((rc = nn_window_output(out, &g, M)) < 0)
        return rc;
    rc = conv_forward(out->data, x->data, w->data, b ? b->data : NULL, &g, M, groups);
    if (rc < 0)
        nerve_array_free(out);
    return rc;
}

const op_def nn_ops_conv[] = {
    { "Conv", op_conv },
    { NULL, NULL },
};
