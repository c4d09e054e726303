/*
 * test_hostile_onnx.c — crafted models (issue 15, rows 1-4): kernels larger
 * than their weights, omitted inputs, pads asking for gigabytes, shapes
 * multiplying past int64. Each must be refused with an error that names the
 * node, at load when the graph alone shows the problem, else when run; the
 * models come from tests/fixtures/hostile/make_onnx.py.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "../support/support.h"

static const char *model_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s", fixture("hostile/onnx/"));
    strncat(path, name, sizeof path - strlen(path) - 1);
    strncat(path, ".onnx", sizeof path - strlen(path) - 1);
    return path;
}

/* Loads and runs the model once on zeros of its declared input shape;
 * returns the first failure's code (0 if both succeed). *stage says which. */
static int load_and_run(const char *name, const char **stage)
{
    nerve_model m;
    *stage = "load";
    int rc = nerve_onnx_load(&m, model_path(name));
    if (rc < 0)
        return rc;
    *stage = "run";
    nerve_tap_info *taps = NULL;
    int count = 0;
    rc = nerve_nn_describe(&m, 0, NULL, &taps, &count);
    free(taps);
    nerve_model_free(&m);
    return rc;
}

static int load_and_run_code(const char *name)
{
    const char *stage;
    return load_and_run(name, &stage);
}

/* The model must be refused as bad input (never a crash, never a success)
 * at the given stage, with every one of the fragments in the message. */
static void expect_refused(const char *name, const char *stage, const char *const *fragments)
{
    const char *at = NULL;
    int rc = load_and_run(name, &at);
    cr_assert_eq(rc, NERVE_EINPUT, "%s: expected NERVE_EINPUT, got %d at %s: %s", name, rc, at,
                 rc < 0 ? nerve_error() : "(no error)");
    cr_expect_str_eq(at, stage, "%s: refused at %s, expected at %s: %s", name, at, stage, nerve_error());
    /* The message names the file first; the fragments are looked for after
     * it (the file names themselves say "overflow", "pads"...). */
    const char *path = model_path(name), *msg = nerve_error();
    cr_assert(strncmp(msg, path, strlen(path)) == 0, "%s: the message does not start with the file: %s", name, msg);
    for (int i = 0; fragments[i]; i++)
        cr_expect(strstr(msg + strlen(path), fragments[i]), "%s: '%s' not in: %s", name, fragments[i], msg);
}

#define REFUSED(name, stage, ...) expect_refused((name), (stage), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- row 1: kernel_shape larger than W -------------------------------------- */

Test(hostile_onnx, conv_kernel_larger_than_weights_refused_at_load)
{
    REFUSED("conv_kernel_64", "load", "node 'conv' (Conv)", "kernel_shape (64, 64)", "(1, 1, 1, 1)");
    REFUSED("conv_kernel_4096", "load", "node 'conv' (Conv)", "kernel_shape (4096, 4096)");
}

Test(hostile_onnx, conv_kernel_larger_than_computed_weights_refused_at_run)
{
    REFUSED("conv_kernel_computed_w", "run", "node 'conv' (Conv)", "kernel_shape (64, 64)", "(1, 1, 1, 1)");
}

/* ---- row 2: omitted inputs ----------------------------------------------------- */

Test(hostile_onnx, concat_with_an_empty_input_name_refused)
{
    REFUSED("concat_empty_input", "load", "node 'concat' (Concat)", "input 2 is missing");
}

Test(hostile_onnx, conv_without_weights_refused)
{
    REFUSED("conv_missing_w", "load", "node 'conv' (Conv)", "input 2 is missing");
}

Test(hostile_onnx, outputs_an_operator_does_not_make_refused)
{
    REFUSED("relu_extra_output", "load", "node 'relu' (Relu)", "has 2 outputs; Relu gives 1 to 1");
    cr_assert_eq(load_and_run_code("batchnorm_unmade_output"), NERVE_EUNSUPPORTED, "%s", nerve_error());
    cr_expect(strstr(nerve_error(), "node 'bn' (BatchNormalization): output 2 ('mean') is read"), "%s", nerve_error());
}

Test(hostile_onnx, more_inputs_than_the_operator_takes_refused)
{
    REFUSED("relu_two_inputs", "load", "node 'relu' (Relu)", "has 2 inputs; Relu at opset 13 takes 1 to 1");
}

/* Not hostile, but protobuf-c leaves empty lists and strings NULL: the
 * copies must not pass NULL to memcpy (UBSan in the sanitizer build). */
Test(hostile_onnx, empty_attribute_lists_and_strings_load)
{
    cr_assert_eq(load_and_run_code("empty_attributes"), 0, "%s", nerve_error());
}

Test(hostile_onnx, undefined_input_name_refused)
{
    REFUSED("undefined_input", "load", "node 'relu' (Relu)", "'nothing'");
}

/* ---- row 3: sizes bounded, attributes in range ---------------------------------- */

Test(hostile_onnx, conv_pads_of_30000_refused_before_allocating)
{
    REFUSED("conv_pads_30000", "run", "node 'conv' (Conv)", "(1, 1, 60008, 60008)", "limit");
}

Test(hostile_onnx, pad_of_30000_refused_before_allocating)
{
    REFUSED("pad_30000", "run", "node 'pad' (Pad)", "(1, 1, 60008, 60008)", "limit");
}

