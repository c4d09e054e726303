/*
 * test_zoo.c — the architectures of issue 19 in miniature, built from
 * torchvision's own blocks (tests/fixtures/zoo/make_zoo.py): a MobileNetV3
 * block, ShuffleNetV2 units with their channel shuffle, ConvNeXt blocks, a
 * two-layer ViT and a two-stage Swin, exported at opsets 13 and 17. Every
 * module's output that PyTorch's forward hooks recorded must match nerve's
 * within 1e-4 of the tensor's largest magnitude; and crafted one-node
 * models of the new operators must be refused with an error naming the
 * node, never crash.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "../../src/nn/nn_internal.h"
#include "../support/support.h"

typedef struct expected {
    nerve_npz npz;
    int       checked;
} expected;

static int compare_tap(void *ctx, const nerve_model *m, int value, const nerve_array *t)
{
    expected *e = ctx;
    const char *name = m->values[value].name;
    char member[1024];
    snprintf(member, sizeof member, "%s.npy", name);
    int found = 0;
    for (int64_t i = 0; i < e->npz.count; i++)
        found |= strcmp(e->npz.names[i], member) == 0;
    if (!found)
        return 0;
    nerve_array want;
    cr_assert_eq(nerve_npz_read(&e->npz, member, NERVE_F32, &want, NULL), 0, "%s", nerve_error());
    cr_assert_eq(t->dtype, NERVE_F32, "%s: not a float tensor", name);
    cr_assert_eq(t->ndim, want.ndim, "%s: rank %d, PyTorch %d", name, t->ndim, want.ndim);
    for (int d = 0; d < t->ndim; d++)
        cr_assert_eq(t->shape[d], want.shape[d], "%s: dimension %d", name, d);
    double top = 0, worst = 0;
    int64_t n = nerve_array_count(&want);
    for (int64_t i = 0; i < n; i++)
        top = fmax(top, fabs(((float *)want.data)[i]));
    for (int64_t i = 0; i < n; i++) {
        double g = ((float *)t->data)[i];
        worst = isnan(g) ? INFINITY : fmax(worst, fabs(g - ((float *)want.data)[i]));
    }
    cr_assert(top > 0, "%s: PyTorch's tensor is all zeros, which tests nothing", name);
    cr_assert(worst <= 1e-4 * top, "%s: largest difference %g, %g of the largest magnitude %g", name, worst,
              worst / top, top);
    nerve_array_free(&want);
    e->checked++;
    return 0;
}

/* Runs tests/fixtures/zoo/<name>.onnx; every tap of <name>.taps.npz must be
 * compared (a tap nerve never reports would be a test that cannot fail). */
static void check_model(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "zoo/%s.onnx", name);
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture(rel)), 0, "%s", nerve_error());
    snprintf(rel, sizeof rel, "zoo/%s.input.npy", name);
    nerve_array x, y;
    cr_assert_eq(nerve_npy_read(&x, NULL, fixture(rel), NERVE_F32), 0, "%s", nerve_error());
    expected e = { .checked = 0 };
    snprintf(rel, sizeof rel, "zoo/%s.taps.npz", name);
    cr_assert_eq(nerve_npz_open(&e.npz, fixture(rel)), 0, "%s", nerve_error());
    int *taps = malloc(sizeof *taps * (size_t)m.n_values);
    for (int v = 0; v < m.n_values; v++)
        taps[v] = v;
    nerve_run_options opts = { taps, m.n_values, compare_tap, &e };
    cr_assert_eq(nerve_nn_run(&m, &x, 1, &y, 1, &opts), 0, "%s", nerve_error());
    cr_assert_eq(e.checked, e.npz.count, "%s: %d of %lld taps compared", name, e.checked, (long long)e.npz.count);
    cr_assert_geq(e.checked, 10, "%s: only %d taps", name, e.checked);
    nerve_array_free(&y);
    free(taps);
    nerve_npz_close(&e.npz);
    nerve_array_free(&x);
    nerve_model_free(&m);
}

Test(zoo_parity, mobilenet_v3_block_hardsigmoid_at_13) { check_model("mobilenet_v3_block.13"); }
Test(zoo_parity, mobilenet_v3_block_hardswish_at_17) { check_model("mobilenet_v3_block.17"); }
Test(zoo_parity, shufflenet_channel_shuffle_at_13) { check_model("shufflenet_block.13"); }
Test(zoo_parity, shufflenet_channel_shuffle_at_17) { check_model("shufflenet_block.17"); }
Test(zoo_parity, convnext_block_decomposed_layer_norm_at_13) { check_model("convnext_block.13"); }
Test(zoo_parity, convnext_block_layer_normalization_at_17) { check_model("convnext_block.17"); }
Test(zoo_parity, vit_two_layers_at_13) { check_model("vit_two_layers.13"); }
Test(zoo_parity, vit_two_layers_at_17) { check_model("vit_two_layers.17"); }
Test(zoo_parity, swin_two_stages_shifted_windows_at_17) { check_model("swin_tiny.17"); }

