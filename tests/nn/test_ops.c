/*
 * test_ops.c — the fast kernels against their naive twins on random
 * shapes (convolution through im2col + sgemm, matrix products), and the
 * model-level bad input: unsupported operators, broken protobuf, missing
 * initializers, wrong input shapes and types.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "../../src/nn/nn_internal.h"
#include "../support/support.h"

static void fill(nerve_rng *r, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)nerve_rng_normal(r);
}

/* Normalised error: max |a - b| over max |b|. */
static double relative_error(const float *a, const float *b, int64_t n)
{
    double top = 1e-30, worst = 0;
    for (int64_t i = 0; i < n; i++) {
        top = fmax(top, fabs(b[i]));
        worst = fmax(worst, fabs(a[i] - b[i]));
    }
    return worst / top;
}

/* A one-node model, built through the public loader from protobuf bytes is
 * heavy; the kernels are reached through the operator table instead. */
static int run_op(const char *op, nerve_node *node, const nerve_array *const *in, int n_in, nerve_array *out)
{
    nerve_model m = { .path = "(test)", .opset = 13 };
    node->op = (char *)op;
    node->name = (char *)"n";
    op_context c = { &m, node, 13, NULL };
    return nn_op(nn_op_find(op))->run(&c, in, n_in, out, 1);
}

static nerve_attr ints_attr(const char *name, int64_t *v, int64_t n)
{
    nerve_attr a = { .name = (char *)name, .type = NERVE_ATTR_INTS, .count = n, .ints = v };
    return a;
}

Test(kernels, conv_im2col_matches_naive_across_shapes)
{
    nerve_rng r;
    nerve_rng_seed(&r, 1);
    for (int trial = 0; trial < 40; trial++) {
        int spatial = 1 + (int)nerve_rng_below(&r, 3);
        int64_t groups = 1 + (int64_t)nerve_rng_below(&r, 3);
        int64_t C = groups * (1 + (int64_t)nerve_rng_below(&r, 3)), M = groups * (1 + (int64_t)nerve_rng_below(&r, 3));
        int64_t xs[5] = { 1 + (int64_t)nerve_rng_below(&r, 2), C }, ws[5] = { M, C / groups };
        int64_t k[3], strides[3], dil[3], pads[6];
        for (int i = 0; i < spatial; i++) {
            xs[2 + i] = 6 + (int64_t)nerve_rng_below(&r, 5);
            k[i] = ws[2 + i] = 1 + (int64_t)nerve_rng_below(&r, 3);
            strides[i] = 1 + (int64_t)nerve_rng_below(&r, 2);
            dil[i] = 1 + (int64_t)nerve_rng_below(&r, 2);
            pads[i] = (int64_t)nerve_rng_below(&r, 2);
            pads[i + spatial] = (int64_t)nerve_rng_below(&r, 2);
        }
        nerve_array x, w, b, y;
        cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, 2 + spatial, xs), 0);
        cr_assert_eq(nerve_array_alloc(&w, NERVE_F32, 2 + spatial, ws), 0);
        cr_assert_eq(nerve_array_alloc(&b, NERVE_F32, 1, &M), 0);
        fill(&r, x.data, nerve_array_count(&x));
        fill(&r, w.data, nerve_array_count(&w));
        fill(&r, b.data, M);
        nerve_attr attrs[4] = { ints_attr("strides", strides, spatial), ints_attr("dilations", dil, spatial),
                                ints_attr("pads", pads, 2 * spatial),
                                { .name = (char *)"group", .type = NERVE_ATTR_INT, .i = groups } };
        nerve_node node = { .n_attr = 4, .attr = attrs };
        const nerve_array *in[3] = { &x, &w, &b };
        cr_assert_eq(run_op("Conv", &node, in, 3, &y), 0, "%s", nerve_error());

        nerve_model m = { .path = "(test)" };
        op_context c = { &m, &node, 13, NULL };
        nn_geometry g;
        cr_assert_eq(nn_window(&c, &x, k, 0, &g), 0);
        float *ref = malloc((size_t)nerve_array_count(&y) * sizeof *ref);
        nn_conv_naive(ref, x.data, w.data, b.data, &g, M, groups);
        double err = relative_error(y.data, ref, nerve_array_count(&y));
        cr_assert(err < 1e-5, "trial %d (%dD, groups %lld): error %g", trial, spatial, (long long)groups, err);
        free(ref);
        nerve_array_free(&x);
        nerve_array_free(&w);
        nerve_array_free(&b);
        nerve_array_free(&y);
    }
}