Test(hostile_onnx, pad_near_int64_max_refused)
{
    REFUSED("pad_int64_max", "run", "node 'pad' (Pad)", "overflow int64");
}

Test(hostile_onnx, window_attributes_out_of_range_refused_at_load)
{
    REFUSED("conv_negative_pads", "load", "node 'conv' (Conv)", "pads[0] is -5");
    REFUSED("conv_stride_0", "load", "node 'conv' (Conv)", "strides[0] is 0");
    REFUSED("conv_dilation_huge", "load", "node 'conv' (Conv)", "dilations[0] is 4611686018427387904");
    REFUSED("maxpool_kernel_0", "load", "node 'pool' (MaxPool)", "kernel_shape[0] is 0");
}

Test(hostile_onnx, conv_groups_that_do_not_divide_refused_at_load)
{
    REFUSED("conv_group_0", "load", "node 'conv' (Conv)", "group is 0");
    REFUSED("conv_group_mismatch", "load", "node 'conv' (Conv)", "group 3 does not divide");
}

/* ---- row 4: shape arithmetic overflow-checked ------------------------------------ */

Test(hostile_onnx, reshape_whose_shape_overflows_refused)
{
    REFUSED("reshape_overflow", "run", "node 'reshape' (Reshape)", "multiply past int64");
}

Test(hostile_onnx, reshape_to_zero_elements_of_huge_dims_refused)
{
    REFUSED("reshape_zero_huge", "run", "node 'reshape' (Reshape)", "(0, 1099511627776, 1099511627776)");
}

Test(hostile_onnx, reshape_with_two_inferred_dims_refused_at_load)
{
    REFUSED("reshape_two_inferred", "load", "node 'reshape' (Reshape)", "two -1 dimensions");
}

Test(hostile_onnx, initializer_with_overflowing_dims_refused_at_load)
{
    REFUSED("initializer_huge_dims", "load", "tensor 'B' (0, 1099511627776, 1099511627776)");
}

/* ---- the per-tensor limit --------------------------------------------------------- */

Test(hostile_onnx, tensor_limit_can_be_lowered_and_names_itself)
{
    size_t old = nerve_nn_tensor_limit();
    cr_assert_gt(old, (size_t)1 << 30, "the default limit must let real models run");
    nerve_nn_set_tensor_limit(1000);
    const char *at;
    int rc = load_and_run("conv_kernel_computed_w", &at);   /* X alone is 64 x 64 floats */
    nerve_nn_set_tensor_limit(old);
    cr_assert_eq(rc, NERVE_EINPUT);
    cr_expect(strstr(nerve_error(), "1000 bytes"), "%s", nerve_error());
}

/* ---- loading from memory: the fuzzers' entry point -------------------------------- */

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    void *data = malloc(*len + 1);
    cr_assert(fread(data, 1, *len, f) == *len);
    fclose(f);
    return data;
}

Test(hostile_onnx, load_memory_runs_the_same_checks_as_the_file_loader)
{
    size_t len;
    void *data = slurp(model_path("concat_empty_input"), &len);
    nerve_model m;
    int rc = nerve_onnx_load_memory(&m, data, len, "buffer.onnx");
    cr_expect_eq(rc, NERVE_EINPUT);
    cr_expect(strstr(nerve_error(), "buffer.onnx: node 'concat' (Concat): input 2 is missing"), "%s", nerve_error());
    /* Every prefix of a valid model either loads or is refused; none crashes. */
    free(data);
    data = slurp(fixture("nn/small_cnn.onnx"), &len);
    for (size_t cut = 0; cut < len; cut += 1 + cut / 8) {
        if ((rc = nerve_onnx_load_memory(&m, data, cut, "prefix")) == 0)
            nerve_model_free(&m);
        else
            cr_expect(rc == NERVE_EINPUT || rc == NERVE_EUNSUPPORTED, "cut %zu: %d %s", cut, rc, nerve_error());
    }
    rc = nerve_onnx_load_memory(&m, data, len, "small_cnn");
    cr_assert_eq(rc, 0, "%s", nerve_error());
    nerve_tap_info *taps = NULL;
    int count = 0;
    cr_expect_eq(nerve_nn_describe(&m, 0, NULL, &taps, &count), 0, "%s", nerve_error());
    cr_expect_gt(count, 0);
    free(taps);
    nerve_model_free(&m);
    free(data);
}

/* ---- the command line: exit status 2, never a signal ------------------------------ */

Test(hostile_onnx, nerve_layers_exits_2_on_each_hostile_model)
{
    static const char *names[] = {
        "conv_kernel_64", "conv_kernel_4096", "conv_kernel_computed_w", "concat_empty_input",
        "conv_pads_30000", "pad_30000", "reshape_overflow", "reshape_zero_huge", "relu_extra_output",
        "batchnorm_unmade_output",
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *out, *err;
        const char *args[] = { "layers", model_path(names[i]), NULL };
        int status = run_nerve(args, &out, &err);
        cr_expect_eq(status, 2, "%s: exit %d, stderr: %s", names[i], status, err);
        cr_expect(strstr(err, "nerve: error: "), "%s: %s", names[i], err);
    }
}