/* ---- hostile one-node models ------------------------------------------- */

/* Loads zoo/hostile/<name>.onnx and runs it on zeros of its declared
 * inputs; returns the first failure's code (0 if both succeed), the output
 * in *y when it succeeds. */
static int load_and_run(const char *name, nerve_array *y)
{
    char rel[256];
    snprintf(rel, sizeof rel, "zoo/hostile/%s.onnx", name);
    nerve_model m;
    int rc = nerve_onnx_load(&m, fixture(rel));
    if (rc < 0)
        return rc;
    nerve_array in[4] = { 0 };
    for (int i = 0; i < m.n_inputs && i < 4 && rc == 0; i++) {
        const nerve_value *v = &m.values[m.inputs[i]];
        int integer = v->elem_type != 1;
        rc = nerve_array_alloc(&in[i], integer ? NERVE_I64 : NERVE_F32, v->ndim, v->shape);
    }
    if (rc == 0)
        rc = nerve_nn_run(&m, in, m.n_inputs, y, 1, NULL);
    for (int i = 0; i < 4; i++)
        nerve_array_free(&in[i]);
    nerve_model_free(&m);
    return rc;
}

/* Refused with `code` and a message that names the node and every fragment. */
static void expect_refused(const char *name, int code, const char *const *fragments)
{
    nerve_array y;
    int rc = load_and_run(name, &y);
    if (rc == 0)
        nerve_array_free(&y);
    cr_assert_eq(rc, code, "%s: expected code %d, got %d: %s", name, code, rc, rc < 0 ? nerve_error() : "(no error)");
    const char *msg = nerve_error();
    cr_expect(strstr(msg, "node 'node' ("), "%s: the message does not name the node: %s", name, msg);
    for (int i = 0; fragments[i]; i++)
        cr_expect(strstr(msg, fragments[i]), "%s: '%s' not in: %s", name, fragments[i], msg);
}

#define REFUSED(name, ...) expect_refused((name), NERVE_EINPUT, (const char *const[]){ __VA_ARGS__, NULL })

Test(zoo_hostile, slice_step_zero_axes_out_of_range_or_twice)
{
    REFUSED("slice_step_zero", "(Slice)", "step 0");
    REFUSED("slice_axis_out_of_range", "(Slice)", "axis 5 is out of range");
    REFUSED("slice_axis_twice", "(Slice)", "sliced twice");
}

/* Starts, ends and steps at int64's extremes are legal: clamped, not
 * overflowed (the sanitizer build checks the arithmetic). */
Test(zoo_hostile, slice_with_int64_extremes_clamps)
{
    nerve_array y;
    cr_assert_eq(load_and_run("slice_extreme_indices", &y), 0, "%s", nerve_error());
    cr_assert_eq(y.ndim, 2);
    cr_expect_eq(y.shape[0], 1, "a step of 2^63 - 1 from 0 takes one row");
    cr_expect_eq(y.shape[1], 1, "a step of -2^63 from the end takes one column");
    nerve_array_free(&y);
}

Test(zoo_hostile, sizes_that_overflow_or_are_negative)
{
    REFUSED("expand_overflow", "(Expand)", "overflow");
    REFUSED("expand_negative", "(Expand)", "shape[0] is -1");
    REFUSED("tile_overflow", "(Tile)", "repeats[0]");
    REFUSED("range_huge", "(Range)", "above the limit");
    REFUSED("range_zero_delta", "(Range)", "no finite length");
    REFUSED("constant_of_shape_huge", "(ConstantOfShape)", "overflow");
    REFUSED("split_bad_sizes", "(Split)", "split[1]");
}

Test(zoo_hostile, axes_types_and_indices_out_of_range)
{
    REFUSED("reduce_axis_out_of_range", "(ReduceMean)", "axis 7 is out of range");
    REFUSED("layer_norm_axis_out_of_range", "(LayerNormalization)", "axis 4 is out of range");
    REFUSED("layer_norm_scale_wrong_size", "(LayerNormalization)", "Scale must hold 3 floats");
    REFUSED("cast_to_unknown_type", "(Cast)", "'to' is 99");
    REFUSED("scatter_nd_index_out_of_range", "(ScatterND)", "index 7 out of range");
    REFUSED("where_shapes_do_not_broadcast", "(Where)", "do not broadcast");
    REFUSED("einsum_bad_equation", "(Einsum)", "equation");
}

