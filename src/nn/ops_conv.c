/*
 * ops_conv.c — convolution by im2col and OpenBLAS sgemm, with groups,
 * strides, dilations and padding, for 1-D to 3-D inputs; and its naive twin.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

enum { COLUMN_BLOCK = 392 };   /* columns per work item (8 x 7x7 maps): fixed, so results do not depend on the thread count; 392 measured best on resnet18 and googlenet */

/* One run of a column row: output positions ow0 .. ow0 + run - 1 of one
 * output row, reading input row `src` (NULL when the row is in the padding)
 * at iw = ow * stride + offset. */
static void unfold_run(float *col, const float *src, int64_t ow0, int64_t run, int64_t stride,
                       int64_t offset, int64_t W)
{
    if (!src) {
        memset(col, 0, (size_t)run * sizeof *col);
        return;
    }
    /* The positions j whose iw = (ow0 + j) * stride + offset lands inside
     * the row form one span [lo, hi): zeros around it, no checks within. */
    int64_t first = (ow0 * stride + offset), lo = 0, hi = run;
    if (first < 0)
        lo = (-first + stride - 1) / stride;
    if (first + (run - 1) * stride >= W)
        hi = W - 1 - first < 0 ? 0 : (W - 1 - first) / stride + 1;
    lo = lo > run ? run : lo;
    hi = hi < lo ? lo : hi;
    memset(col, 0, (size_t)lo * sizeof *col);
    if (stride == 1) {
        memcpy(col + lo, src + first + lo, (size_t)(hi - lo) * sizeof *col);
    } else if (stride == 2) {   /* the stem of most CNNs: a constant stride the compiler vectorises */
        const float *p = src + first;
        for (int64_t j = lo; j < hi; j++)
            col[j] = p[2 * j];
    } else {
        const float *p = src + first;
        for (int64_t j = lo; j < hi; j++)
            col[j] = p[j * stride];
    }
    memset(col + hi, 0, (size_t)(run - hi) * sizeof *col);
}

/* A stretch of consecutive output positions within one output row. */
typedef struct run_t {
    int64_t j;            /* offset within the block's columns */
    int64_t od, oh, ow0, length;
} run_t;

/* im2col for at most COLUMN_BLOCK positions. The runs (where output rows
 * start and stop) are the same for every row of cols, so they are found
 * once. */
static void im2col_block(float *cols, int64_t ld, const float *x, int64_t c0, int64_t cn, int64_t j0, int64_t jn,
                         const nn_geometry *g)
{
    const int64_t D = g->in[0], H = g->in[1], W = g->in[2];
    const int64_t OH = g->out[1], OW = g->out[2];
    run_t runs[COLUMN_BLOCK + 1];
    int64_t n_runs = 0;
    for (int64_t j = j0; j < j0 + jn;) {
        run_t *r = &runs[n_runs++];
        r->j = j - j0;
        r->ow0 = j % OW;
        r->oh = j / OW % OH;
        r->od = j / (OW * OH);
        r->length = OW - r->ow0 < j0 + jn - j ? OW - r->ow0 : j0 + jn - j;
        j += r->length;
    }
    float *col = cols;
    for (int64_t ch = c0; ch < c0 + cn; ch++)
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++, col += ld) {
                    int64_t offset = kw * g->d[2] - g->pb[2];
                    for (int64_t r = 0; r < n_runs; r++) {
                        int64_t id = runs[r].od * g->s[0] - g->pb[0] + kd * g->d[0];
                        int64_t ih = runs[r].oh * g->s[1] - g->pb[1] + kh * g->d[1];
                        const float *src = id >= 0 && id < D && ih >= 0 && ih < H
                                           ? x + ((ch * D + id) * H + ih) * W : NULL;
                        unfold_run(col + runs[r].j, src, runs[r].ow0, runs[r].length, g->s[2], offset, W);
                    }
                }
}

void nn_im2col(float *cols, int64_t ld, const float *x, int64_t c0, int64_t cn, int64_t j0, int64_t jn,
               const nn_geometry *g)
{
    for (int64_t j = 0; j < jn; j += COLUMN_BLOCK)
        im2col_block(cols + j, ld, x, c0, cn, j0 + j, jn - j < COLUMN_BLOCK ? jn - j : COLUMN_BLOCK, g);
}

