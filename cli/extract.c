/*
 * extract.c — `nerve extract`: a model's layer activations over a set of
 * inputs, written into a study directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"
#include "cli.h"
#include "options.h"

typedef struct extract_settings {
    nerve_extract_options o;
    cli_channels          mean, std;
} extract_settings;

#define AT(field) CLI_AT(extract_settings, field)
static const cli_option options[] = {
    { CLI_OPT("model", 'm', CLI_STRING, "FILE", "the ONNX model", AT(o.model)) },
    { CLI_OPT("data", 'd', CLI_STRING, "INPUTS", "the inputs", AT(o.data)) },
    { CLI_OPT("out", 'o', CLI_STRING, "DIR", "the study directory", AT(o.out)) },
    { CLI_OPT("layers", 'l', CLI_STRING, "LIST", "all (every activation, pool, Concat and Gemm output)\n"
              "or tap names separated by commas (nerve layers)", AT(o.layers)) },
    { CLI_OPT("mode", 0, CLI_ENUM, "MODE", "how a conv map (C, H, W) becomes vectors:\n"
              "random-position (TopoAct), foreground-position (a\nrandom position where the input differs from a blank\none), max-norm, mean, max, flatten, center, all\n(every position); tokens (T, C): tokens (every one),\ncls (the first), random-token, mean", AT(o.mode)),
      .enumeration = &cli_vector_mode },
    { CLI_OPT("per-input", 0, CLI_INT, "K", "positions per input for random-position", AT(o.per_input)), CLI_MIN(1) },
    { CLI_OPT("batch", 'b', CLI_INT, "N", "inputs per forward pass", AT(o.batch)), CLI_MIN(1) },
    { CLI_OPT("limit", 'n', CLI_INT, "N", "the first N inputs only (0: all)", AT(o.limit)), CLI_MIN(0),
      .default_text = "" },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "seed of the random positions", AT(o.seed)) },
    { CLI_OPT("resize", 0, CLI_INT, "N", "image folders: shorter side to N pixels (bilinear)", AT(o.pp.resize)),
      CLI_MIN(1), .default_text = "" },
    { CLI_OPT("center-crop", 0, CLI_INT, "N", "image folders: center N x N crop", AT(o.pp.crop)), CLI_MIN(1),
      .default_text = "" },
    { CLI_OPT("mean", 0, CLI_CUSTOM, "A,B,C", "subtract per channel (after scaling)", AT(mean)), .parse = cli_parse_mean },
    { CLI_OPT("std", 0, CLI_CUSTOM, "A,B,C", "divide per channel", AT(std)), .parse = cli_parse_std },
    { CLI_OPT("no-scale", 0, CLI_FLAG, NULL, "keep 8-bit data in 0..255 (default: [0,1] as ToTensor)",
              AT(o.pp.no_scale)) },
    { CLI_OPT("labels", 0, CLI_STRING, "FILE", ".npy or IDX inputs: an .npy of N integer labels", AT(o.pp.labels)) },
    { CLI_OPT("class-names", 0, CLI_STRING, "FILE", "the labels' class names, one a line", AT(o.pp.class_names)) },
    { CLI_OPT("attention-mask", 0, CLI_STRING, "FILE", "token ids: an .npy (N, T) of 1 (token) and 0 (padding)\n"
              "for the model's second input (default: all ones)", AT(o.pp.attention_mask)) },
    { CLI_OPT("strict", 0, CLI_FLAG, NULL, "an unreadable image is an error, not a warning", AT(o.pp.strict)) },
    { CLI_OPT("no-sprite", 0, CLI_FLAG, NULL, "no inputs/sprite.png (the viewer's thumbnails)", AT(o.no_sprite)) },
    { 0 },
};
#undef AT

static extract_settings defaults(void)
{
    extract_settings s = { 0 };
    nerve_extract_defaults(&s.o);
    return s;
}

static void extract_help(void)
{
    printf("usage: nerve extract --model MODEL.onnx --data INPUTS [options]\n"
           "\n"
           "Runs the model over the inputs and writes each layer's activations as a point\n"
           "cloud into a study directory:\n"
           "  acts/<layer>.npy             N x C float32 (one row per input, or more)\n"
           "  acts/<layer>.positions.npy   input index, y, x of each row (conv layers)\n"
           "  inputs/labels.npy, predictions.npy, confidence.npy\n"
           "  manifest.json                model, inputs, layers, modes, seed, timings\n"
           "\n"
           "INPUTS is fashion-mnist:train, :test or :all (both, 70,000; Debian's\n"
           "dataset-fashion-mnist), an IDX image file, an .npy array (N, H, W) or\n"
           "(N, C, H, W), or a folder with one sub-folder of images per class (PNG,\n"
           "JPEG, BMP of any size and colour mode: converted to the model's channels as\n"
           "PIL's convert() does, then resized and cropped as the options say).\n"
           "\n");
    extract_settings d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve extract -m cnn.onnx -d fashion-mnist:test -o study\n"
           "  nerve extract -m resnet18.onnx -d images/ --resize 256 --center-crop 224 \\\n"
           "      --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --mode max-norm\n"
           "  nerve extract -m model.onnx -d x.npy --labels y.npy --class-names classes.txt\n");
}

static int extract_run(int argc, char **argv)
{
    extract_settings s = defaults();
    int first, status;
    if (cli_parse(&cli_extract, options, &s, argc, argv, &first, &status) < 0)
        return status;
    if (first < argc)
        return cli_usage_error("extract", "unexpected argument '%s'", argv[first]);
    if (!s.o.model || !s.o.data)
        return cli_usage_error("extract", "--model and --data are required");
    cli_copy_channels(s.o.pp.mean, &s.o.pp.n_mean, &s.mean);
    cli_copy_channels(s.o.pp.std, &s.o.pp.n_std, &s.std);
    nerve_catch_interrupts();
    int rc = nerve_extract(&s.o);
    if (rc < 0)
        return cli_fail(rc);
    if (!nerve_quiet())
        fprintf(stderr, "nerve: extract: wrote %s/manifest.json\n", s.o.out);
    return 0;
}

const cli_command cli_extract = {
    .name = "extract",
    .summary = "run a model over inputs and save each layer's activations as point clouds",
    .run = extract_run,
    .help = extract_help,
};
