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
    const char             *config;
    cli_strings             checkpoints;
    cli_channels            mean, std;
    nerve_sim_metric        metrics[NERVE_SIM_METRIC_COUNT];
    int                     n_metrics;
    int                     serve;
    const char             *host;
    int64_t                 port;
    int                     view_given;   /* --host or --port */
} run_settings;

static int parse_stages(void *field, const char *arg, const char **why)
{
    *why = "stages separated by commas: extract, mean, mapper, ph, embed, sim, dynamics, findings, or all";
    return nerve_study_stages_parse(arg, field) < 0 ? -1 : 0;
}

/* "cka,svcca": into run_settings' metrics and n_metrics (field: metrics). */
static int parse_metrics(void *field, const char *arg, const char **why)
{
    run_settings *s = (run_settings *)((char *)field - offsetof(run_settings, metrics));
    *why = "metrics separated by commas (nerve compare --help lists them)";
    s->n_metrics = 0;
    for (const char *p = arg; *p;) {
        char name[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof name || s->n_metrics == NERVE_SIM_METRIC_COUNT)
            return -1;
        memcpy(name, p, len);
        name[len] = '\0';
        if (nerve_sim_metric_parse(name, &s->metrics[s->n_metrics++]) < 0)
            return -1;
        p += len + (p[len] == ',');
    }
    return s->n_metrics ? 0 : -1;
}