Test(kernels, shifted_gemm_conv_on_large_maps_matches_naive)
{
    /* Stride 1, 2-D, maps wide enough for the shifted-GEMM path. */
    nerve_rng r;
    nerve_rng_seed(&r, 4);
    int64_t cases[][6] = {   /* H, W, kernel, dilation, pad before, pad after */
        { 40, 36, 3, 1, 1, 1 }, { 33, 47, 5, 1, 2, 0 }, { 30, 30, 3, 2, 0, 2 }, { 64, 20, 1, 1, 0, 0 },
    };
    for (int t = 0; t < 4; t++) {
        int64_t C = 5, M = 7, *k = cases[t];
        int64_t xs[4] = { 2, C, k[0], k[1] }, ws[4] = { M, C, k[2], k[2] };
        int64_t strides[2] = { 1, 1 }, dil[2] = { k[3], k[3] }, pads[4] = { k[4], k[4], k[5], k[5] };
        nerve_array x, w, b, y;
        nerve_array_alloc(&x, NERVE_F32, 4, xs);
        nerve_array_alloc(&w, NERVE_F32, 4, ws);
        nerve_array_alloc(&b, NERVE_F32, 1, &M);
        fill(&r, x.data, nerve_array_count(&x));
        fill(&r, w.data, nerve_array_count(&w));
        fill(&r, b.data, M);
        nerve_attr attrs[3] = { ints_attr("strides", strides, 2), ints_attr("dilations", dil, 2),
                                ints_attr("pads", pads, 4) };
        nerve_node node = { .n_attr = 3, .attr = attrs };
        const nerve_array *in[3] = { &x, &w, &b };
        cr_assert_eq(run_op("Conv", &node, in, 3, &y), 0, "%s", nerve_error());
        nerve_model m = { .path = "(test)" };
        op_context c = { &m, &node, 13, NULL };
        nn_geometry g;
        cr_assert_eq(nn_window(&c, &x, ws + 2, 0, &g), 0);
        cr_assert(nn_conv_shifted_applies(&g, 1) || k[2] == 1, "case %d should take the shifted path", t);
        float *ref = malloc((size_t)nerve_array_count(&y) * sizeof *ref);
        nn_conv_naive(ref, x.data, w.data, b.data, &g, M, 1);
        double err = relative_error(y.data, ref, nerve_array_count(&y));
        cr_assert(err < 1e-5, "case %d: error %g", t, err);
        free(ref);
        nerve_array_free(&x);
        nerve_array_free(&w);
        nerve_array_free(&b);
        nerve_array_free(&y);
    }
}

