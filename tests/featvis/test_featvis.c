/*
 * test_featvis.c — feature visualisation: the separable DFT against its
 * naive twin, the gradients of the parameterisation, the warp, the
 * penalties and the objectives against finite differences, and the
 * optimiser on the fixture CNN (it raises its objective, it is the same at
 * any batch size, it refuses what a layer does not have).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/featvis.h"
#include "../../src/featvis/featvis_internal.h"
#include "../support/support.h"

static void fill_normal(float *x, int64_t n, uint64_t seed, double sd)
{
    nerve_rng r;
    nerve_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(sd * nerve_rng_normal(&r));
}

Test(featvis, separable_dft_matches_its_naive_twin)
{
    const int64_t sizes[][2] = { { 8, 8 }, { 7, 9 }, { 5, 6 }, { 28, 28 } };
    for (int s = 0; s < 4; s++) {
        int64_t H = sizes[s][0], W = sizes[s][1], n = H * (W / 2 + 1) * 2;
        float *coef = malloc(sizeof(float) * (size_t)n), *a = malloc(sizeof(float) * (size_t)(H * W));
        float *b = malloc(sizeof(float) * (size_t)(H * W));
        fill_normal(coef, n, (uint64_t)s, 1);
        cr_assert_eq(featvis_irdft2(a, coef, H, W), 0);
        featvis_irdft2_naive(b, coef, H, W);
        for (int64_t i = 0; i < H * W; i++)
            cr_assert_float_eq(a[i], b[i], 1e-5, "%lldx%lld pixel %lld: %g vs %g", (long long)H, (long long)W,
                               (long long)i, a[i], b[i]);
        free(coef);
        free(a);
        free(b);
    }
}

/* The DFT's backward is its transpose: <irdft(c), g> = <c, irdft^T(g)>. */
Test(featvis, dft_backward_is_the_transpose)
{
    int64_t H = 6, W = 7, n = H * (W / 2 + 1) * 2;
    float coef[6 * 4 * 2], g[42], x[42], dc[6 * 4 * 2];
    fill_normal(coef, n, 1, 1);
    fill_normal(g, H * W, 2, 1);
    featvis_irdft2(x, coef, H, W);
    featvis_irdft2_backward(dc, g, H, W);
    double left = 0, right = 0;
    for (int64_t i = 0; i < H * W; i++)
        left += (double)x[i] * g[i];
    for (int64_t i = 0; i < n; i++)
        right += (double)coef[i] * dc[i];
    cr_assert_float_eq(left, right, 1e-4 * (fabs(left) + 1));
}

/* sum(w * warp(image(param))) and its gradient for the parameters. */
static double chain(const float *param, const float *w, const nerve_featvis_options *o, uint64_t id, int64_t step)
{
    int64_t n = o->channels * o->height * o->width;
    float *img = malloc(sizeof(float) * (size_t)n), *out = malloc(sizeof(float) * (size_t)n);
    nerve_featvis_image(img, param, o);
    nerve_featvis_warp(out, img, id, step, o);
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)w[i] * out[i];
    free(img);
    free(out);
    return s;
}

static void check_chain_gradient(nerve_featvis_options *o)
{
    int64_t np = nerve_featvis_param_count(o), n = o->channels * o->height * o->width;
    float *param = malloc(sizeof(float) * (size_t)np), *dparam = malloc(sizeof(float) * (size_t)np);
    float *w = malloc(sizeof(float) * (size_t)n), *dimg = malloc(sizeof(float) * (size_t)n);
    fill_normal(param, np, 3, 0.3);
    fill_normal(w, n, 4, 1);
    for (int64_t step = 0; step < 3; step++) {
        nerve_featvis_warp_backward(dimg, w, 5, step, o);
        cr_assert_eq(nerve_featvis_image_backward(dparam, param, dimg, o), 0);
        double worst = 0, largest = 0;
        for (int64_t k = 0; k < np; k += 1 + np / 60) {
            float keep = param[k];
            double h = 1e-2;
            param[k] = (float)(keep + h);
            double up = chain(param, w, o, 5, step);
            param[k] = (float)(keep - h);
            double down = chain(param, w, o, 5, step);
            param[k] = keep;
            double fd = (up - down) / (2 * h);
            worst = fmax(worst, fabs(fd - dparam[k]));
            largest = fmax(largest, fabs(fd));
        }
        cr_assert_gt(largest, 0);
        cr_assert_lt(worst, 2e-2 * largest + 1e-4, "step %lld: error %g against largest %g", (long long)step, worst,
                     largest);
    }
    free(param);
    free(dparam);
    free(w);
    free(dimg);
}

