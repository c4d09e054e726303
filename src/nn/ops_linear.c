/*
 * ops_linear.c — Gemm and MatMul through OpenBLAS sgemm on nerve's own
 * threads (BLAS itself runs single-threaded: core/lazy_blas.c), with a
 * naive twin of the matrix product that the tests compare against.
 */
#include <cblas.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

/* C (M x N) = A (M x K) B (K x N), all row-major: the reference for tests. */
void nn_matmul_naive(float *c, const float *a, const float *b, int64_t m, int64_t n, int64_t k)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++)
                s += (double)a[i * k + p] * b[p * n + j];
            c[i * n + j] = (float)s;
        }
}

/* C (M x N) = alpha op(A) op(B) + beta C, row-major, as blocks of
 * NN_GEMM_ROWS rows of C, each a single-threaded sgemm, shared by nerve's
 * threads: a transformer's Linear layers are most of its time and would
 * otherwise run on one core. The blocks do not depend on the thread count,
 * so neither do the results. */
void nn_gemm_rows(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    int64_t blocks = (m + NN_GEMM_ROWS - 1) / NN_GEMM_ROWS;
    #pragma omp parallel for schedule(dynamic, 1) if (blocks > 1 && m * n * k > (1 << 21))
    for (int64_t bi = 0; bi < blocks; bi++) {
        int64_t i0 = bi * NN_GEMM_ROWS, rows = m - i0 < NN_GEMM_ROWS ? m - i0 : NN_GEMM_ROWS;
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)rows, (int)n,
                    (int)k, alpha, ta ? a + i0 : a + i0 * lda, (int)lda, b, (int)ldb, beta, c + i0 * ldc, (int)ldc);
    }
}

static int op_gemm(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    if (n_in < 2 || !in[1])
        return node_error(c, NERVE_EINPUT, "needs A and B");
    const nerve_array *a = in[0], *b = in[1], *bias = n_in > 2 ? in[2] : NULL;
    if (a->ndim != 2 || b->ndim != 2 || a->dtype != NERVE_F32 || b->dtype != NERVE_F32)
        return node_error(c, NERVE_EINPUT, "A and B must be float matrices");
    int ta = (int)attr_int(c->node, "transA", 0), tb = (int)attr_int(c->node, "transB", 0);
    float alpha = attr_float(c->node, "alpha", 1), beta = attr_float(c->node, "beta", 1);
    int64_t m = ta ? a->shape[1] : a->shape[0], k = ta ? a->shape[0] : a->shape[1];
    int64_t kb = tb ? b->shape[1] : b->shape[0], n = tb ? b->shape[0] : b->shape[1];
    if (k != kb)
        return node_error(c, NERVE_EINPUT, "A is %lldx%lld and B %lldx%lld: inner sizes differ",
                          (long long)m, (long long)k, (long long)kb, (long long)n);
    int64_t shape[2] = { m, n };
    int rc = nn_alloc_raw(c, out, NERVE_F32, 2, shape);   /* every element written below */
    if (rc < 0)
        return rc;
    float *y = out->data;
    if (bias && beta != 0) {
        /* C broadcasts unidirectionally to (M, N). */
        int64_t bm = bias->ndim == 2 ? bias->shape[0] : 1;
        int64_t bn = bias->ndim >= 1 ? bias->shape[bias->ndim - 1] : 1;
        if (bias->dtype != NERVE_F32 || bias->ndim > 2 || (bm != 1 && bm != m) || (bn != 1 && bn != n)) {
            nerve_array_free(out);
            return node_error(c, NERVE_EINPUT, "C does not broadcast to %lldx%lld", (long long)m, (long long)n);
        }
        const float *cb = bias->data;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                y[i * n + j] = beta * cb[(bm == 1 ? 0 : i) * bn + (bn == 1 ? 0 : j)];
    } else {
        beta = 0;
        if (!k)   /* no product to write them */
            memset(y, 0, (size_t)(m * n) * sizeof *y);
    }
    if (m && n && k)
        nn_gemm_rows(ta, tb, m, n, k, alpha, a->data, a->shape[1], b->data, b->shape[1], beta != 0 ? 1.0f : 0.0f, y,
                     n);
    return 0;
}

/* The matrices of batch t in A and B (their batch shapes ba and bb,
 * broadcast to shape[0..bnd)). */
