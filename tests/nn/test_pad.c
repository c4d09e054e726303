/*
 * test_pad.c — the Pad kernel (src/nn/pad.c): against its naive twin for
 * every mode, type, rank and crop; the long reflect border fuzz_onnx found
 * (issue 15 point 4) in time proportional to its bytes; the constant of an
 * int64 tensor kept exactly. Models from tests/fixtures/hostile/make_nn.py.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nerve/nn.h"
#include "../../src/nn/nn_internal.h"
#include "../support/support.h"

static const char *model_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s%s.onnx", fixture("hostile/nn/"), name);
    return path;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The output shape, or 0 if pads make a dimension negative or leave
 * edge/reflect nothing to repeat (op_pad refuses both). */
static int padded_shape(const nerve_array *x, const int64_t *pads, int mode, int64_t *shape)
{
    int64_t count = 1;
    for (int d = 0; d < x->ndim; d++) {
        shape[d] = x->shape[d] + pads[d] + pads[d + x->ndim];
        if (shape[d] < 0)
            return 0;
        count *= shape[d];
    }
    for (int d = 0; d < x->ndim && mode != NN_PAD_CONSTANT && count; d++) {
        int64_t lo, hi;
        nn_pad_visible(x, shape, pads, d, &lo, &hi);
        if (lo == hi)
            return 0;
    }
    return 1;
}

Test(pad, fast_kernel_matches_naive_for_every_mode_type_and_crop)
{
    srand(15);
    int tried = 0;
    for (int trial = 0; trial < 3000; trial++) {
        nerve_array x, fast, naive;
        int ndim = rand() % 5, mode = rand() % 3;
        nerve_dtype dtype = rand() % 2 ? NERVE_F32 : NERVE_I64;
        int64_t shape[NERVE_MAX_DIMS], pads[2 * NERVE_MAX_DIMS], out_shape[NERVE_MAX_DIMS];
        for (int d = 0; d < ndim; d++)
            shape[d] = rand() % 6;
        for (int d = 0; d < 2 * ndim; d++)
            pads[d] = rand() % 4 == 0 ? -(rand() % 4) : rand() % 9;
        cr_assert_eq(nerve_array_alloc(&x, dtype, ndim, shape), 0);
        if (!padded_shape(&x, pads, mode, out_shape)) {
            nerve_array_free(&x);
            continue;
        }
        for (int64_t i = 0; i < nerve_array_count(&x); i++) {
            if (dtype == NERVE_F32)
                ((float *)x.data)[i] = (float)i + 0.5f;
            else
                ((int64_t *)x.data)[i] = ((int64_t)1 << 40) + i;
        }
        cr_assert_eq(nerve_array_alloc(&fast, dtype, ndim, out_shape), 0);
        cr_assert_eq(nerve_array_alloc(&naive, dtype, ndim, out_shape), 0);
        float vf = -7.25f;
        int64_t vi = -((int64_t)1 << 53) - 3;
        const void *value = dtype == NERVE_F32 ? (const void *)&vf : (const void *)&vi;
        nn_pad(&fast, &x, pads, mode, value);
        nn_pad_naive(&naive, &x, pads, mode, value);
        size_t bytes = (size_t)nerve_array_count(&fast) * (size_t)nerve_dtype_size(dtype);
        cr_assert(bytes == 0 || memcmp(fast.data, naive.data, bytes) == 0,
                  "trial %d: rank %d mode %d dtype %d differs from the naive twin", trial, ndim, mode, dtype);
        tried++;
        nerve_array_free(&x);
        nerve_array_free(&fast);
        nerve_array_free(&naive);
    }
    cr_expect_gt(tried, 1500);
}

/* Loads name and runs it on x; the output in *y. */
static int run_model(const char *name, const nerve_array *x, nerve_array *y)
{
    nerve_model m;
    int rc = nerve_onnx_load(&m, model_path(name));
    if (rc < 0)
        return rc;
    rc = nerve_nn_run(&m, x, 1, y, 1, NULL);
    nerve_model_free(&m);
    return rc;
}

/* fuzz_onnx's timeout: a long reflect border on an axis of 4, which op_pad
 * built one element at a time with index arithmetic (a 200 MB output: over
 * 10 s instrumented). Here 19 MB of it, against zeroing the same bytes,
 * each the best of a few runs on memory glibc reuses (so neither pays for
 * page faults or a busy machine): the old loop took 35-90 ms, zeroing
 * under 1 ms, the row copies 1-2 ms. */