Test(featvis, fourier_decorrelated_warp_gradient_matches_finite_differences)
{
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 3, 9, 10);
    o.jitter = 2;
    o.rotate = 20;
    o.scale = 0.1;
    o.seed = 7;
    check_chain_gradient(&o);
}

Test(featvis, pixel_grey_gradient_matches_finite_differences)
{
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 1, 8, 8);
    o.pixels = 1;
    o.jitter = 1;
    check_chain_gradient(&o);
}

static double penalty_value(const float *img, const nerve_featvis_options *o, int64_t n)
{
    float *scratch = calloc((size_t)n, sizeof(float));
    double v = featvis_penalties(scratch, img, o);
    free(scratch);
    return v;
}

Test(featvis, penalty_gradient_matches_finite_differences)
{
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 2, 5, 6);
    o.tv = 0.7;
    o.l2 = 1.3;
    int64_t n = 60;
    float img[60], d[60];
    for (int64_t i = 0; i < n; i++)
        img[i] = (float)(0.5 + 0.4 * sin((double)i * 1.7));
    memset(d, 0, sizeof d);
    featvis_penalties(d, img, &o);
    for (int64_t i = 0; i < n; i++) {
        float keep = img[i];
        img[i] = keep + 1e-3f;
        double up = penalty_value(img, &o, n);
        img[i] = keep - 1e-3f;
        double down = penalty_value(img, &o, n);
        img[i] = keep;
        cr_assert_float_eq((up - down) / 2e-3, d[i], 1e-3, "pixel %lld", (long long)i);
    }
}

/* The direction objective with a cosine power, and the diversity term. */
Test(featvis, objective_gradients_match_finite_differences)
{
    int64_t C = 5, P = 6;
    float act[2][30], dact[2][30], v[5] = { 0.5f, -1, 2, 0.25f, 1 };
    fill_normal(act[0], C * P, 8, 1);
    fill_normal(act[1], C * P, 9, 1);
    for (int i = 0; i < 30; i++)
        act[0][i] = fabsf(act[0][i]) + 0.1f * v[i / P];   /* ReLU-like, with positive cosines */
    nerve_featvis_objective o = { .kind = NERVE_FEATVIS_DIRECTION, .direction = v, .length = C, .cossim_pow = 2 };
    featvis_objective(dact[0], act[0], C, P, P, &o);
    double G[3 * 25], norm[2];
    for (int i = 0; i < C * P; i++) {
        float keep = act[0][i], scratch[30];
        act[0][i] = keep + 1e-3f;
        double up = featvis_objective(scratch, act[0], C, P, P, &o);
        act[0][i] = keep - 1e-3f;
        double down = featvis_objective(scratch, act[0], C, P, P, &o);
        act[0][i] = keep;
        cr_assert_float_eq((up - down) / 2e-3, dact[0][i], 2e-3, "direction, entry %d", i);
    }
    memset(dact, 0, sizeof dact);
    float *d[2] = { dact[0], dact[1] };
    const float *a[2] = { act[0], act[1] };
    featvis_diversity(d, a, 2, C, P, 1.5, G, norm);
    float scratch[2][30];
    float *s[2] = { scratch[0], scratch[1] };
    for (int i = 0; i < C * P; i++) {
        float keep = act[1][i];
        act[1][i] = keep + 1e-3f;
        double up = featvis_diversity(s, a, 2, C, P, 1.5, G, norm);
        act[1][i] = keep - 1e-3f;
        double down = featvis_diversity(s, a, 2, C, P, 1.5, G, norm);
        act[1][i] = keep;
        cr_assert_float_eq((up - down) / 2e-3, dact[1][i], 2e-3, "diversity, entry %d", i);
    }
}

/* ---- the optimiser on the fixture CNN ------------------------------------ */

static nerve_model fixture_model(void)
{
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture("nn/small_cnn.onnx")), 0, "%s", nerve_error());
    return m;
}