Test(zoo_hostile, einsum_too_long_for_the_general_loop_is_refused)
{
    expect_refused("einsum_huge_loop", NERVE_EUNSUPPORTED, (const char *const[]){ "(Einsum)", "too long", NULL });
}

/* ---- the general Einsum against its naive loop -------------------------- */

Test(zoo_ops, einsum_batched_products_match_between_gemm_and_naive_paths)
{
    /* MaxViT's two attention equations, as the GEMM path runs them, against
     * the loop over every letter. */
    const char *equations[] = { "bghij,bghjd->bghid", "bghid,bghjd->bghij", "ij,jk->ki", "bij,bkj->bik" };
    int64_t shapes[][2][5] = {
        { { 1, 3, 2, 4, 5 }, { 1, 3, 2, 5, 6 } }, { { 1, 3, 2, 4, 6 }, { 1, 3, 2, 5, 6 } },
        { { 3, 4 }, { 4, 5 } }, { { 2, 3, 4 }, { 2, 5, 4 } },
    };
    int ranks[] = { 5, 5, 2, 3 };
    nerve_rng r;
    nerve_rng_seed(&r, 7);
    for (int q = 0; q < 4; q++) {
        nerve_array a, b, fast, slow;
        cr_assert_eq(nerve_array_alloc(&a, NERVE_F32, ranks[q], shapes[q][0]), 0);
        cr_assert_eq(nerve_array_alloc(&b, NERVE_F32, ranks[q], shapes[q][1]), 0);
        for (int64_t i = 0; i < nerve_array_count(&a); i++)
            ((float *)a.data)[i] = (float)nerve_rng_normal(&r);
        for (int64_t i = 0; i < nerve_array_count(&b); i++)
            ((float *)b.data)[i] = (float)nerve_rng_normal(&r);
        nerve_attr attr = { .name = (char *)"equation", .type = NERVE_ATTR_STRING, .s = (char *)equations[q] };
        nerve_node node = { .name = (char *)"e", .op = (char *)"Einsum", .attr = &attr, .n_attr = 1 };
        nerve_model model = { .path = (char *)"(test)", .opset = 17 };
        op_context c = { &model, &node, 17, NULL };
        const nerve_array *in[2] = { &a, &b };
        cr_assert_eq(nn_op(nn_op_find("Einsum"))->run(&c, in, 2, &fast, 1), 0, "%s", nerve_error());
        cr_assert_eq(nn_einsum_naive(&c, in, 2, &slow), 0, "%s", nerve_error());
        cr_assert_eq(fast.ndim, slow.ndim, "%s", equations[q]);
        for (int d = 0; d < fast.ndim; d++)
            cr_assert_eq(fast.shape[d], slow.shape[d], "%s: dimension %d", equations[q], d);
        for (int64_t i = 0; i < nerve_array_count(&slow); i++)
            cr_assert(fabsf(((float *)fast.data)[i] - ((float *)slow.data)[i]) < 1e-4f, "%s: element %lld",
                      equations[q], (long long)i);
        nerve_array_free(&a);
        nerve_array_free(&b);
        nerve_array_free(&fast);
        nerve_array_free(&slow);
    }
}

/* Cast to float16 rounds to nearest even at float16's precision, its
 * subnormals included, and overflows to infinity past 65504 (values a
 * conformance tolerance of 1e-3 would not tell apart). */
Test(zoo_ops, cast_to_float16_rounds_as_float16_does)
{
    const float in[] = { 1 + 0x1p-11f, 1 + 3 * 0x1p-11f, 65519, 65520, 0x1p-25f, 3 * 0x1p-25f, -2.5f, 1e-8f };
    const float want[] = { 1, 1 + 0x1p-9f, 65504, INFINITY, 0, 0x1p-23f, -2.5f, 0 };
    int64_t n = 8;
    nerve_array x, y;
    cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, 1, &n), 0);
    memcpy(x.data, in, sizeof in);
    nerve_attr attr = { .name = (char *)"to", .type = NERVE_ATTR_INT, .i = 10 };   /* FLOAT16 */
    nerve_node node = { .name = (char *)"c", .op = (char *)"Cast", .attr = &attr, .n_attr = 1 };
    nerve_model model = { .path = (char *)"(test)", .opset = 17 };
    op_context c = { &model, &node, 17, NULL };
    const nerve_array *inputs[1] = { &x };
    cr_assert_eq(nn_op(nn_op_find("Cast"))->run(&c, inputs, 1, &y, 1), 0, "%s", nerve_error());
    for (int i = 0; i < 8; i++)
        cr_expect_eq(((float *)y.data)[i], want[i], "%a became %a, expected %a", (double)in[i],
                     (double)((float *)y.data)[i], (double)want[i]);
    nerve_array_free(&x);
    nerve_array_free(&y);
}