static void batch_offsets(int64_t t, int bnd, const int64_t *shape, const nerve_array *ba, const nerve_array *bb,
                          int64_t *ia, int64_t *ib)
{
    int64_t rem = t, sa = 1, sb = 1;
    *ia = *ib = 0;
    for (int d = bnd - 1; d >= 0; d--) {
        int64_t i = rem % shape[d];
        rem /= shape[d];
        int da = d - (bnd - ba->ndim), db = d - (bnd - bb->ndim);
        int64_t na = da >= 0 ? ba->shape[da] : 1, nb = db >= 0 ? bb->shape[db] : 1;
        *ia += (na == 1 ? 0 : i) * sa;
        *ib += (nb == 1 ? 0 : i) * sb;
        sa *= na;
        sb *= nb;
    }
}

/* numpy.matmul: 1-D operands are promoted and the added axis dropped; the
 * batch axes broadcast. */
static int op_matmul(const op_context *c, const nerve_array *const *in, int n_in, nerve_array *out, int n_out)
{
    (void)n_out;
    if (n_in < 2 || !in[1] || in[0]->dtype != NERVE_F32 || in[1]->dtype != NERVE_F32)
        return node_error(c, NERVE_EINPUT, "needs two float inputs");
    nerve_array a = *in[0], b = *in[1];   /* views: only the shapes change */
    int a_vec = a.ndim == 1, b_vec = b.ndim == 1;
    if (a.ndim == 0 || b.ndim == 0)
        return node_error(c, NERVE_EINPUT, "inputs must have at least one dimension");
    if (a_vec) {
        a.ndim = 2;
        a.shape[1] = a.shape[0];
        a.shape[0] = 1;
    }
    if (b_vec) {
        b.ndim = 2;
        b.shape[1] = 1;
    }
    int64_t m = a.shape[a.ndim - 2], k = a.shape[a.ndim - 1], n = b.shape[b.ndim - 1];
    if (b.shape[b.ndim - 2] != k)
        return node_error(c, NERVE_EINPUT, "inner sizes differ (%lld and %lld)", (long long)k,
                          (long long)b.shape[b.ndim - 2]);
    nerve_array ba = a, bb = b;   /* batch shapes only */
    ba.ndim -= 2;
    bb.ndim -= 2;
    int bnd;
    int64_t shape[NERVE_MAX_DIMS];
    int rc = nn_broadcast_shape(c, &ba, &bb, &bnd, shape);
    if (rc < 0)
        return rc;
    int ndim = bnd;
    if (!a_vec)
        shape[ndim++] = m;
    if (!b_vec)
        shape[ndim++] = n;
    if ((rc = nn_alloc_raw(c, out, NERVE_F32, ndim, shape)) < 0)   /* every element written below */
        return rc;
    int64_t batches = 1;
    for (int d = 0; d < bnd; d++)
        batches *= shape[d];
    /* A weight matrix B (no batch axes of its own) against a batched A,
     * as a transformer's Linear layers on (tokens, 1, C): one GEMM of all
     * the rows, not one per batch that repacks B each time. */
    if (bb.ndim == 0 && m && n && k) {
        nn_gemm_rows(0, 0, batches * m, n, k, 1.0f, a.data, k, b.data, n, 0.0f, out->data, n);
        return 0;
    }
    /* Attention's many small products (a batch of heads): one a thread;
     * a few large ones: each split by rows. */
    int few = batches < 4;
    #pragma omp parallel for schedule(dynamic, 1) if (!few && batches * m * n * k > (1 << 20))
    for (int64_t t = 0; t < batches; t++) {
        if (!m || !n)
            continue;
        int64_t ia, ib;
        batch_offsets(t, bnd, shape, &ba, &bb, &ia, &ib);
        float *y = (float *)out->data + t * m * n;
        const float *at = (const float *)a.data + ia * m * k, *bt = (const float *)b.data + ib * k * n;
        if (k == 0)
            memset(y, 0, (size_t)(m * n) * sizeof *y);
        else if (few)
            nn_gemm_rows(0, 0, m, n, k, 1.0f, at, k, bt, n, 0.0f, y, n);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, at, (int)k, bt,
                        (int)n, 0.0f, y, (int)n);
    }
    return 0;
}

const op_def nn_ops_linear[] = {
    /* name, run, inputs: min, max, since opset; outputs; load-time check */
    { "Gemm",   op_gemm,                   2, 3,  0, 1, NULL },
    { "MatMul", op_matmul,                 2, 2,  0, 1, NULL },
    { NULL, NULL, 0, 0, 0, 0, NULL },
};