/* y (N, M, out...) = conv(x (N, C, in...), w (M, C/groups, k...)) + b (M).
 *
 * The columns of all images are numbered together (image-major), so the
 * deep layers, whose images have few output positions, still make wide
 * GEMMs. A work item is (group, block of COLUMN_BLOCK columns): it unfolds
 * its columns, multiplies them by the group's weights with a
 * single-threaded sgemm into a scratch block, and scatters the block into
 * y. Blocks do not depend on the thread count, so neither do the results. */
static int conv_forward(float *y, const float *x, const float *w, const float *b, const nn_geometry *g,
                        int64_t M, int64_t groups)
{
    const int64_t cg = g->channels / groups, mg = M / groups;
    const int64_t kvol = g->k[0] * g->k[1] * g->k[2], ivol = g->in[0] * g->in[1] * g->in[2];
    const int64_t ovol = g->out[0] * g->out[1] * g->out[2], rows = cg * kvol;
    const int64_t columns = g->batch * ovol;
    const int64_t blocks = (columns + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
    const int64_t items = groups * blocks;
    size_t cols_bytes, out_bytes;
    if (nerve_mul_size((size_t)(rows > 0 ? rows : 1), COLUMN_BLOCK * sizeof(float), &cols_bytes) < 0 ||
        nerve_mul_size((size_t)(mg > 0 ? mg : 1), COLUMN_BLOCK * sizeof(float), &out_bytes) < 0)
        return nerve_error_set(NERVE_ENOMEM, "convolution too large");
    int failed = 0;
    #pragma omp parallel reduction(|:failed)
    {
        float *cols = malloc(cols_bytes), *block = malloc(out_bytes);
        failed = !cols || !block;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t item = 0; item < items; item++) {
            if (failed)
                continue;
            int64_t gi = item / blocks, J0 = item % blocks * COLUMN_BLOCK;
            int64_t jn = columns - J0 < COLUMN_BLOCK ? columns - J0 : COLUMN_BLOCK;
            /* Unfold image by image: the block may span several. */
            for (int64_t J = J0; J < J0 + jn;) {
                int64_t n = J / ovol, j = J % ovol, run = ovol - j < J0 + jn - J ? ovol - j : J0 + jn - J;
                im2col_block(cols + (J - J0), jn, x + n * g->channels * ivol, gi * cg, cg, j, run, g);
                J += run;
            }
            /* A block inside one image is multiplied straight into y. */
            int64_t n0 = J0 / ovol, j0 = J0 % ovol;
            int direct = j0 + jn <= ovol;
            float *dst = direct ? y + (n0 * M + gi * mg) * ovol + j0 : block;
            int64_t ldc = direct ? ovol : jn;
            if (rows > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)jn, (int)rows, 1.0f,
                            w + gi * mg * rows, (int)rows, cols, (int)jn, 0.0f, dst, (int)ldc);
            else
                for (int64_t m = 0; m < mg; m++)
                    memset(dst + m * ldc, 0, (size_t)jn * sizeof *dst);
            if (direct) {
                for (int64_t m = 0; b && m < mg; m++) {
                    float bias = b[gi * mg + m], *row = dst + m * ldc;
                    for (int64_t k = 0; k < jn; k++)
                        row[k] += bias;
                }
                continue;
            }
            for (int64_t J = J0; J < J0 + jn;) {
                int64_t n = J / ovol, j = J % ovol, run = ovol - j < J0 + jn - J ? ovol - j : J0 + jn - J;
                for (int64_t m = 0; m < mg; m++) {
                    float bias = b ? b[gi * mg + m] : 0;
                    const float *src = block + m * jn + (J - J0);
                    float *dst = y + (n * M + gi * mg + m) * ovol + j;
                    for (int64_t k = 0; k < run; k++)
                        dst[k] = src[k] + bias;
                }
                J += run;
            }
        }
        free(cols);
        free(block);
    }
    return failed ? nerve_error_set(NERVE_ENOMEM, "out of memory for a convolution's columns") : 0;
}

typedef struct winograd_arg {
    const float *w;
    int64_t      M, C;
} winograd_arg;

static void make_winograd_weights(float *u, const void *arg)
{
    const winograd_arg *a = arg;
    nn_winograd_weights(u, a->w, a->M, a->C);
}

/* Winograd's convolution; the transformed weights of a constant W are
 * made once and kept on the node (at batch 1 making them took as long as
 * the convolution). */
