/*
 * run.c — `nerve run`: a complete study in one command (the stages are in
 * src/study/run.c), then a summary table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/serve.h"
#include "nerve/study.h"
#include "cli.h"

static void run_help(void)
{
    printf("usage: nerve run [options]\n"
           "\n"
           "Makes a complete study of a model: with no options, of the built-in\n"
           "cnn-small network (trained on Fashion-MNIST once, with checkpoints, then\n"
           "cached) over the 10,000 Fashion-MNIST test images. Stages, each skipped when\n"
           "its inputs and parameters did not change (so an interrupted run resumes):\n"
           "  extract    every layer (a random position of conv maps, as TopoAct)\n"
           "  mean       every layer with conv maps averaged (DIR/mean)\n"
           "  mapper     every layer's Mapper graph, links between layers\n"
           "  ph         persistence (H0, H1) and layer x layer diagram distances\n"
           "  embed      every layer's t-SNE\n"
           "  sim        layer x layer CKA, SVCCA, PWCCA (also of DIR/mean)\n"
           "  dynamics   each checkpoint's layers against the final model's\n"
           "The study's manifest.json records what was computed, with which parameters\n"
           "and how long it took; a table of every layer's figures ends the run.\n"
           "\n"
           "options:\n"
           "  -m, --model FILE       your ONNX model instead of the built-in one\n"
           "      --checkpoint FILE  your model earlier in training (repeatable), for the\n"
           "                         training-dynamics stage\n"
           "  -d, --data INPUTS      the inputs (default fashion-mnist:test; as nerve extract)\n"
           "  -o, --out DIR          the study directory (default: study)\n"
           "  -n, --limit N          the first N inputs only\n"
           "      --seed S           random positions, t-SNE (default 0)\n"
           "      --force            recompute every stage\n"
           "      --serve            then serve the study's viewer until Ctrl-C (as nerve\n"
           "                         serve); --host, --port as there\n"
           CLI_COMMON_HELP
           "\n"
           "examples:\n"
           "  nerve run                                   # the default study in ./study\n"
           "  nerve run --serve                           # ... and open it in the browser\n"
           "  nerve run -m mine.onnx -d images/ -o mine --checkpoint epoch1.onnx\n");
}

static int run_run(int argc, char **argv)
{
    static const struct option options[] = {
        { "model", required_argument, 0, 'm' },     { "data", required_argument, 0, 'd' },
        { "out", required_argument, 0, 'o' },       { "limit", required_argument, 0, 'n' },
        { "checkpoint", required_argument, 0, 1 },  { "seed", required_argument, 0, 2 },
        { "force", no_argument, 0, 3 },             { "serve", no_argument, 0, 4 },
        { "host", required_argument, 0, 5 },        { "port", required_argument, 0, 6 },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    nerve_study_run_options o;
    nerve_study_run_defaults(&o);
    nerve_serve_options view;
    nerve_serve_defaults(&view);
    int serve = 0, view_options = 0;   /* --serve; --host or --port given */
    const char *checkpoints[NERVE_STUDY_RUN_MAX_CHECKPOINTS];
    int opt, status;
    long v;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":m:d:o:n:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_run, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (common)
            continue;
        switch (opt) {
        case 'm': o.model = optarg; break;
        case 'd': o.data = optarg; break;
        case 'o': o.out = optarg; break;
        case 'n':
            if ((v = cli_parse_count(optarg)) < 1)
                return cli_usage_error("run", "--limit wants a positive count, not '%s'", optarg);
            o.limit = v;
            break;
        case 1:
            if (o.n_checkpoints == NERVE_STUDY_RUN_MAX_CHECKPOINTS)
                return cli_usage_error("run", "at most %d --checkpoint files", NERVE_STUDY_RUN_MAX_CHECKPOINTS);
            checkpoints[o.n_checkpoints++] = optarg;
            break;
        case 2:
            if ((v = cli_parse_count(optarg)) < 0)
                return cli_usage_error("run", "--seed wants a whole number, not '%s'", optarg);
            o.seed = (uint64_t)v;
            break;
        case 3: o.force = 1; break;
        case 4: serve = 1; break;
        case 5: view.host = optarg; view_options = 1; break;
        case 6:
            if ((v = cli_parse_count(optarg)) < 0 || v > 65535)
                return cli_usage_error("run", "--port wants 0 to 65535, not '%s'", optarg);
            view.port = (int)v;
            view_options = 1;
            break;
        default: return cli_usage_error("run", "unexpected option");
        }
    }
    if (optind != argc)
        return cli_usage_error("run", "takes no file arguments (the model is --model, the inputs --data)");
    if (o.n_checkpoints && !o.model)
        return cli_usage_error("run", "--checkpoint goes with --model (the built-in model has its own)");
    if (!serve && view_options)
        return cli_usage_error("run", "--host and --port go with --serve");
    if ((status = cli_common_finish()) != 0)
        return status;
    o.checkpoints = checkpoints;
    nerve_catch_interrupts();
    nerve_study_run_summary sum;
    int rc = nerve_study_run(&o, &sum);
    if (rc < 0)
        return cli_fail(rc);
    nerve_study_summary(o.out, stdout);
    printf("\n");
    for (int i = 0; i < sum.n_stages; i++) {
        printf("%s %s ", i ? "," : "stages:", sum.stages[i].name);
        if (sum.stages[i].skipped)
            printf("(up to date)");
        else
            printf("%.1f s", sum.stages[i].seconds);
    }
    printf("\nstudy %s done in %.1f s; its manifest.json says how\n", o.out, sum.seconds);
    if (!serve)
        return 0;
    view.study = o.out;
    return cli_serve_until_interrupted(&view);
}

const cli_command cli_run = {
    .name = "run",
    .summary = "a complete study of a model: extraction, Mapper, persistence, t-SNE, similarity",
    .run = run_run,
    .help = run_help,
};