Test(featvis, raises_channel_objectives_and_is_the_same_at_any_batch)
{
    nerve_model m = fixture_model();
    int layer;
    cr_assert_eq(nerve_featvis_find_layer(&m, "/relu2/Relu_output_0", &layer), 0);
    nerve_featvis_objective obj[3] = { { .value = layer, .channel = 1 }, { .value = layer, .channel = 4 },
                                       { .value = layer, .channel = 9 } };
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 1, 28, 28);
    o.steps = 1;
    nerve_featvis_result start, end, split;
    cr_assert_eq(nerve_featvis_render(&start, &m, obj, 3, &o), 0, "%s", nerve_error());
    o.steps = 24;
    cr_assert_eq(nerve_featvis_render(&end, &m, obj, 3, &o), 0, "%s", nerve_error());
    o.batch = 2;
    cr_assert_eq(nerve_featvis_render(&split, &m, obj, 3, &o), 0, "%s", nerve_error());
    for (int i = 0; i < 3; i++) {
        cr_assert_gt(end.value[i], 1.2 * start.value[i], "channel %lld: %g after 24 steps, %g after 1",
                     (long long)obj[i].channel, end.value[i], start.value[i]);
        cr_assert(isnan(end.cosine[i]));
    }
    cr_assert_eq(memcmp(end.images.data, split.images.data, sizeof(float) * 3 * 784), 0,
                 "batches of 2 and of 3 gave different images");
    nerve_featvis_result_free(&start);
    nerve_featvis_result_free(&end);
    nerve_featvis_result_free(&split);
    nerve_model_free(&m);
}

/* A ViT's block output (N, 17, 32: a class token and a 4 x 4 grid of
 * patches of its 32 x 32 images): channels over the patch tokens, raised; a neuron at a patch;
 * several objectives at once of a model exported with batch 1 baked into
 * its reshapes (rendered one at a time). */
Test(featvis, raises_a_vit_blocks_channels_over_its_patch_tokens)
{
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture("zoo/vit_two_layers.17.onnx")), 0, "%s", nerve_error());
    int layer;
    cr_assert_eq(nerve_featvis_find_layer(&m, "/encoder/layers/encoder_layer_1/Add_1_output_0", &layer), 0);
    nerve_featvis_objective obj[3] = { { .value = layer, .channel = 0 }, { .value = layer, .channel = 1 },
                                       { .kind = NERVE_FEATVIS_NEURON, .value = layer, .channel = 2, .y = 1, .x = 3 } };
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 3, 32, 32);
    o.steps = 1;
    nerve_featvis_result start, end;
    cr_assert_eq(nerve_featvis_render(&start, &m, obj, 3, &o), 0, "%s", nerve_error());
    o.steps = 48;
    cr_assert_eq(nerve_featvis_render(&end, &m, obj, 3, &o), 0, "%s", nerve_error());
    for (int i = 0; i < 3; i++)
        cr_assert_gt(end.value[i], start.value[i] + 0.5, "objective %d: %g after 48 steps, %g after 1", i,
                     end.value[i], start.value[i]);
    nerve_featvis_result_free(&start);
    nerve_featvis_result_free(&end);
    nerve_featvis_objective outside = { .kind = NERVE_FEATVIS_NEURON, .value = layer, .channel = 0, .y = 4, .x = 0 };
    cr_assert_eq(nerve_featvis_render(&start, &m, &outside, 1, &o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "is 4 x 4, no position (4, 0)"), "%s", nerve_error());
    nerve_model_free(&m);
}

Test(featvis, a_direction_is_reached)
{
    nerve_model m = fixture_model();
    int layer;
    cr_assert_eq(nerve_featvis_find_layer(&m, "/relu2/Relu_output_0", &layer), 0);
    float v[16];
    for (int c = 0; c < 16; c++)
        v[c] = c % 3 == 0 ? 1.0f : 0.1f;
    nerve_featvis_objective obj = { .kind = NERVE_FEATVIS_DIRECTION_AT, .value = layer, .direction = v,
                                    .length = 16, .y = -1, .x = -1, .cossim_pow = 3 };
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 1, 28, 28);
    o.steps = 1;
    nerve_featvis_result start, r;
    cr_assert_eq(nerve_featvis_render(&start, &m, &obj, 1, &o), 0, "%s", nerve_error());
    o.steps = 48;
    cr_assert_eq(nerve_featvis_render(&r, &m, &obj, 1, &o), 0, "%s", nerve_error());
    /* The fixture's weights are PyTorch's random start: a direction is
     * reached only so far (the trained model's figures: bench/featvis_acceptance.sh). */
    cr_assert_gt(r.cosine[0], start.cosine[0] + 0.2, "cosine %g after 48 steps, %g after 1", r.cosine[0],
                 start.cosine[0]);
    nerve_featvis_result_free(&start);
    nerve_featvis_result_free(&r);
    nerve_model_free(&m);
}

