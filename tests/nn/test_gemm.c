/*
 * test_gemm.c — a transformer's fast kernels against their naive twins:
 * the matrix products on nerve's threads (nn_gemm_rows: blocks of rows, a
 * single-threaded sgemm each; MatMul's batches one a thread) in every
 * transposition, across block edges, the same bits at one and two threads;
 * Transpose row by row for every permutation; Softmax in float.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "../../src/nn/nn_internal.h"

static void fill(float *x, int64_t n, uint64_t seed)
{
    nerve_rng r;
    nerve_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)nerve_rng_normal(&r);
}

/* op(X) of an (r x c) stored matrix, as a fresh row-major copy. */
static float *transposed(const float *x, int64_t r, int64_t c)
{
    float *t = malloc((size_t)(r * c) * sizeof *t);
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < c; j++)
            t[j * r + i] = x[i * c + j];
    return t;
}

Test(gemm, row_blocks_match_the_naive_product_in_every_transposition)
{
    /* 150 rows: two whole blocks of 64 and a part; large enough to thread */
    const int64_t m = 150, n = 120, k = 130;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c0 = malloc(sizeof(float) * m * n);
    float *ref = malloc(sizeof(float) * m * n), *c = malloc(sizeof(float) * m * n), *c1 = malloc(sizeof(float) * m * n);
    fill(a, m * k, 1);
    fill(b, k * n, 2);
    fill(c0, m * n, 3);
    nn_matmul_naive(ref, a, b, m, n, k);
    for (int i = 0; i < m * n; i++)
        ref[i] = 0.5f * ref[i] + 2.0f * c0[i];
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float *as = ta ? transposed(a, m, k) : a, *bs = tb ? transposed(b, k, n) : b;
            for (int threads = 1; threads <= 2; threads++) {
                omp_set_num_threads(threads);
                memcpy(threads == 1 ? c1 : c, c0, sizeof(float) * m * n);
                nn_gemm_rows(ta, tb, m, n, k, 0.5f, as, ta ? m : k, bs, tb ? k : n, 2.0f, threads == 1 ? c1 : c, n);
            }
            double worst = 0, top = 0;
            for (int i = 0; i < m * n; i++) {
                worst = fmax(worst, fabs(c[i] - ref[i]));
                top = fmax(top, fabs(ref[i]));
            }
            cr_expect(worst <= 1e-5 * top, "transA %d transB %d: %g of %g", ta, tb, worst, top);
            cr_expect(memcmp(c, c1, sizeof(float) * m * n) == 0, "transA %d transB %d: threads change the bits", ta,
                      tb);
            if (ta)
                free(as);
            if (tb)
                free(bs);
        }
    free(a);
    free(b);
    free(c0);
    free(ref);
    free(c);
    free(c1);
}

/* MatMul of (batches, m, k) by (batches, k, n) through the operator. */
static void check_batched(int64_t batches, int64_t m, int64_t n, int64_t k)
{
    int64_t as[3] = { batches, m, k }, bs[3] = { batches, k, n };
    nerve_array a, b, y[2];
    cr_assert_eq(nerve_array_alloc(&a, NERVE_F32, 3, as), 0);
    cr_assert_eq(nerve_array_alloc(&b, NERVE_F32, 3, bs), 0);
    fill(a.data, batches * m * k, 4);
    fill(b.data, batches * k * n, 5);
    nerve_node node = { .op = (char *)"MatMul", .name = (char *)"mm" };
    nerve_model model = { .path = (char *)"test", .opset = 17 };
    op_context ctx = { &model, &node, 17, NULL };
    const nerve_array *in[2] = { &a, &b };
    const op_def *def = nn_op(nn_op_find("MatMul"));
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        cr_assert_eq(def->run(&ctx, in, 2, &y[threads - 1], 1), 0, "%s", nerve_error());
    }
    float *ref = malloc(sizeof(float) * m * n);
    for (int64_t t = 0; t < batches; t++) {
        nn_matmul_naive(ref, (float *)a.data + t * m * k, (float *)b.data + t * k * n, m, n, k);
        for (int64_t i = 0; i < m * n; i++)
            cr_assert(fabsf(((float *)y[1].data)[t * m * n + i] - ref[i]) <= 1e-4f * (1 + fabsf(ref[i])),
                      "batch %lld, element %lld", (long long)t, (long long)i);
    }
    cr_expect(memcmp(y[0].data, y[1].data, sizeof(float) * batches * m * n) == 0, "threads change the bits");
    free(ref);
    nerve_array_free(&a);
    nerve_array_free(&b);
    nerve_array_free(&y[0]);
    nerve_array_free(&y[1]);
}

Test(gemm, batched_matmul_many_small_and_few_large_match_naive)
{
    check_batched(12, 48, 40, 48);    /* heads: one product a thread (past the threading threshold) */
    check_batched(2, 140, 100, 160);  /* few: each split into row blocks, threaded */
}