Test(kernels, winograd_conv_matches_naive)
{
    /* 3 x 3, stride 1, pad 1, >= 16 channels: Winograd F(2x2, 3x3), on
     * odd and even maps, bands of tile rows and several small images per
     * work item, with and without bias. */
    nerve_rng r;
    nerve_rng_seed(&r, 8);
    int64_t cases[][5] = {   /* N, C, M, H, W */
        { 2, 16, 24, 37, 30 }, { 9, 32, 16, 8, 9 }, { 1, 16, 16, 56, 57 }, { 5, 20, 17, 9, 8 },
    };
    for (int t = 0; t < 4; t++) {
        int64_t *k = cases[t], M = k[2];
        int64_t xs[4] = { k[0], k[1], k[3], k[4] }, ws[4] = { M, k[1], 3, 3 };
        int64_t pads[4] = { 1, 1, 1, 1 };
        nerve_array x, w, b, y;
        nerve_array_alloc(&x, NERVE_F32, 4, xs);
        nerve_array_alloc(&w, NERVE_F32, 4, ws);
        nerve_array_alloc(&b, NERVE_F32, 1, &M);
        fill(&r, x.data, nerve_array_count(&x));
        fill(&r, w.data, nerve_array_count(&w));
        fill(&r, b.data, M);
        nerve_attr attrs[1] = { ints_attr("pads", pads, 4) };
        nerve_node node = { .n_attr = 1, .attr = attrs };
        const nerve_array *in[3] = { &x, &w, &b };
        int n_in = t == 3 ? 2 : 3;
        cr_assert_eq(run_op("Conv", &node, in, n_in, &y), 0, "%s", nerve_error());
        nerve_model m = { .path = "(test)" };
        op_context c = { &m, &node, 13, NULL };
        nn_geometry g;
        cr_assert_eq(nn_window(&c, &x, ws + 2, 0, &g), 0);
        cr_assert(nn_conv_winograd_applies(&g, 1, M), "case %d should take the Winograd path", t);
        float *ref = malloc((size_t)nerve_array_count(&y) * sizeof *ref);
        nn_conv_naive(ref, x.data, w.data, n_in == 3 ? b.data : NULL, &g, M, 1);
        double err = relative_error(y.data, ref, nerve_array_count(&y));
        cr_assert(err < 1e-5, "case %d: error %g", t, err);
        free(ref);
        nerve_array_free(&x);
        nerve_array_free(&w);
        nerve_array_free(&b);
        nerve_array_free(&y);
    }
}

Test(kernels, matmul_batched_broadcast_matches_naive)
{
    nerve_rng r;
    nerve_rng_seed(&r, 2);
    int64_t as[3] = { 3, 5, 7 }, bs[2] = { 7, 4 };
    nerve_array a, b, y;
    cr_assert_eq(nerve_array_alloc(&a, NERVE_F32, 3, as), 0);
    cr_assert_eq(nerve_array_alloc(&b, NERVE_F32, 2, bs), 0);
    fill(&r, a.data, 105);
    fill(&r, b.data, 28);
    nerve_node node = { 0 };
    const nerve_array *in[2] = { &a, &b };
    cr_assert_eq(run_op("MatMul", &node, in, 2, &y), 0, "%s", nerve_error());
    cr_assert_eq(y.ndim, 3);
    cr_assert_eq(y.shape[2], 4);
    float ref[20];
    for (int t = 0; t < 3; t++) {
        nn_matmul_naive(ref, (float *)a.data + t * 35, b.data, 5, 4, 7);
        cr_assert(relative_error((float *)y.data + t * 20, ref, 20) < 1e-6);
    }
    nerve_array_free(&a);
    nerve_array_free(&b);
    nerve_array_free(&y);
}

Test(kernels, gemm_transposes_and_bias_broadcast)
{
    nerve_rng r;
    nerve_rng_seed(&r, 3);
    int64_t as[2] = { 6, 4 }, bs[2] = { 5, 6 }, cs[1] = { 5 };   /* A^T (4x6) B^T (6x5) */
    nerve_array a, b, bias, y;
    nerve_array_alloc(&a, NERVE_F32, 2, as);
    nerve_array_alloc(&b, NERVE_F32, 2, bs);
    nerve_array_alloc(&bias, NERVE_F32, 1, cs);
    fill(&r, a.data, 24);
    fill(&r, b.data, 30);
    fill(&r, bias.data, 5);
    nerve_attr attrs[4] = { { .name = (char *)"transA", .type = NERVE_ATTR_INT, .i = 1 },
                            { .name = (char *)"transB", .type = NERVE_ATTR_INT, .i = 1 },
                            { .name = (char *)"alpha", .type = NERVE_ATTR_FLOAT, .f = 0.5f },
                            { .name = (char *)"beta", .type = NERVE_ATTR_FLOAT, .f = 2.0f } };
    nerve_node node = { .n_attr = 4, .attr = attrs };
    const nerve_array *in[3] = { &a, &b, &bias };
    cr_assert_eq(run_op("Gemm", &node, in, 3, &y), 0, "%s", nerve_error());
    float at[24], bt[30], ref[20];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++)
            at[j * 6 + i] = ((float *)a.data)[i * 4 + j];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 6; j++)
            bt[j * 5 + i] = ((float *)b.data)[i * 6 + j];
    nn_matmul_naive(ref, at, bt, 4, 5, 6);
    for (int i = 0; i < 20; i++)
        ref[i] = 0.5f * ref[i] + 2.0f * ((float *)bias.data)[i % 5];
    cr_assert(relative_error(y.data, ref, 20) < 1e-6);
    nerve_array_free(&a);
    nerve_array_free(&b);
    nerve_array_free(&bias);
    nerve_array_free(&y);
}