#define AT(field) CLI_AT(run_settings, field)
static const cli_option options[] = {
    { CLI_OPT("config", 0, CLI_STRING, "FILE", "a study file (JSON) or a study's manifest.json: its\n"
              "settings, under the options given here", AT(config)) },
    { CLI_OPT("model", 'm', CLI_STRING, "FILE", "your ONNX model instead of the built-in one", AT(o.model)) },
    { CLI_OPT("checkpoint", 0, CLI_STRINGS, "FILE", "your model earlier in training (repeatable), for the\n"
              "training-dynamics stage", AT(checkpoints)), CLI_RANGE(0, NERVE_STUDY_RUN_MAX_CHECKPOINTS) },
    { CLI_OPT("data", 'd', CLI_STRING, "INPUTS", "the inputs (as nerve extract)", AT(o.data)) },
    { CLI_OPT("out", 'o', CLI_STRING, "DIR", "the study directory", AT(o.out)) },
    { CLI_OPT("limit", 'n', CLI_INT, "N", "the first N inputs only", AT(o.limit)), CLI_MIN(1), .default_text = "" },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "random positions, t-SNE", AT(o.seed)) },
    { CLI_OPT("stages", 0, CLI_CUSTOM, "LIST", "the stages to run (extract always runs)", AT(o.stages)),
      .parse = parse_stages, .default_text = "all" },
    { CLI_OPT("force", 0, CLI_FLAG, NULL, "recompute every stage", AT(o.force)) },
    { CLI_OPT("preset", 0, CLI_STRING, "NAME", "imagenet: --resize 256 --center-crop 224 and\n"
              "ImageNet's --mean and --std (torchvision's),\neach unless given", AT(o.preset)),
      .section = "inputs (as nerve extract):" },
    { CLI_OPT("resize", 0, CLI_INT, "N", "image folders: shorter side to N pixels", AT(o.pp.resize)), CLI_MIN(1),
      .default_text = "" },
    { CLI_OPT("center-crop", 0, CLI_INT, "N", "image folders: center N x N crop", AT(o.pp.crop)), CLI_MIN(1),
      .default_text = "" },
    { CLI_OPT("mean", 0, CLI_CUSTOM, "A,B,C", "subtract per channel (after scaling)", AT(mean)),
      .parse = cli_parse_mean },
    { CLI_OPT("std", 0, CLI_CUSTOM, "A,B,C", "divide per channel", AT(std)), .parse = cli_parse_std },
    { CLI_OPT("no-scale", 0, CLI_FLAG, NULL, "keep 8-bit data in 0..255", AT(o.pp.no_scale)) },
    { CLI_OPT("labels", 0, CLI_STRING, "FILE", ".npy inputs: an .npy of N integer labels", AT(o.pp.labels)) },
    { CLI_OPT("class-names", 0, CLI_STRING, "FILE", "the labels' class names, one a line", AT(o.pp.class_names)) },
    { CLI_OPT("attention-mask", 0, CLI_STRING, "FILE", "token ids: an .npy (N, T) of 1 and 0 for the model's\n"
              "second input (as nerve extract)", AT(o.pp.attention_mask)) },
    { CLI_OPT("layers", 'l', CLI_STRING, "LIST", "all, or tap names separated by commas (nerve layers)",
              AT(o.layers)), .section = "extraction:" },
    { CLI_OPT("mode", 0, CLI_ENUM, "MODE", "how a conv map or tokens become vectors (as nerve\nextract)", AT(o.mode)),
      .enumeration = &cli_vector_mode },
    { CLI_OPT("per-input", 0, CLI_INT, "K", "positions per input for random-position", AT(o.per_input)),
      CLI_MIN(1) },
    { CLI_OPT("batch", 'b', CLI_INT, "N", "inputs per forward pass", AT(o.batch)), CLI_MIN(1) },
    { CLI_OPT("lens", 0, CLI_STRING, "SPEC", "the lens (as nerve mapper)", AT(o.lens)), .section = "Mapper:" },
    { CLI_OPT("cover", 0, CLI_ENUM, "KIND", "the cover", AT(o.mapper.cover)), .enumeration = &cli_cover },
    { CLI_OPT("intervals", 0, CLI_INT, "N", "intervals per lens dimension", AT(o.mapper.intervals)), CLI_MIN(1) },
    { CLI_OPT("overlap", 0, CLI_REAL, "P", "overlap of neighbouring intervals", AT(o.mapper.overlap)),
      CLI_RANGE_OPEN(0, 1) },
    { CLI_OPT("cluster", 0, CLI_ENUM, "KIND", "the clustering in each element", AT(o.mapper.cluster)),
      .enumeration = &cli_cluster },
    { CLI_OPT("eps", 0, CLI_REAL, "E", "DBSCAN radius", AT(o.mapper.eps)), CLI_ABOVE(0), .default_text = "automatic" },
    { CLI_OPT("min-samples", 0, CLI_INT, "N", "DBSCAN min_samples", AT(o.mapper.min_samples)), CLI_MIN(1) },
    { CLI_OPT("ph-dim", 0, CLI_INT, "K", "homology up to dimension K", AT(o.ph.ph.max_dim)),
      CLI_RANGE(0, NERVE_PH_MAX_DIM), .section = "persistence:" },
    { CLI_OPT("ph-points", 0, CLI_INT, "N", "landmarks per layer (0: all)", AT(o.ph.max_points)), CLI_MIN(0) },
    { CLI_OPT("ph-scale", 0, CLI_ENUM, "S", "how distances are scaled before comparing layers", AT(o.ph.scale)),
      .enumeration = &cli_scale },
    { CLI_OPT("perplexity", 0, CLI_REAL, "P", "t-SNE's perplexity", AT(o.tsne.perplexity)), CLI_ABOVE(0),
      .section = "t-SNE:" },
    { CLI_OPT("tsne-iters", 0, CLI_INT, "N", "t-SNE's iterations in all", AT(o.tsne.iters)), CLI_MIN(1) },
    { CLI_OPT("metrics", 0, CLI_CUSTOM, "LIST", "the layer x layer similarity metrics", AT(metrics)),
      .parse = parse_metrics, .default_text = "cka,svcca,pwcca", .section = "similarity:" },
    { CLI_OPT("dft-inputs", 0, CLI_INT, "N", "SVCCA-DFT of whole conv maps over the first N inputs\n"
              "(at most 1 GB of maps; 0: none)", AT(o.dft_inputs)), CLI_MIN(0) },
    { CLI_OPT("serve", 0, CLI_FLAG, NULL, "then serve the study's viewer until Ctrl-C (as nerve\n"
              "serve)", AT(serve)), .section = "afterwards:" },
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
           "  extract    every layer (a random foreground position of conv maps)\n"
           "  mean       every layer with conv maps averaged (DIR/mean)\n"
           "  mapper     every layer's Mapper graph, links between layers\n"
           "  ph         persistence (H0, H1) and layer x layer diagram distances\n"
           "  embed      every layer's t-SNE\n"
           "  sim        layer x layer CKA, SVCCA, PWCCA (also of DIR/mean)\n"
           "  dynamics   each checkpoint's layers against the final model's\n"
           "  findings   outliers, label noise, class separation, bridges (nerve findings)\n"
           "The study's manifest.json records what was computed, with which parameters\n"
           "and how long it took; a table of every layer's figures ends the run.\n"
           "\n"
           "Every setting can also come from a study file (--config), JSON kept beside\n"
           "your work; options given on the command line win over it. A study's own\n"
           "manifest.json is one too: nerve run --config study/manifest.json -o again\n"
           "makes the same study. docs/commands.md lists the file's keys.\n"
           "\n");
    run_settings d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve run                                   # the default study in ./study\n"
           "  nerve run --serve                           # ... and open it in the browser\n"
           "  nerve run -m resnet18.onnx -d photos/ --preset imagenet -n 300 -o resnet\n"
           "  nerve run -m mine.onnx -d x.npy --labels y.npy --layers fc1,fc2 \\\n"
           "      --stages mapper,embed\n"
           "  nerve run --config study.json\n");
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

