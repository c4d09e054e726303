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
#include "options.h"

typedef struct run_settings {
    nerve_study_run_options o;
    cli_strings             checkpoints;
    int                     serve;
    const char             *host;
    int64_t                 port;
    int                     view_given;   /* --host or --port */
} run_settings;

#define AT(field) CLI_AT(run_settings, field)
static const cli_option options[] = {
    { CLI_OPT("model", 'm', CLI_STRING, "FILE", "your ONNX model instead of the built-in one", AT(o.model)) },
    { CLI_OPT("checkpoint", 0, CLI_STRINGS, "FILE", "your model earlier in training (repeatable), for the\n"
              "training-dynamics stage", AT(checkpoints)), CLI_RANGE(0, NERVE_STUDY_RUN_MAX_CHECKPOINTS) },
    { CLI_OPT("data", 'd', CLI_STRING, "INPUTS", "the inputs (as nerve extract)", AT(o.data)) },
    { CLI_OPT("out", 'o', CLI_STRING, "DIR", "the study directory", AT(o.out)) },
    { CLI_OPT("limit", 'n', CLI_INT, "N", "the first N inputs only", AT(o.limit)), CLI_MIN(1), .default_text = "" },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "random positions, t-SNE", AT(o.seed)) },
    { CLI_OPT("force", 0, CLI_FLAG, NULL, "recompute every stage", AT(o.force)) },
    { CLI_OPT("serve", 0, CLI_FLAG, NULL, "then serve the study's viewer until Ctrl-C (as nerve\n"
              "serve)", AT(serve)) },
    { CLI_OPT("host", 0, CLI_STRING, "ADDR", "with --serve: the address to bind", AT(host)),
      CLI_SEEN(run_settings, view_given) },
    { CLI_OPT("port", 0, CLI_INT, "N", "with --serve: the port (0: any free one)", AT(port)), CLI_RANGE(0, 65535),
      CLI_SEEN(run_settings, view_given) },
    { 0 },
};
#undef AT

static run_settings defaults(void)
{
    run_settings s = { 0 };
    nerve_study_run_defaults(&s.o);
    nerve_serve_options view;
    nerve_serve_defaults(&view);
    s.host = view.host;
    s.port = view.port;
    return s;
}

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
           "\n");
    run_settings d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve run                                   # the default study in ./study\n"
           "  nerve run --serve                           # ... and open it in the browser\n"
           "  nerve run -m mine.onnx -d images/ -o mine --checkpoint epoch1.onnx\n");
}

static void print_stages(const nerve_study_run_summary *sum, const char *out)
{
    for (int i = 0; i < sum->n_stages; i++) {
        printf("%s %s ", i ? "," : "stages:", sum->stages[i].name);
        if (sum->stages[i].skipped)
            printf("(up to date)");
        else
            printf("%.1f s", sum->stages[i].seconds);
    }
    printf("\nstudy %s done in %.1f s; its manifest.json says how\n", out, sum->seconds);
}

static int run_run(int argc, char **argv)
{
    run_settings s = defaults();
    int first, status;
    if (cli_parse(&cli_run, options, &s, argc, argv, &first, &status) < 0)
        return status;
    if (first != argc)
        return cli_usage_error("run", "takes no file arguments (the model is --model, the inputs --data)");
    if (s.checkpoints.n && !s.o.model)
        return cli_usage_error("run", "--checkpoint goes with --model (the built-in model has its own)");
    if (!s.serve && s.view_given)
        return cli_usage_error("run", "--host and --port go with --serve");
    s.o.checkpoints = s.checkpoints.item;
    s.o.n_checkpoints = s.checkpoints.n;
    nerve_catch_interrupts();
    nerve_study_run_summary sum;
    int rc = nerve_study_run(&s.o, &sum);
    if (rc < 0)
        return cli_fail(rc);
    nerve_study_summary(s.o.out, stdout);
    printf("\n");
    print_stages(&sum, s.o.out);
    if (!s.serve)
        return 0;
    nerve_serve_options view;
    nerve_serve_defaults(&view);
    view.study = s.o.out;
    view.host = s.host;
    view.port = (int)s.port;
    return cli_serve_until_interrupted(&view);
}

const cli_command cli_run = {
    .name = "run",
    .summary = "a complete study of a model: extraction, Mapper, persistence, t-SNE, similarity",
    .run = run_run,
    .help = run_help,
};
