/*
 * layers.c — `nerve layers MODEL.onnx`: every tap of a model (every node
 * output) with its operator, output shape and parameter count; a
 * transformer a line per block (nerve_nn_block_rows) unless --all.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "cli.h"
#include "options.h"

typedef struct input_shape {
    int64_t dims[NERVE_MAX_DIMS];
    int     ndim;                 /* 0: as the model declares */
} input_shape;

typedef struct layers_settings {
    input_shape shape;
    int         json, ops, all;
} layers_settings;

static int parse_input_shape(void *field, const char *arg, const char **why)
{
    input_shape *s = field;
    *why = "sizes like 1,3,224,224";
    return cli_parse_shape(arg, s->dims, &s->ndim);
}

#define AT(field) CLI_AT(layers_settings, field)
static const cli_option options[] = {
    { CLI_OPT("input-shape", 's', CLI_CUSTOM, "DIMS", "shape of the first input, e.g. 1,3,224,224", AT(shape)),
      .parse = parse_input_shape, .default_text = "as declared, symbolic sizes set to 1" },
    { CLI_OPT("all", 'a', CLI_FLAG, NULL, "every tap, also of a transformer's blocks", AT(all)) },
    { CLI_OPT("json", 'j', CLI_FLAG, NULL, "one JSON object on stdout (each tap with its block)",
              AT(json)) },
    { CLI_OPT("ops", 0, CLI_FLAG, NULL, "list the operators nerve runs and exit", AT(ops)) },
    { 0 },
};
#undef AT

static void layers_help(void)
{
    printf("usage: nerve layers [options] MODEL.onnx\n"
           "\n"
           "Lists every tap of an ONNX model — every node output, in execution order —\n"
           "with its operator, output shape and the parameters of its node. Shapes come\n"
           "from running the model once on zeros. Taps marked * are the layers\n"
           "`nerve extract --layers all` takes (activations, pools, Concat, Gemm, a\n"
           "transformer's block outputs). A transformer (a model with token outputs,\n"
           "(N, T, C)) is shown a line per block, by the block's output: a block is\n"
           "the module path up to its first numbered module (encoder_layer_3,\n"
           "layers.1); --all shows every tap.\n"
           "\n");
    cli_print_options(options, NULL);
    printf("\n"
           "examples:\n"
           "  nerve layers resnet18.onnx --input-shape 1,3,224,224\n"
           "  nerve layers --json model.onnx | jq '.taps[] | select(.layer) | .name'\n");
}

