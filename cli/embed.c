/*
 * embed.c — `nerve embed ACTS.npy`: a low-dimensional picture of a point
 * cloud, written as N x k .npy, with its figures as JSON on stdout.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/embed.h"
#include "nerve/study.h"
#include "cli.h"

static void embed_help(void)
{
    printf("usage: nerve embed [options] ACTS.npy\n"
           "       nerve embed [options] --study DIR\n"
           "\n"
           "Embeds a point cloud (N x d, rows are inputs) in a few dimensions and writes\n"
           "the coordinates as float32 .npy; prints JSON with the method's figures.\n"
           "\n"
           "methods:\n"
           "  pca    principal components (scikit-learn's conventions: variance over\n"
           "         N - 1, the largest entry of each score column positive)\n"
           "  tsne   t-SNE in 2-D as scikit-learn runs it (3 x perplexity neighbours on\n"
           "         the 50 leading principal components, PCA start, early exaggeration,\n"
           "         momentum and gains); exact, Barnes-Hut or FFT interpolation by size\n"
           "\n"
           "options:\n"
           "  -m, --method M        pca (default) or tsne\n"
           "  -k, --dims K          PCA dimensions (default 2; t-SNE makes 2)\n"
           "  -o, --out FILE        where to write the coordinates (default: ACTS.<method>.npy)\n"
           "      --study DIR       every layer of a study: DIR/embed/<layer>.<method>.npy\n"
           "t-SNE:\n"
           "      --perplexity P    (default 30; needs N > 3 P)\n"
           "      --iters N         iterations in all (default 750)\n"
           "      --early-iters N   of them with early exaggeration (default 250)\n"
           "      --exaggeration E  (default 12)\n"
           "      --learning-rate L (default max(N / 12, 200))\n"
           "      --theta T         Barnes-Hut angle (default 0.5)\n"
           "      --tsne-method M   auto (default: exact below 1,500 points, Barnes-Hut below\n"
           "                        25,000, else fft), exact,\n"
           "                        fft (FIt-SNE's interpolation), barnes-hut\n"
           "      --seed S          for approximate neighbours of large clouds (default 0)\n"
           CLI_COMMON_HELP
           "\n"
           "examples:\n"
           "  nerve embed -k 2 -o relu3.pca.npy study/acts/relu3_Relu_output_0.npy\n"
           "  nerve embed --method tsne --perplexity 50 study/acts/fc1_Gemm_output_0.npy\n"
           "  nerve embed --method tsne --study study\n");
}

typedef struct embed_cli {
    int                tsne;
    long               dims;
    const char        *out, *study;
    nerve_tsne_options t;
} embed_cli;

static int parse_real(double *out, const char *s)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out) ? 0 : -1;
}

static int embed_option(embed_cli *o, int opt, const char *arg)
{
    long v;
    switch (opt) {
    case 'm':
        if (strcmp(arg, "pca") != 0 && strcmp(arg, "tsne") != 0)
            return cli_usage_error("embed", "unknown --method '%s' (pca, tsne)", arg);
        o->tsne = strcmp(arg, "tsne") == 0;
        return 0;
    case 'o': o->out = arg; return 0;
    case 'k':
        if ((o->dims = cli_parse_count(arg)) < 1)
            return cli_usage_error("embed", "--dims wants a positive count, not '%s'", arg);
        return 0;
    case 1: o->study = arg; return 0;
    case 2:
        if (parse_real(&o->t.perplexity, arg) < 0 || o->t.perplexity <= 0)
            return cli_usage_error("embed", "--perplexity wants a number > 0, not '%s'", arg);
        return 0;
    case 3:
    case 4:
        if ((v = cli_parse_count(arg)) < (opt == 3 ? 1 : 0))
            return cli_usage_error("embed", "--%s wants a whole number, not '%s'", opt == 3 ? "iters" : "early-iters", arg);
        *(opt == 3 ? &o->t.iters : &o->t.early_iters) = v;
        return 0;
    case 5:
        if (parse_real(&o->t.early_exaggeration, arg) < 0 || o->t.early_exaggeration <= 0)
            return cli_usage_error("embed", "--exaggeration wants a number > 0, not '%s'", arg);
        return 0;
    case 6:
        if (parse_real(&o->t.learning_rate, arg) < 0 || o->t.learning_rate <= 0)
            return cli_usage_error("embed", "--learning-rate wants a number > 0, not '%s'", arg);
        return 0;
    case 7:
        if (parse_real(&o->t.theta, arg) < 0 || o->t.theta < 0)
            return cli_usage_error("embed", "--theta wants a number >= 0, not '%s'", arg);
        return 0;
    case 8:
        return nerve_tsne_method_parse(arg, &o->t.method) < 0
                   ? cli_usage_error("embed", "unknown --tsne-method '%s' (auto, exact, fft, barnes-hut)", arg) : 0;
    case 9:
        if ((v = cli_parse_count(arg)) < 0)
            return cli_usage_error("embed", "--seed wants a whole number, not '%s'", arg);
        o->t.seed = (uint64_t)v;
        return 0;
    }
    return cli_usage_error("embed", "unexpected option");
}

static void print_json(json_t *o)
{
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    printf("\n");
    json_decref(o);
}

static int embed_study(const embed_cli *o)
{
    json_t *all;
    int rc = nerve_study_embed(o->study, o->tsne ? &o->t : NULL, o->dims, &all);
    if (rc < 0)
        return cli_fail(rc);
    print_json(json_pack("{s:s, s:o}", "study", o->study, "layers", all));
    return 0;
}

static int embed_run(int argc, char **argv)
{
    static const struct option options[] = {
        { "method", required_argument, 0, 'm' },       { "dims", required_argument, 0, 'k' },
        { "out", required_argument, 0, 'o' },          { "study", required_argument, 0, 1 },
        { "perplexity", required_argument, 0, 2 },     { "iters", required_argument, 0, 3 },
        { "early-iters", required_argument, 0, 4 },    { "exaggeration", required_argument, 0, 5 },
        { "learning-rate", required_argument, 0, 6 },  { "theta", required_argument, 0, 7 },
        { "tsne-method", required_argument, 0, 8 },    { "seed", required_argument, 0, 9 },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    embed_cli o = { .dims = 2 };
    nerve_tsne_defaults(&o.t);
    int opt, status;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":m:k:o:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_embed, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (!common && (status = embed_option(&o, opt, optarg)) != 0)
            return status;
    }
    if (o.study ? argc - optind != 0 : argc - optind != 1)
        return cli_usage_error("embed", o.study ? "--study takes no ACTS.npy" : "wants one ACTS.npy (or --study DIR)");
    if (o.t.early_iters > o.t.iters)
        return cli_usage_error("embed", "--early-iters (%lld) exceeds --iters (%lld)", (long long)o.t.early_iters,
                               (long long)o.t.iters);
    if ((status = cli_common_finish()) != 0)
        return status;
    if (o.study)
        return embed_study(&o);
    const char *in = argv[optind];
    char default_out[4096];
    if (!o.out) {
        size_t n = strlen(in);
        snprintf(default_out, sizeof default_out, "%.*s.%s.npy",
                 (int)(n > 4 && strcmp(in + n - 4, ".npy") == 0 ? n - 4 : n), in, o.tsne ? "tsne" : "pca");
        o.out = default_out;
    }
    int rc = 0;
    json_t *fig = nerve_embed_file(in, o.out, o.tsne ? &o.t : NULL, o.dims, &rc);
    if (!fig)
        return cli_fail(rc < 0 ? rc : nerve_error_set(NERVE_ENOMEM, "out of memory"));
    print_json(fig);
    return 0;
}

const cli_command cli_embed = {
    .name = "embed",
    .summary = "low-dimensional coordinates of a point cloud (PCA, t-SNE)",
    .run = embed_run,
    .help = embed_help,
};