/* ---- bad models and inputs -------------------------------------------- */

static const char *copy_fixture_truncated(const char *rel, double keep)
{
    FILE *f = fopen(fixture(rel), "rb");
    cr_assert(f != NULL);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *path = temp_path("cut.onnx");
    write_bytes(path, buf, (size_t)((double)n * keep));
    return path;
}

Test(bad_model, truncated_or_malformed_protobuf)
{
    nerve_model m;
    const char *path = copy_fixture_truncated("nn/small_cnn.onnx", 0.5);
    cr_assert_eq(nerve_onnx_load(&m, path), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), path) && strstr(nerve_error(), "protobuf"), "%s", nerve_error());
    path = temp_path("junk.onnx");
    write_literal(path, "\xff\xff\xff\xff this is not protobuf");
    cr_assert_eq(nerve_onnx_load(&m, path), NERVE_EINPUT);
    cr_assert_eq(nerve_onnx_load(&m, "/nonexistent/model.onnx"), NERVE_EINPUT);
}

Test(bad_model, unsupported_operator_names_op_node_and_supported_set)
{
    nerve_model m;
    const char *path = "/usr/share/libonnx-testdata/data/node/test_det_2d/model.onnx";
    cr_assert_eq(nerve_onnx_load(&m, path), NERVE_EUNSUPPORTED);
    cr_assert(strstr(nerve_error(), "op 'Det'") && strstr(nerve_error(), "node '") &&
              strstr(nerve_error(), "supported: Add,"), "%s", nerve_error());
    cr_assert_eq(nerve_exit_status(NERVE_EUNSUPPORTED), 2);
}

Test(bad_model, missing_initializer)
{
    /* Rename an initializer (the last place its name appears in the file,
     * after the nodes that read it): the Conv that reads it finds nothing. */
    FILE *f = fopen(fixture("nn/resnet_block.onnx"), "rb");
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *name = "stem.0.weight";
    unsigned char *hit = memmem(buf, n, name, strlen(name));
    cr_assert(hit != NULL);
    unsigned char *last = hit;
    for (unsigned char *p = hit; p; p = memmem(p + 1, n - (size_t)(p + 1 - buf), name, strlen(name)))
        last = p;
    last[0] = 'X';
    const char *path = temp_path("noinit.onnx");
    write_bytes(path, buf, n);
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, path), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "stem.0.weight") && strstr(nerve_error(), "missing initializer"),
              "%s", nerve_error());
}

Test(bad_model, input_shape_that_does_not_fit)
{
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture("nn/small_cnn.onnx")), 0, "%s", nerve_error());
    int64_t shape[4] = { 2, 3, 28, 28 };
    nerve_array x, y;
    nerve_array_alloc(&x, NERVE_F32, 4, shape);
    cr_assert_eq(nerve_nn_run(&m, &x, 1, &y, 1, NULL), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "input 'input' has shape (2, 3, 28, 28), the model expects (?, 1, 28, 28)"),
              "%s", nerve_error());
    nerve_array_free(&x);
    int64_t bad[4] = { 2, 1, 28, 28 };
    nerve_array_alloc(&x, NERVE_I64, 4, bad);
    cr_assert_eq(nerve_nn_run(&m, &x, 1, &y, 1, NULL), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "wants float32"), "%s", nerve_error());
    nerve_array_free(&x);
    nerve_model_free(&m);
}

