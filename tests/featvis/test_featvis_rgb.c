/*
 * test_featvis_rgb.c — feature visualisation of an ImageNet-style model:
 * a tiny 3-channel PyTorch CNN for 224 x 224 images
 * (tests/fixtures/featvis/make_featvis_fixtures.py), with torchvision's
 * normalisation applied inside the optimisation and the colours
 * decorrelated.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "nerve/featvis.h"
#include "../support/support.h"

static const float MEAN[3] = { 0.485f, 0.456f, 0.406f }, STD[3] = { 0.229f, 0.224f, 0.225f };

/* The model runs as PyTorch ran it on the fixture's image, normalised as
 * torchvision does: what the optimisation's inputs go through. */
Test(featvis_rgb, the_model_matches_pytorch)
{
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture("featvis/tiny_rgb.onnx")), 0, "%s", nerve_error());
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 3, 224, 224);
    o.n_mean = 3;
    memcpy(o.mean, MEAN, sizeof MEAN);
    memcpy(o.std, STD, sizeof STD);
    o.steps = 1;
    int layer;
    cr_assert_eq(nerve_featvis_find_layer(&m, "/relu2/Relu_output_0", &layer), 0);
    nerve_array x = { 0 }, expect = { 0 };
    const int64_t shape[4] = { 1, 3, 224, 224 };
    cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, 4, shape), 0);
    float *xd = x.data;
    for (int c = 0; c < 3; c++)
        for (int h = 0; h < 224; h++)
            for (int w = 0; w < 224; w++)
                xd[(c * 224 + h) * 224 + w] = ((float)((c * 7 + h * 3 + w * 5) % 17) / 16.0f - MEAN[c]) / STD[c];
    nerve_tape t;
    cr_assert_eq(nerve_tape_init(&t, &m, 0, 0), 0);
    cr_assert_eq(nerve_tape_forward(&t, &x, 1), 0, "%s", nerve_error());
    cr_assert_eq(nerve_npy_read(&expect, NULL, fixture("featvis/tiny_rgb.relu2_means.npy"), NERVE_F32), 0);
    const float *a = t.val[layer]->data;
    for (int c = 0; c < 16; c++) {
        double s = 0;
        for (int p = 0; p < 28 * 28; p++)
            s += a[c * 784 + p];
        cr_assert_float_eq(s / 784, ((float *)expect.data)[c], 1e-4, "channel %d", c);
    }
    nerve_tape_free(&t);
    nerve_array_free(&x);
    nerve_array_free(&expect);
    nerve_model_free(&m);
}

Test(featvis_rgb, normalised_inside_and_coloured, .timeout = 60)
{
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture("featvis/tiny_rgb.onnx")), 0, "%s", nerve_error());
    int layer;
    cr_assert_eq(nerve_featvis_find_layer(&m, "/relu2/Relu_output_0", &layer), 0);
    nerve_featvis_objective obj[2] = { { .value = layer, .channel = 3 }, { .value = layer, .channel = 11 } };
    nerve_featvis_options o;
    nerve_featvis_defaults(&o, 3, 224, 224);
    o.n_mean = 3;
    memcpy(o.mean, MEAN, sizeof MEAN);
    memcpy(o.std, STD, sizeof STD);
    o.steps = 1;
    nerve_featvis_result first, r;
    cr_assert_eq(nerve_featvis_render(&first, &m, obj, 2, &o), 0, "%s", nerve_error());
    o.steps = 6;
    cr_assert_eq(nerve_featvis_render(&r, &m, obj, 2, &o), 0, "%s", nerve_error());
    const float *img = r.images.data, *in = r.inputs.data;
    double spread = 0;
    for (int64_t i = 0; i < 2; i++) {
        cr_assert_gt(r.value[i], first.value[i], "image %lld: %g after 6 steps, %g after 1", (long long)i,
                     r.value[i], first.value[i]);
        for (int c = 0; c < 3; c++)
            for (int64_t p = 0; p < 224 * 224; p++) {
                int64_t at = (i * 3 + c) * 224 * 224 + p;
                cr_assert_float_eq(in[at], (img[at] - MEAN[c]) / STD[c], 1e-4);
                spread = fmax(spread, fabs(img[at] - img[(i * 3 + (c + 1) % 3) * 224 * 224 + p]));
            }
    }
    cr_assert_gt(spread, 1e-3, "the three channels are the same: no colour");
    nerve_featvis_result_free(&first);
    nerve_featvis_result_free(&r);
    nerve_model_free(&m);
}
