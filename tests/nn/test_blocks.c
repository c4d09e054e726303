/*
 * test_blocks.c — a transformer's outline: blocks found from the module
 * paths torch.onnx.export writes into node names, each shown by its output
 * (`nerve layers`), every tap with --all.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "nerve/nn.h"
#include "../support/support.h"

Test(blocks, a_node_belongs_to_its_first_numbered_module)
{
    struct { const char *node, *block; } cases[] = {
        { "/encoder/layers/encoder_layer_3/mlp/mlp.0/MatMul", "/encoder/layers/encoder_layer_3" },
        { "/encoder/layers.1/self_attn/Softmax", "/encoder/layers.1" },
        { "/features/features.4/features.4.0/Conv", "/features/features.4" },
        { "/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0" },   /* "layer1" is a name, not a numbered module */
        { "/encoder/ln/LayerNormalization", "" },
        { "/Concat_3", "" },                                      /* a node's own number is not a module */
        { "relu1", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char block[160];
        int in = nerve_nn_block_of(cases[i].node, block, sizeof block);
        cr_expect_eq(in, cases[i].block[0] != 0, "%s", cases[i].node);
        cr_expect_str_eq(block, cases[i].block, "%s", cases[i].node);
    }
}

Test(blocks, layers_outlines_a_vit_by_blocks_and_all_lists_every_tap)
{
    const char *out, *err;
    char model[4096];
    snprintf(model, sizeof model, "%s", fixture("zoo/vit_two_layers.17.onnx"));
    int status = run_nerve((const char *[]){ "layers", model, NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    /* each encoder layer once, by its residual Add, marked as extracted */
    cr_assert(strstr(out, "* 72   /encoder/layers/encoder_layer_0/Add_1_output_0"), "%s", out);
    cr_assert(strstr(out, "/encoder/layers/encoder_layer_1 (57 taps)"), "%s", out);
    cr_assert(!strstr(out, "Softmax") && !strstr(out, "Constant "), "%s", out);
    cr_assert(strstr(out, "2 blocks and"), "%s", out);
    status = run_nerve((const char *[]){ "layers", "--all", model, NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "self_attention/Softmax_output_0") && strstr(out, "132 taps"), "%s", out);
    /* a convnet stays a line per tap */
    snprintf(model, sizeof model, "%s", fixture("nn/small_cnn.onnx"));
    status = run_nerve((const char *[]){ "layers", model, NULL }, &out, &err);
    cr_assert_eq(status, 0, "%s", err);
    cr_assert(strstr(out, "/bn1/BatchNormalization_output_0") && strstr(out, "15 taps"), "%s", out);
}
