/*
 * extract.c — `nerve extract`: a model's layer activations over a set of
 * inputs, written into a study directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"
#include "cli.h"

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
           "INPUTS is fashion-mnist:train or fashion-mnist:test (Debian's\n"
           "dataset-fashion-mnist), an IDX image file, an .npy array (N, H, W) or\n"
           "(N, C, H, W), or a folder with one sub-folder of images per class (PNG,\n"
           "JPEG, BMP of any size and colour mode: converted to the model's channels as\n"
           "PIL's convert() does, then resized and cropped as the options say).\n"
           "\n"
           "options:\n"
           "  -m, --model FILE       the ONNX model\n"
           "  -d, --data INPUTS      the inputs\n"
           "  -o, --out DIR          the study directory (default: study)\n"
           "  -l, --layers LIST      all (default: every activation, pool, Concat and Gemm\n"
           "                         output) or tap names separated by commas (nerve layers)\n"
           "      --mode MODE        how a conv map (C, H, W) becomes vectors:\n"
           "                         random-position (default; TopoAct), max-norm, mean,\n"
           "                         max, flatten, center, all (every position)\n"
           "      --per-input K      positions per input for random-position (default 1)\n"
           "  -b, --batch N          inputs per forward pass (default 64)\n"
           "  -n, --limit N          the first N inputs only\n"
           "      --seed S           seed of the random positions (default 0)\n"
           "      --resize N         image folders: shorter side to N pixels (bilinear)\n"
           "      --center-crop N    image folders: center N x N crop\n"
           "      --mean A,B,C       subtract per channel (after scaling)\n"
           "      --std A,B,C        divide per channel\n"
           "      --no-scale         keep 8-bit data in 0..255 (default: [0,1] as ToTensor)\n"
           "      --labels FILE      .npy or IDX inputs: an .npy of N integer labels\n"
           "      --class-names FILE the labels' class names, one a line\n"
           "      --strict           an unreadable image is an error, not a warning\n"
           "      --no-sprite        no inputs/sprite.png (the viewer's thumbnails)\n"
           CLI_COMMON_HELP
           "\n"
           "examples:\n"
           "  nerve extract -m cnn.onnx -d fashion-mnist:test -o study\n"
           "  nerve extract -m resnet18.onnx -d images/ --resize 256 --center-crop 224 \\\n"
           "      --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --mode max-norm\n"
           "  nerve extract -m model.onnx -d x.npy --labels y.npy --class-names classes.txt\n");
}

static int parse_floats(const char *s, float *v, int *n)
{
    *n = 0;
    const char *p = s;
    while (*p && *n < 4) {
        char *end;
        v[(*n)++] = strtof(p, &end);
        if (end == p)
            return -1;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return *p || *n == 0 ? -1 : 0;
}

static int extract_run(int argc, char **argv)
{
    enum { OPT_MODE = 1000, OPT_PER_INPUT, OPT_SEED, OPT_RESIZE, OPT_CROP, OPT_MEAN, OPT_STD, OPT_NO_SCALE, OPT_STRICT,
           OPT_NO_SPRITE, OPT_LABELS, OPT_CLASS_NAMES };
    static const struct option options[] = {
        { "model", required_argument, 0, 'm' },   { "data", required_argument, 0, 'd' },
        { "out", required_argument, 0, 'o' },     { "layers", required_argument, 0, 'l' },
        { "mode", required_argument, 0, OPT_MODE }, { "per-input", required_argument, 0, OPT_PER_INPUT },
        { "batch", required_argument, 0, 'b' },   { "limit", required_argument, 0, 'n' },
        { "seed", required_argument, 0, OPT_SEED }, { "resize", required_argument, 0, OPT_RESIZE },
        { "center-crop", required_argument, 0, OPT_CROP }, { "mean", required_argument, 0, OPT_MEAN },
        { "std", required_argument, 0, OPT_STD }, { "no-scale", no_argument, 0, OPT_NO_SCALE },
        { "strict", no_argument, 0, OPT_STRICT }, { "no-sprite", no_argument, 0, OPT_NO_SPRITE },
        { "labels", required_argument, 0, OPT_LABELS }, { "class-names", required_argument, 0, OPT_CLASS_NAMES },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    nerve_extract_options o;
    nerve_extract_defaults(&o);
    int opt, status;
    long v;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":m:d:o:l:b:n:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_extract, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (common)
            continue;
        switch (opt) {
        case 'm': o.model = optarg; break;
        case 'd': o.data = optarg; break;
        case 'o': o.out = optarg; break;
        case 'l': o.layers = optarg; break;
        case OPT_MODE:
            if (nerve_vector_mode_parse(optarg, &o.mode) < 0)
                return cli_usage_error("extract", "unknown --mode '%s' (random-position, max-norm, mean, "
                                       "max, flatten, center, all)", optarg);
            break;
        case OPT_SEED:
            if ((v = cli_parse_count(optarg)) < 0)
                return cli_usage_error("extract", "--seed wants a non-negative integer, not '%s'", optarg);
            o.seed = (uint64_t)v;
            break;
        case OPT_PER_INPUT: case 'b': case 'n': case OPT_RESIZE: case OPT_CROP:
            if ((v = cli_parse_count(optarg)) < (opt == 'n' ? 0 : 1))
                return cli_usage_error("extract", "option '%s' wants a positive count, not '%s'",
                                       argv[optind - 1], optarg);
            if (opt == OPT_PER_INPUT) o.per_input = v;
            else if (opt == 'b') o.batch = v;
            else if (opt == 'n') o.limit = v;
            else if (opt == OPT_RESIZE) o.pp.resize = v;
            else o.pp.crop = v;
            break;
        case OPT_MEAN: case OPT_STD:
            if (parse_floats(optarg, opt == OPT_MEAN ? o.pp.mean : o.pp.std,
                             opt == OPT_MEAN ? &o.pp.n_mean : &o.pp.n_std) < 0)
                return cli_usage_error("extract", "--%s wants 1 to 4 numbers like 0.5,0.5,0.5, not '%s'",
                                       opt == OPT_MEAN ? "mean" : "std", optarg);
            for (int i = 0; opt == OPT_STD && i < o.pp.n_std; i++)
                if (o.pp.std[i] <= 0)
                    return cli_usage_error("extract", "--std values must be positive");
            break;
        case OPT_NO_SCALE: o.pp.no_scale = 1; break;
        case OPT_STRICT: o.pp.strict = 1; break;
        case OPT_NO_SPRITE: o.no_sprite = 1; break;
        case OPT_LABELS: o.pp.labels = optarg; break;
        case OPT_CLASS_NAMES: o.pp.class_names = optarg; break;
        }
    }
    if (optind < argc)
        return cli_usage_error("extract", "unexpected argument '%s'", argv[optind]);
    if (!o.model || !o.data)
        return cli_usage_error("extract", "--model and --data are required");
    if ((status = cli_common_finish()) != 0)
        return status;
    nerve_catch_interrupts();
    int rc = nerve_extract(&o);
    if (rc < 0)
        return cli_fail(rc);
    if (!nerve_quiet())
        fprintf(stderr, "nerve: extract: wrote %s/manifest.json\n", o.out);
    return 0;
}

const cli_command cli_extract = {
    .name = "extract",
    .summary = "run a model over inputs and save each layer's activations as point clouds",
    .run = extract_run,
    .help = extract_help,
};