Test(featvis, refuses_what_the_layer_does_not_have)
{
    nerve_model m = fixture_model();
    int layer;
    cr_assert_lt(nerve_featvis_find_layer(&m, "relu9", &layer), 0);
    cr_assert(strstr(nerve_error(), "relu9"), "%s", nerve_error());
    cr_assert_eq(nerve_featvis_find_layer(&m, "/relu2/Relu_output_0", &layer), 0);
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 1, 28, 28);
    o.steps = 2;
    nerve_featvis_result r;
    nerve_featvis_objective channel = { .value = layer, .channel = 16 };
    cr_assert_eq(nerve_featvis_render(&r, &m, &channel, 1, &o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "channels 0..15"), "%s", nerve_error());
    float v[15] = { 1 };
    nerve_featvis_objective dir = { .kind = NERVE_FEATVIS_DIRECTION, .value = layer, .direction = v, .length = 15 };
    cr_assert_eq(nerve_featvis_render(&r, &m, &dir, 1, &o), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "16 channels"), "%s", nerve_error());
    /* fc1 lies past the AveragePool's Pad, whose gradient goes back
     * through its index map. */
    cr_assert_eq(nerve_featvis_find_layer(&m, "/fc1/Gemm_output_0", &layer), 0);
    nerve_featvis_objective past_pad = { .value = layer, .channel = 0 };
    cr_assert_eq(nerve_featvis_render(&r, &m, &past_pad, 1, &o), 0, "%s", nerve_error());
    nerve_featvis_result_free(&r);
    nerve_model_free(&m);
    /* A Round (fake quantisation) has no gradient: refused, naming it. */
    cr_assert_eq(nerve_onnx_load(&m, fixture("featvis/tiny_rounded.onnx")), 0, "%s", nerve_error());
    nerve_featvis_defaults(&o, 3, 224, 224);
    o.steps = 1;
    nerve_featvis_objective logit = { .kind = NERVE_FEATVIS_CHANNEL, .value = m.outputs[0], .channel = 0 };
    cr_assert_eq(nerve_featvis_render(&r, &m, &logit, 1, &o), NERVE_EUNSUPPORTED);
    cr_assert(strstr(nerve_error(), "no gradient for Round"), "%s", nerve_error());
    nerve_model_free(&m);
}

/* The tape's switches featvis uses: frozen leaves the weights without
 * gradients, last_node stops the forward pass, and the redirected ReLU
 * changes nothing for an input whose ReLU passes some gradient. */
Test(featvis, tape_switches)
{
    nerve_model m = fixture_model();
    int layer;
    cr_assert_eq(nerve_featvis_find_layer(&m, "/relu2/Relu_output_0", &layer), 0);
    nerve_array x = { 0 }, ones = { 0 }, plain = { 0 };
    const int64_t shape[4] = { 2, 1, 28, 28 };
    cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, 4, shape), 0);
    fill_normal(x.data, 2 * 784, 11, 1);
    for (int redirect = 0; redirect < 2; redirect++) {
        nerve_tape t;
        cr_assert_eq(nerve_tape_init(&t, &m, 0, 0), 0);
        t.input_grads = 1;
        t.frozen = 1;
        t.redirect_relu = redirect;
        t.last_node = m.values[layer].producer;
        cr_assert_eq(nerve_tape_forward(&t, &x, 1), 0, "%s", nerve_error());
        cr_assert_null(t.val[m.outputs[0]], "the forward pass ran past last_node");
        if (!ones.data) {
            cr_assert_eq(nerve_array_alloc(&ones, NERVE_F32, t.val[layer]->ndim, t.val[layer]->shape), 0);
            for (int64_t i = 0; i < nerve_array_count(&ones); i++)
                ((float *)ones.data)[i] = 1;
        }
        cr_assert_eq(nerve_tape_backward(&t, layer, &ones), 0, "%s", nerve_error());
        const nerve_array *dx = &t.grad[m.inputs[0]];
        cr_assert(dx->data);
        for (int v = 0; v < m.n_values; v++)
            cr_assert(!m.values[v].constant || !t.grad[v].data, "frozen, yet %s has a gradient", m.values[v].name);
        if (!redirect) {
            cr_assert_eq(nerve_array_alloc(&plain, NERVE_F32, dx->ndim, dx->shape), 0);
            memcpy(plain.data, dx->data, sizeof(float) * 2 * 784);
        } else
            cr_assert_eq(memcmp(plain.data, dx->data, sizeof(float) * 2 * 784), 0, "the redirect changed a live ReLU");
        nerve_tape_free(&t);
    }
    nerve_array_free(&x);
    nerve_array_free(&ones);
    nerve_array_free(&plain);
    nerve_model_free(&m);
}