static int conv_winograd(const op_context *c, float *y, const float *x, const float *w, const float *b,
                         const nn_geometry *g, int64_t M)
{
    winograd_arg arg = { w, M, g->channels };
    int64_t count = 16 * M * g->channels;
    const nerve_node *n = c->node;
    int constant = c->model && n->n_in > 1 && n->in && n->in[1] >= 0 && c->model->values[n->in[1]].constant;
    const float *u = constant ? nn_derived(c, count, make_winograd_weights, &arg) : NULL;
    float *own = NULL;
    if (!u) {
        if (!(own = malloc((size_t)count * sizeof *own)))
            return nerve_error_set(NERVE_ENOMEM, "out of memory for a convolution");
        make_winograd_weights(own, &arg);
        u = own;
    }
    int rc = nn_conv_winograd(y, x, u, b, g, M);
    free(own);
    return rc;
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

/* kernel_shape, when given, must be W's spatial dimensions: the kernels
 * read W as (M, C/groups, k...), so a larger kernel_shape reads past W. */
static int kernel_matches_weights(const op_context *c, const int64_t *ks, int64_t nk, const nerve_array *w)
{
    int fits = w->ndim >= 3 && nk == w->ndim - 2;
    for (int i = 0; fits && i < nk; i++)
        fits = ks[i] == w->shape[2 + i];
    if (fits)
        return 0;
    char want[256], got[256];
    nerve_shape_format(want, sizeof want, (int)(nk < NERVE_MAX_DIMS ? nk : NERVE_MAX_DIMS), ks);
    nerve_shape_format(got, sizeof got, w->ndim, w->shape);
    return node_error(c, NERVE_EINPUT, "kernel_shape %s does not match W %s (M, C/group, kernel...)", want, got);
}

/* What the graph shows before a run: group, and W and B when they are
 * initializers. */
static int check_conv(const op_context *c, const nerve_array *const *known, int n_in)
{
    int64_t groups = attr_int(c->node, "group", 1), nk;
    const int64_t *ks = attr_ints(c->node, "kernel_shape", &nk);
    const nerve_array *w = known[1], *b = n_in > 2 ? known[2] : NULL;
    if (groups < 1)
        return node_error(c, NERVE_EINPUT, "group is %lld; it must be at least 1", (long long)groups);
    if (!w)
        return ks ? nn_window_attributes(c, (int)(nk < 4 ? nk : 4), ks) : 0;
    if (w->dtype != NERVE_F32 || w->ndim < 3)
        return node_error(c, NERVE_EINPUT, "W must be a float (M, C/group, kernel...) tensor");
    int rc = ks ? kernel_matches_weights(c, ks, nk, w) : 0;
    if (rc < 0 || (rc = nn_window_attributes(c, w->ndim - 2, w->shape + 2)) < 0)
        return rc;
    if (w->shape[0] % groups)
        return node_error(c, NERVE_EINPUT, "W has %lld output channels, which group %lld does not divide",
                          (long long)w->shape[0], (long long)groups);
    if (b && (b->dtype != NERVE_F32 || nerve_array_count(b) != w->shape[0]))
        return node_error(c, NERVE_EINPUT, "B must hold %lld floats", (long long)w->shape[0]);
    return 0;
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
    nn_geometry g;
    int rc = ks ? kernel_matches_weights(c, ks, nk, w) : 0;
    if (rc < 0 || (rc = nn_window(c, x, w->shape + 2, 0, &g)) < 0)
        return rc;
    if (groups < 1 || g.channels % groups || M % groups || w->shape[1] != g.channels / groups)
        return node_error(c, NERVE_EINPUT, "W (%lld, %lld, ...) does not fit %lld input channels in %lld groups",
                          (long long)M, (long long)w->shape[1], (long long)g.channels, (long long)groups);
    if (b && (b->dtype != NERVE_F32 || nerve_array_count(b) != M))
        return node_error(c, NERVE_EINPUT, "B must hold %lld floats", (long long)M);
    if ((rc = nn_window_output(c, out, &g, M)) < 0)
        return rc;
    if (nn_conv_winograd_applies(&g, groups, M))
        rc = conv_winograd(c, out->data, x->data, w->data, b ? b->data : NULL, &g, M);
    else if (nn_conv_shifted_applies(&g, groups))
        rc = nn_conv_shifted(out->data, x->data, w->data, b ? b->data : NULL, &g, M);
    else
        rc = conv_forward(out->data, x->data, w->data, b ? b->data : NULL, &g, M, groups);
    if (rc < 0)
        nerve_array_free(out);
    return rc;
}

const op_def nn_ops_conv[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "Conv", op_conv,                   2, 3,  0, 1, check_conv },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