/* Integer and boolean inputs are fed as int64 (issue 19: token ids, masks);
 * float data for them is refused, and a string input is not run at all. */
Test(bad_model, integer_input_wants_int64_and_string_input_is_unsupported)
{
    nerve_model m;
    const char *path = "/usr/share/libonnx-testdata/data/node/test_add_uint8/model.onnx";
    cr_assert_eq(nerve_onnx_load(&m, path), 0, "%s", nerve_error());
    nerve_array in[2] = { 0 }, y;
    int64_t shape[3] = { 3, 4, 5 };
    nerve_array_alloc(&in[0], NERVE_F32, 3, shape);
    nerve_array_alloc(&in[1], NERVE_F32, 3, shape);
    cr_assert_eq(nerve_nn_run(&m, in, 2, &y, 1, NULL), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "input 'x'") && strstr(nerve_error(), "int64"), "%s", nerve_error());
    nerve_array_free(&in[0]);
    nerve_array_free(&in[1]);
    nerve_model_free(&m);

    path = "/usr/share/libonnx-testdata/data/node/test_cast_STRING_to_FLOAT/model.onnx";
    cr_assert_eq(nerve_onnx_load(&m, path), 0, "%s", nerve_error());
    int64_t two[2] = { 3, 4 };
    nerve_array_alloc(&in[0], NERVE_F32, 2, two);
    cr_assert_eq(nerve_nn_run(&m, in, 1, &y, 1, NULL), NERVE_EUNSUPPORTED);
    cr_assert(strstr(nerve_error(), "ONNX type 8"), "%s", nerve_error());
    nerve_array_free(&in[0]);
    nerve_model_free(&m);
}

Test(model, taps_see_every_node_output_and_intermediates_are_freed)
{
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture("nn/small_cnn.onnx")), 0, "%s", nerve_error());
    nerve_tap_info *taps;
    int count;
    int64_t shape[4] = { 3, 1, 28, 28 };
    cr_assert_eq(nerve_nn_describe(&m, 4, shape, &taps, &count), 0, "%s", nerve_error());
    cr_assert_eq(count, m.n_nodes);
    cr_assert_eq(taps[count - 1].shape[0], 3, "the batch size follows the input shape");
    cr_assert_eq(taps[count - 1].shape[1], 10);
    int layers = 0;
    for (int i = 0; i < count; i++)
        layers += nerve_nn_is_layer_op(m.nodes[taps[i].node].op);
    cr_assert_eq(layers, 7, "Relu x3, MaxPool, AveragePool, Gemm x2 (got %d)", layers);
    free(taps);
    nerve_model_free(&m);
}

Test(loader, float16_and_float64_tensors_become_float32)
{
    const char *names[] = { "nn/tensor_float16.pb", "nn/tensor_float64.pb", "nn/tensor_float64_typed.pb" };
    for (int i = 0; i < 3; i++) {
        nerve_array t;
        cr_assert_eq(nerve_onnx_tensor_read(&t, fixture(names[i])), 0, "%s", nerve_error());
        assert_same_as(&t, fixture("nn/tensor.expect.npy"), 0);
        nerve_array_free(&t);
    }
}

Test(loader, external_data_is_read_from_the_models_folder)
{
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture("nn/external.onnx")), 0, "%s", nerve_error());
    int64_t shape[2] = { 1, 4 };
    nerve_array x, y;
    cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, 2, shape), 0);
    float *xv = x.data;
    for (int i = 0; i < 4; i++)
        xv[i] = (float)(i + 1);
    cr_assert_eq(nerve_nn_run(&m, &x, 1, &y, 1, NULL), 0, "%s", nerve_error());
    const float *yv = y.data;
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(yv[i], 10.0f, 0, "y[%d] = %g: x times a 4 x 4 of ones", i, yv[i]);
    nerve_array_free(&x);
    nerve_array_free(&y);
    nerve_model_free(&m);
}