Test(pad, long_reflect_border_costs_about_what_its_bytes_cost, .timeout = 120)
{
    enum { RUNS = 5 };
    const int64_t before = 400000, W = 4 + before + 1, out_shape[4] = { 1, 2, 6, W };
    mallopt(M_MMAP_THRESHOLD, 32 << 20);    /* the output on the heap, not a fresh mapping, */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);   /* and kept there when freed */
    nerve_array x, y, zeros;
    int64_t shape[] = { 1, 2, 4, 4 };
    cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, 4, shape), 0);
    for (int i = 0; i < 32; i++)
        ((float *)x.data)[i] = (float)i;
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, model_path("pad_reflect_long")), 0, "%s", nerve_error());
    double pad_time = 1e9, zero_time = 1e9;
    for (int run = 0; run < RUNS; run++) {
        double t0 = seconds();
        cr_assert_eq(nerve_nn_run(&m, &x, 1, &y, 1, NULL), 0, "%s", nerve_error());
        double t1 = seconds();
        pad_time = run && t1 - t0 < pad_time ? t1 - t0 : pad_time;   /* the first run maps the memory */
        nerve_array_free(&y);
        t0 = seconds();
        cr_assert_eq(nerve_array_alloc(&zeros, NERVE_F32, 4, out_shape), 0);   /* zeroed: every byte written */
        t1 = seconds();
        zero_time = run && t1 - t0 < zero_time ? t1 - t0 : zero_time;
        nerve_array_free(&zeros);
    }
    cr_assert_eq(nerve_nn_run(&m, &x, 1, &y, 1, NULL), 0, "%s", nerve_error());
    nerve_model_free(&m);
    cr_expect_lt(pad_time, 10 * zero_time + 0.01, "Pad took %.4f s, zeroing its %zu bytes %.4f s", pad_time,
                 (size_t)nerve_array_count(&y) * sizeof(float), zero_time);
    for (int d = 0; d < 4; d++)
        cr_assert_eq(y.shape[d], out_shape[d]);
    /* Spot checks against the reflection: element (c, h, w) of the output is
     * input (c, mirror(h - 1), mirror(w - before)). */
    const float *out = y.data;
    for (int64_t k = 0; k < nerve_array_count(&y); k += 997) {
        int64_t w = k % W, h = k / W % 6, c = k / W / 6;
        int64_t sh = nn_pad_mirror(h - 1, 4, NN_PAD_REFLECT), sw = nn_pad_mirror(w - before, 4, NN_PAD_REFLECT);
        cr_assert_eq(out[k], (float)(c * 16 + sh * 4 + sw), "element %lld", (long long)k);
    }
    nerve_array_free(&y);
    nerve_array_free(&x);
}

/* The constant of an int64 Pad went through a float: 2^53 + 1 became 2^53. */
Test(pad, int64_constant_is_kept_exactly)
{
    nerve_array x, y;
    int64_t shape[] = { 2, 3 };
    cr_assert_eq(nerve_array_alloc(&x, NERVE_I64, 2, shape), 0);
    for (int i = 0; i < 6; i++)
        ((int64_t *)x.data)[i] = i + 1;
    cr_assert_eq(run_model("pad_int64_value", &x, &y), 0, "%s", nerve_error());
    /* pads (1, 2) before, (0, 1) after: 3 x 6 */
    cr_assert_eq(y.dtype, NERVE_I64);
    cr_assert_eq(y.shape[0], 3);
    cr_assert_eq(y.shape[1], 6);
    const int64_t v = ((int64_t)1 << 53) + 1, *o = y.data;
    const int64_t want[18] = { v, v, v, v, v, v, v, v, 1, 2, 3, v, v, v, 4, 5, 6, v };
    for (int i = 0; i < 18; i++)
        cr_expect_eq(o[i], want[i], "element %d: %lld, expected %lld", i, (long long)o[i], (long long)want[i]);
    nerve_array_free(&x);
    nerve_array_free(&y);
}

Test(pad, reflect_with_an_axis_cropped_away_refused)
{
    nerve_array x, y;
    int64_t shape[] = { 1, 2, 4, 4 };
    cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, 4, shape), 0);
    int rc = run_model("pad_reflect_cropped", &x, &y);
    cr_assert_eq(rc, NERVE_EINPUT, "%d %s", rc, rc < 0 ? nerve_error() : "");
    cr_expect(strstr(nerve_error(), "node 'pad' (Pad): mode 'reflect' repeats the input, but nothing of "
                                    "dimension 3"), "%s", nerve_error());
    nerve_array_free(&x);
}