Test(gemm, transpose_rows_match_the_naive_twin_for_every_permutation)
{
    /* (3, 5, 4, 7): every permutation of 4 axes, float and int64 */
    const int64_t xs[4] = { 3, 5, 4, 7 }, n = 420;
    int64_t stride[4] = { 140, 28, 7, 1 };
    float x[420];
    int64_t xi[420];
    fill(x, n, 6);
    for (int i = 0; i < n; i++)
        xi[i] = i * 7919;
    int perms = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 4; d++) {
                    if (a == b || a == c || a == d || b == c || b == d || c == d)
                        continue;
                    int p[4] = { a, b, c, d };
                    int64_t shape[4], ostride[4];
                    for (int i = 0; i < 4; i++) {
                        shape[i] = xs[p[i]];
                        ostride[i] = stride[p[i]];
                    }
                    float y[420], ref[420];
                    int64_t yi[420], refi[420];
                    nn_transpose(y, x, 4, 4, shape, ostride);
                    nn_transpose_naive(ref, x, 4, 4, shape, ostride);
                    nn_transpose(yi, xi, 8, 4, shape, ostride);
                    nn_transpose_naive(refi, xi, 8, 4, shape, ostride);
                    cr_expect(memcmp(y, ref, sizeof y) == 0, "perm %d%d%d%d (float)", a, b, c, d);
                    cr_expect(memcmp(yi, refi, sizeof yi) == 0, "perm %d%d%d%d (int64)", a, b, c, d);
                    perms++;
                }
    cr_assert_eq(perms, 24);
}

Test(gemm, softmax_in_float_matches_the_double_twin)
{
    /* rows of attention-like logits, contiguous and strided, softmax and log-softmax */
    float x[3 * 197], y[3 * 197], ref[3 * 197];
    fill(x, 3 * 197, 7);
    for (int i = 0; i < 3 * 197; i++)
        x[i] *= 8;
    for (int log_softmax = 0; log_softmax < 2; log_softmax++)
        for (int64_t stride = 1; stride <= 3; stride += 2) {
            int64_t len = stride == 1 ? 197 * 3 : 197;
            for (int64_t s = 0; s < stride; s++) {
                nn_softmax_line(y + s, x + s, len, stride, log_softmax);
                nn_softmax_line_naive(ref + s, x + s, len, stride, log_softmax);
            }
            for (int i = 0; i < 3 * 197; i++)
                cr_expect(fabsf(y[i] - ref[i]) <= 1e-6f * (1 + fabsf(ref[i])), "log %d stride %lld, %d: %g, naive %g",
                          log_softmax, (long long)stride, i, y[i], ref[i]);
        }
}

/* Element i of a broadcast operand of shape s (rank r) inside out's rank-4
 * index: numpy's rule, written out. */
static int64_t broadcast_index(const int64_t *s, int r, const int64_t *at)
{
    int64_t off = 0;
    for (int d = 0; d < r; d++) {
        int64_t i = at[4 - r + d];
        off = off * s[d] + (s[d] == 1 ? 0 : i);
    }
    return off;
}

Test(gemm, broadcast_rows_match_the_naive_twin)
{
    struct { int ra, rb; int64_t a[4], b[4]; } cases[] = {
        { 4, 1, { 2, 3, 5, 8 }, { 8 } },               /* a bias per channel */
        { 4, 4, { 2, 3, 5, 8 }, { 2, 1, 5, 1 } },      /* one value along each row */
        { 4, 4, { 1, 3, 1, 8 }, { 2, 1, 5, 1 } },      /* both broadcast */
        { 2, 2, { 5, 1 }, { 1, 8 } },                  /* an outer product */
        { 4, 0, { 2, 3, 5, 8 }, { 0 } },               /* a scalar (GELU's 0.5) */
    };
    const char *ops[4] = { "Add", "Sub", "Mul", "Div" };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        for (int op = 0; op < 4; op++) {
            nerve_array a, b, y;
            cr_assert_eq(nerve_array_alloc(&a, NERVE_F32, cases[k].ra, cases[k].a), 0);
            cr_assert_eq(nerve_array_alloc(&b, NERVE_F32, cases[k].rb, cases[k].b), 0);
            fill(a.data, nerve_array_count(&a), 8 + k);
            fill(b.data, nerve_array_count(&b), 9 + k);
            nerve_node node = { .op = (char *)ops[op], .name = (char *)"n" };
            nerve_model model = { .path = (char *)"test", .opset = 17 };
            op_context ctx = { &model, &node, 17, NULL };
            const nerve_array *in[2] = { &a, &b };
            cr_assert_eq(nn_op(nn_op_find(ops[op]))->run(&ctx, in, 2, &y, 1), 0, "%s", nerve_error());
            int64_t at[4] = { 0 }, out[4] = { 1, 1, 1, 1 };
            for (int d = 0; d < y.ndim; d++)
                out[4 - y.ndim + d] = y.shape[d];
            for (int64_t e = 0; e < nerve_array_count(&y); e++) {
                int64_t rem = e;
                for (int d = 3; d >= 0; d--) {
                    at[d] = rem % out[d];
                    rem /= out[d];
                }
                float want;
                nn_binary_row_naive(op, &want, (float *)a.data + broadcast_index(cases[k].a, cases[k].ra, at), 1,
                                    (float *)b.data + broadcast_index(cases[k].b, cases[k].rb, at), 1, 1);
                cr_assert(((float *)y.data)[e] == want, "case %zu, %s, element %lld", k, ops[op], (long long)e);
            }
            nerve_array_free(&a);
            nerve_array_free(&b);
            nerve_array_free(&y);
        }
}