/* The defaults, under a study file's settings when --config names one. */
static int starting_settings(run_settings *s, int argc, char **argv)
{
    *s = defaults();
    const char *config = cli_peek_option(argc, argv, "config");
    return config ? nerve_study_settings_read(&s->o, config) : 0;
}

/* The values cli_parse keeps apart, into the study's options. */
static void gather(run_settings *s)
{
    if (s->checkpoints.n) {
        for (int i = 0; i < s->checkpoints.n; i++)
            s->o.checkpoints[i] = s->checkpoints.item[i];
        s->o.n_checkpoints = s->checkpoints.n;
    }
    if (s->n_metrics) {
        memcpy(s->o.metrics, s->metrics, sizeof s->metrics);
        s->o.n_metrics = s->n_metrics;
    }
    cli_copy_channels(s->o.pp.mean, &s->o.pp.n_mean, &s->mean);
    cli_copy_channels(s->o.pp.std, &s->o.pp.n_std, &s->std);
}

static int run_study(run_settings *s)
{
    nerve_catch_interrupts();
    nerve_study_run_summary sum;
    int rc = nerve_study_run(&s->o, &sum);
    if (rc < 0)
        return cli_fail(rc);
    if (nerve_study_dist_rank() != 0)
        return 0;   /* nerve-mpi: rank 0 reports for all */
    nerve_study_summary(s->o.out, stdout);
    printf("\n");
    print_stages(&sum, s->o.out);
    if (!s->serve)
        return 0;
    nerve_serve_options view;
    nerve_serve_defaults(&view);
    view.study = s->o.out;
    view.host = s->host;
    view.port = (int)s->port;
    return cli_serve_until_interrupted(&view);
}

static int check_and_run(run_settings *s, int no_arguments)
{
    if (!no_arguments)
        return cli_usage_error("run", "takes no file arguments (the model is --model, the inputs --data)");
    if ((s->checkpoints.n || s->o.n_checkpoints) && !s->o.model)
        return cli_usage_error("run", "--checkpoint goes with --model (the built-in model has its own)");
    if (!s->serve && s->view_given)
        return cli_usage_error("run", "--host and --port go with --serve");
    gather(s);
    return run_study(s);
}

static int run_run(int argc, char **argv)
{
    run_settings s;
    if (starting_settings(&s, argc, argv) < 0) {
        int rc = cli_fail(NERVE_EINPUT);
        nerve_study_run_options_free(&s.o);
        return rc;
    }
    int first, status;
    if (cli_parse(&cli_run, options, &s, argc, argv, &first, &status) == 0)
        status = check_and_run(&s, first == argc);
    nerve_study_run_options_free(&s.o);
    return status;
}

const cli_command cli_run = {
    .name = "run",
    .summary = "a complete study of a model: extraction, Mapper, persistence, t-SNE, similarity",
    .run = run_run,
    .help = run_help,
};
