/*
 * test_layer_names.c — the names people read for layers: PyTorch exporter
 * names shortened to their module path, the exporter's own and nerve's
 * names kept readable, collisions resolved by keeping more, deterministic.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "nerve/study.h"

/* Asserts that taps display as expect (n each). */
static void assert_names(const char *const *taps, const char *const *expect, int n)
{
    char **got;
    cr_assert_eq(nerve_layer_display_names(&got, taps, n), 0, "%s", nerve_error());
    for (int i = 0; i < n; i++)
        cr_expect_str_eq(got[i], expect[i], "%s", taps[i]);
    nerve_layer_display_names_free(got, n);
}

Test(layer_names, torchvision_resnet)
{
    const char *taps[] = { "/relu/Relu_output_0", "/maxpool/MaxPool_output_0",
                           "/layer1/layer1.0/relu/Relu_output_0", "/layer1/layer1.0/relu_1/Relu_output_0",
                           "/layer4/layer4.1/relu_1/Relu_output_0", "/avgpool/GlobalAveragePool_output_0",
                           "/Flatten_output_0", "/fc/Gemm_output_0" };
    const char *expect[] = { "relu", "maxpool", "layer1.0.relu", "layer1.0.relu_1", "layer4.1.relu_1", "avgpool",
                             "Flatten", "fc" };
    assert_names(taps, expect, 8);
}

Test(layer_names, pytorch_sequential_and_timm)
{
    const char *taps[] = { "/features/features.0/Conv_output_0", "/features/features.1/Relu_output_0",
                           "/stages/stages.0/blocks/blocks.0/conv_dw/Conv_output_0", "/classifier/classifier.6/Gemm_output_0" };
    const char *expect[] = { "features.0", "features.1", "stages.0.blocks.0.conv_dw", "classifier.6" };
    assert_names(taps, expect, 4);
}

Test(layer_names, exporter_and_own_names)
{
    const char *taps[] = { "onnx::Conv_123", "relu1", "pool2", "fc1", "input.4", "123", "onnx::" };
    const char *expect[] = { "Conv_123", "relu1", "pool2", "fc1", "input.4", "123", "onnx::" };
    assert_names(taps, expect, 7);
}

/* Two ops directly in one module read the same: both keep their op. */
Test(layer_names, collisions_keep_the_op)
{
    const char *taps[] = { "/layer1/layer1.0/Add_output_0", "/layer1/layer1.0/Mul_output_0",
                           "/layer1/layer1.0/relu/Relu_output_0", "/Split_output_0", "/Split_output_1" };
    const char *expect[] = { "layer1.0.Add", "layer1.0.Mul", "layer1.0.relu", "Split", "Split:1" };
    assert_names(taps, expect, 5);
}

/* A short name that is another layer's whole name: the longer one keeps more. */
Test(layer_names, collisions_with_a_plain_name)
{
    const char *taps[] = { "relu1", "/relu1/Relu_output_0", "onnx::relu1" };
    char **got;
    cr_assert_eq(nerve_layer_display_names(&got, taps, 3), 0);
    cr_expect_str_eq(got[0], "relu1");
    cr_expect_str_eq(got[1], "relu1.Relu");
    cr_expect_str_eq(got[2], "onnx::relu1");
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            cr_expect_str_neq(got[i], got[j]);
    nerve_layer_display_names_free(got, 3);
}

/* The same taps in the same order give the same names; none is empty. */
Test(layer_names, deterministic_and_unique)
{
    const char *taps[] = { "/a/b/Relu_output_0", "/a/b/Relu_output_0x", "/a.b/Relu_output_0", "a.b", "", "/", "//",
                           "/x//y/Conv_output_0", "/x/y/Conv_output_0" };
    int n = 9;
    char **one, **two;
    cr_assert_eq(nerve_layer_display_names(&one, taps, n), 0);
    cr_assert_eq(nerve_layer_display_names(&two, taps, n), 0);
    for (int i = 0; i < n; i++) {
        cr_expect_str_eq(one[i], two[i]);
        for (int j = i + 1; j < n; j++)
            cr_expect_str_neq(one[i], one[j], "taps %d and %d", i, j);
    }
    nerve_layer_display_names_free(one, n);
    nerve_layer_display_names_free(two, n);
}

/* The manifest keeps the tap name and gains "display"; one it records wins. */
Test(layer_names, manifest_display)
{
    json_t *m = json_pack("{s:[{s:s}, {s:s, s:s}]}", "layers", "name", "/layer4/layer4.1/relu_1/Relu_output_0", "name",
                          "/fc/Gemm_output_0", "display", "classifier");
    cr_assert_eq(nerve_study_display_names(m), 0);
    json_t *l0 = json_array_get(json_object_get(m, "layers"), 0), *l1 = json_array_get(json_object_get(m, "layers"), 1);
    cr_expect_str_eq(json_string_value(json_object_get(l0, "display")), "layer4.1.relu_1");
    cr_expect_str_eq(json_string_value(json_object_get(l0, "name")), "/layer4/layer4.1/relu_1/Relu_output_0");
    cr_expect_str_eq(json_string_value(json_object_get(l1, "display")), "classifier");
    json_decref(m);
}