Test(loader, external_data_outside_the_folder_or_the_file_is_refused)
{
    const struct { const char *file, *says; } cases[] = {
        { "nn/external_outside.onnx", "not a path inside the model's folder" },
        { "nn/external_absolute.onnx", "not a path inside the model's folder" },
        { "nn/external_short.onnx", "truncated data file" },
        { "nn/external_missing.onnx", "cannot be read" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nerve_model m;
        cr_assert_eq(nerve_onnx_load(&m, fixture(cases[i].file)), NERVE_EINPUT, "%s", cases[i].file);
        cr_assert(strstr(nerve_error(), cases[i].says) && strstr(nerve_error(), "tensor 'w'"),
                  "%s: %s", cases[i].file, nerve_error());
    }
}

Test(loader, external_data_in_memory_is_refused)
{
    nerve_storage map;
    cr_assert_eq(nerve_file_map(&map, fixture("nn/external.onnx")), 0);
    nerve_model m;
    cr_assert_eq(nerve_onnx_load_memory(&m, map.base, map.len, "external.onnx"), NERVE_EUNSUPPORTED);
    cr_assert(strstr(nerve_error(), "loaded from a file"), "%s", nerve_error());
    nerve_storage_free(&map);
}

/* Runs the fixture once on its input: the first output. */
static nerve_array run_fixture(nerve_model *m, const char *input)
{
    nerve_array x, y;
    cr_assert_eq(nerve_npy_read(&x, NULL, fixture(input), NERVE_F32), 0, "%s", nerve_error());
    cr_assert_eq(nerve_nn_run(m, &x, 1, &y, 1, NULL), 0, "%s", nerve_error());
    nerve_array_free(&x);
    return y;
}

/* Every float initializer of 4 dimensions (the conv weights) times -1.5. */
static void change_conv_weights(nerve_model *m)
{
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].constant && m->values[v].data.ndim == 4 && m->values[v].data.dtype == NERVE_F32)
            for (int64_t i = 0; i < nerve_array_count(&m->values[v].data); i++)
                ((float *)m->values[v].data.data)[i] *= -1.5f;
    m->weights_version++;
}

/* A Winograd convolution keeps its transformed weights on the node; once
 * the weights change (weights_version moves, as training moves it) they
 * are made again: the run equals a fresh model's with the same weights. */
Test(model, derived_weights_follow_a_change_of_the_weights)
{
    nerve_model used, fresh;
    cr_assert_eq(nerve_onnx_load(&used, fixture("nn/resnet_block.onnx")), 0, "%s", nerve_error());
    cr_assert_eq(nerve_onnx_load(&fresh, fixture("nn/resnet_block.onnx")), 0, "%s", nerve_error());
    nerve_array before = run_fixture(&used, "nn/resnet_block.input.npy");
    int kept = 0;
    for (int k = 0; k < used.n_nodes; k++)
        kept += used.nodes[k].derived != NULL;
    cr_assert_gt(kept, 0, "no node kept Winograd weights: the fixture no longer exercises the cache");
    change_conv_weights(&used);
    change_conv_weights(&fresh);
    nerve_array after = run_fixture(&used, "nn/resnet_block.input.npy"), want = run_fixture(&fresh, "nn/resnet_block.input.npy");
    cr_assert_eq(memcmp(after.data, want.data, (size_t)nerve_array_count(&want) * sizeof(float)), 0,
                 "the run after the change differs from a fresh model's");
    cr_assert_neq(memcmp(after.data, before.data, (size_t)nerve_array_count(&want) * sizeof(float)), 0);
    nerve_array_free(&before);
    nerve_array_free(&after);
    nerve_array_free(&want);
    nerve_model_free(&used);
    nerve_model_free(&fresh);
}