static void shape_text(char *out, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = 0;
    out[0] = '\0';
    for (int d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(out + n, cap - n, d ? " x %lld" : "%lld", (long long)shape[d]);
    if (ndim == 0)
        snprintf(out, cap, "scalar");
}

/* The layers extract --layers all takes: the layer ops and a
 * transformer's block outputs. */
static int extracted(const nerve_model *m, const nerve_tap_info *t, int block_output)
{
    return nerve_nn_is_layer_op(m->nodes[t->node].op) || (block_output && nerve_nn_tap_is_tokens(m, t));
}

/* One line per block and per tap outside blocks. */
static int print_outline(const nerve_model *m, const nerve_tap_info *taps, int count)
{
    nerve_block_row *rows;
    int n;
    int rc = nerve_nn_block_rows(m, taps, count, &rows, &n);
    if (rc < 0)
        return rc;
    int wname = 4, blocks = 0;
    for (int i = 0; i < n; i++) {
        int ln = (int)strlen(m->values[taps[rows[i].tap].value].name);
        wname = ln > wname ? ln : wname;
    }
    wname = wname > 60 ? 60 : wname;
    int64_t total = 0;
    printf("%s: %d nodes, opset %lld, producer '%s'\n\n", m->path, m->n_nodes, (long long)m->opset,
           m->producer);
    printf("  %-4s %-*s  %-18s  %-22s %12s  %s\n", "#", wname, "name", "op", "output shape", "params", "block");
    for (int i = 0; i < n; i++) {
        const nerve_tap_info *t = &taps[rows[i].tap];
        char shape[256], block[200] = "";
        shape_text(shape, sizeof shape, t->ndim, t->shape);
        if (rows[i].block[0]) {
            snprintf(block, sizeof block, "%s (%d taps)", rows[i].block, rows[i].n_taps);
            blocks++;
        }
        printf("%c %-4d %-*s  %-18s  %-22s %12lld  %s\n", extracted(m, t, rows[i].block[0] != 0) ? '*' : ' ',
               rows[i].tap + 1, wname, m->values[t->value].name, m->nodes[t->node].op, shape,
               (long long)rows[i].params, block);
    }
    for (int i = 0; i < count; i++)
        total += taps[i].params;
    printf("\n%d blocks and %d other taps of %d (--all lists every tap), %lld parameters\n", blocks, n - blocks,
           count, (long long)total);
    free(rows);
    return 0;
}

/* Whether a model is shown by blocks: one with token outputs. */
static int is_transformer(const nerve_model *m, const nerve_tap_info *taps, int count)
{
    for (int i = 0; i < count; i++)
        if (nerve_nn_tap_is_tokens(m, &taps[i]) && strcmp(m->nodes[taps[i].node].op, "Constant") != 0)
            return 1;
    return 0;
}

static int print_table(const nerve_model *m, const nerve_tap_info *taps, int count)
{
    int *block_output = malloc(((size_t)count + 1) * sizeof *block_output);
    if (!block_output)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    nerve_nn_block_outputs(m, taps, count, block_output);
    int wname = 4, wop = 2;
    for (int i = 0; i < count; i++) {
        int ln = (int)strlen(m->values[taps[i].value].name), lo = (int)strlen(m->nodes[taps[i].node].op);
        wname = ln > wname ? ln : wname;
        wop = lo > wop ? lo : wop;
    }
    wname = wname > 60 ? 60 : wname;
    int64_t total = 0;
    printf("%s: %d nodes, opset %lld, producer '%s'\n\n", m->path, m->n_nodes, (long long)m->opset,
           m->producer);
    printf("  %-4s %-*s  %-*s  %-22s %12s\n", "#", wname, "name", wop, "op", "output shape", "params");
    for (int i = 0; i < count; i++) {
        const nerve_node *n = &m->nodes[taps[i].node];
        char shape[256];
        shape_text(shape, sizeof shape, taps[i].ndim, taps[i].shape);
        int mark = extracted(m, &taps[i], block_output[i]);
        printf("%c %-4d %-*s  %-*s  %-22s %12lld\n", mark ? '*' : ' ', i + 1, wname, m->values[taps[i].value].name,
               wop, n->op, shape, (long long)taps[i].params);
        total += taps[i].params;
    }
    free(block_output);
    printf("\n%d taps, %lld parameters\n", count, (long long)total);
    return 0;
}

static int print_json(const nerve_model *m, const nerve_tap_info *taps, int count)
{
    int *block_output = malloc(((size_t)count + 1) * sizeof *block_output);
    if (!block_output)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    nerve_nn_block_outputs(m, taps, count, block_output);
    json_t *list = json_array();
    for (int i = 0; i < count; i++) {
        const nerve_node *n = &m->nodes[taps[i].node];
        json_t *shape = json_array();
        for (int d = 0; d < taps[i].ndim; d++)
            json_array_append_new(shape, json_integer(taps[i].shape[d]));
        char block[160];
        int in_block = nerve_nn_block_of(n->name, block, sizeof block);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o, s:I, s:b, s:s?, s:b}",
                                              "name", m->values[taps[i].value].name, "node", n->name,
                                              "op", n->op, "shape", shape, "params", (json_int_t)taps[i].params,
                                              "layer", extracted(m, &taps[i], block_output[i]),
                                              "block", in_block ? block : NULL, "block_output", block_output[i]));
    }
    free(block_output);
    json_t *root = json_pack("{s:s, s:I, s:s, s:o}", "model", m->path, "opset", (json_int_t)m->opset,
                             "producer", m->producer, "taps", list);
    json_dumpf(root, stdout, JSON_INDENT(2));
    printf("\n");
    json_decref(root);
    return 0;
}

static int layers_run(int argc, char **argv)
{
    layers_settings set = { 0 };
    int first, status;
    if (cli_parse(&cli_layers, options, &set, argc, argv, &first, &status) < 0)
        return status;
    if (set.ops) {
        printf("%s\n", nerve_nn_supported_ops());
        return 0;
    }
    if (first != argc - 1)
        return cli_usage_error("layers", first >= argc ? "no MODEL given" : "one MODEL at a time");

    nerve_model m;
    int rc = nerve_onnx_load(&m, argv[first]);
    if (rc < 0)
        return cli_fail(rc);
    nerve_tap_info *taps;
    int count;
    rc = nerve_nn_describe(&m, set.shape.ndim, set.shape.ndim ? set.shape.dims : NULL, &taps, &count);
    if (rc == 0) {
        if (set.json)
            rc = print_json(&m, taps, count);
        else if (!set.all && is_transformer(&m, taps, count))
            rc = print_outline(&m, taps, count);
        else
            rc = print_table(&m, taps, count);
        free(taps);
    }
    nerve_model_free(&m);
    return rc < 0 ? cli_fail(rc) : 0;
}

const cli_command cli_layers = {
    .name = "layers",
    .summary = "list an ONNX model's taps: name, op, output shape, parameters",
    .run = layers_run,
    .help = layers_help,
};
