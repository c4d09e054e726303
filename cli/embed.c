/*
 * embed.c — `nerve embed ACTS.npy`: a low-dimensional picture of a point
 * cloud (PCA, t-SNE or UMAP), written as N x k .npy, with its figures as
 * JSON on stdout.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/embed.h"
#include "nerve/study.h"
#include "nerve/internal/path.h"
#include "cli.h"
#include "options.h"

typedef struct embed_settings {
    int                method;    /* index into methods[] */
    int64_t            dims;
    const char        *out, *study;
    uint64_t           seed;      /* t-SNE's and UMAP's */
    nerve_tsne_options t;
    nerve_umap_options u;
} embed_settings;

static const char *const methods[] = { "pca", "tsne", "umap", NULL };
enum { PCA, TSNE, UMAP };

CLI_ENUM_TYPE(static, umap_init_enum, nerve_umap_init, nerve_umap_init_parse, nerve_umap_init_name, "spectral, random");

static int parse_tsne_method(void *field, const char *arg, const char **why)
{
    *why = "auto, exact, barnes-hut or fft";
    return nerve_tsne_method_parse(arg, field);
}

#define AT(field) CLI_AT(embed_settings, field)
static const cli_option options[] = {
    { CLI_OPT("method", 'm', CLI_CHOICE, "M", "the method", AT(method)), .choices = methods },
    { CLI_OPT("dims", 'k', CLI_INT, "K", "PCA dimensions (t-SNE and UMAP make 2)", AT(dims)), CLI_MIN(1) },
    { CLI_OPT("out", 'o', CLI_STRING, "FILE", "where to write the coordinates", AT(out)), .default_text = "ACTS.<method>.npy" },
    { CLI_OPT("study", 0, CLI_STRING, "DIR", "every layer of a study: DIR/embed/<layer>.<method>.npy", AT(study)) },
    { CLI_OPT("perplexity", 0, CLI_REAL, "P", "needs N > 3 P", AT(t.perplexity)), CLI_ABOVE(0), .section = "t-SNE:" },
    { CLI_OPT("iters", 0, CLI_INT, "N", "iterations in all", AT(t.iters)), CLI_MIN(1) },
    { CLI_OPT("early-iters", 0, CLI_INT, "N", "of them with early exaggeration", AT(t.early_iters)), CLI_MIN(0) },
    { CLI_OPT("exaggeration", 0, CLI_REAL, "E", "the early exaggeration", AT(t.early_exaggeration)), CLI_ABOVE(0) },
    { CLI_OPT("learning-rate", 0, CLI_REAL, "L", "the learning rate", AT(t.learning_rate)), CLI_ABOVE(0),
      .default_text = "max(N / 12, 200)" },
    { CLI_OPT("theta", 0, CLI_REAL, "T", "Barnes-Hut angle", AT(t.theta)), CLI_MIN(0) },
    { CLI_OPT("tsne-method", 0, CLI_CUSTOM, "M", "the repulsion: exact, barnes-hut, fft (FIt-SNE's\n"
      "interpolation), or auto: exact below 500 points,\nBarnes-Hut below 300,000, else fft", AT(t.method)),
      .parse = parse_tsne_method, .default_text = "auto" },
    { CLI_OPT("neighbors", 0, CLI_INT, "N", "neighbours of each point, itself counted", AT(u.neighbors)), CLI_MIN(2),
      .section = "UMAP:" },
    { CLI_OPT("min-dist", 0, CLI_REAL, "D", "how tightly close points may pack (<= spread)", AT(u.min_dist)), CLI_MIN(0) },
    { CLI_OPT("spread", 0, CLI_REAL, "S", "the scale of the embedded points", AT(u.spread)), CLI_ABOVE(0) },
    { CLI_OPT("metric", 0, CLI_ENUM, "M", "distance in the input space", AT(u.metric)), .enumeration = &cli_metric },
    { CLI_OPT("epochs", 0, CLI_INT, "N", "passes of the descent", AT(u.epochs)), CLI_MIN(1),
      .default_text = "500 up to 10,000 points, else 200" },
    { CLI_OPT("init", 0, CLI_ENUM, "I", "the start", AT(u.init)), .enumeration = &umap_init_enum },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "t-SNE: approximate neighbours of large clouds;\n"
      "UMAP: neighbours, start and descent (a seed gives\nthe same output at any thread count)", AT(seed)),
      .section = "" },
    { 0 },
};
#undef AT

static embed_settings defaults(void)
{
    embed_settings s = { .method = PCA, .dims = 2 };
    nerve_tsne_defaults(&s.t);
    nerve_umap_defaults(&s.u);
    return s;
}

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
           "  umap   UMAP in 2-D as umap-learn runs it (fuzzy graph of the nearest\n"
           "         neighbours, exact below 4,096 points, NN-descent above; spectral\n"
           "         start; descent with negative sampling, a and b fitted from\n"
           "         min-dist and spread)\n"
           "\n");
    embed_settings d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve embed -k 2 -o relu3.pca.npy study/acts/relu3_Relu_output_0.npy\n"
           "  nerve embed --method tsne --perplexity 50 study/acts/fc1_Gemm_output_0.npy\n"
           "  nerve embed --method tsne --study study\n"
           "  nerve embed --method umap --neighbors 15 --min-dist 0.1 --metric cosine A.npy\n");
}

static void print_json(json_t *o)
{
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    printf("\n");
    json_decref(o);
}

static int embed_study(const embed_settings *s)
{
    json_t *all;
    int rc = s->method == UMAP ? nerve_study_embed_umap(s->study, &s->u, &all)
                               : nerve_study_embed(s->study, s->method == TSNE ? &s->t : NULL, s->dims, &all);
    if (rc < 0)
        return cli_fail(rc);
    print_json(json_pack("{s:s, s:o}", "study", s->study, "layers", all));
    return 0;
}

/* ACTS.npy's name with .npy replaced by .<method>.npy. */
static int default_out(char *out, size_t size, const char *in, const char *method)
{
    size_t n = strlen(in);
    return nerve_path(out, size, "%.*s.%s.npy", (int)(n > 4 && strcmp(in + n - 4, ".npy") == 0 ? n - 4 : n), in,
                      method);
}

static int embed_run(int argc, char **argv)
{
    embed_settings s = defaults();
    int first, status;
    if (cli_parse(&cli_embed, options, &s, argc, argv, &first, &status) < 0)
        return status;
    if (s.study ? argc - first != 0 : argc - first != 1)
        return cli_usage_error("embed", s.study ? "--study takes no ACTS.npy" : "wants one ACTS.npy (or --study DIR)");
    if (s.t.early_iters > s.t.iters)
        return cli_usage_error("embed", "--early-iters (%lld) exceeds --iters (%lld)", (long long)s.t.early_iters,
                               (long long)s.t.iters);
    if (s.u.min_dist > s.u.spread)
        return cli_usage_error("embed", "--min-dist (%g) exceeds --spread (%g)", s.u.min_dist, s.u.spread);
    s.t.seed = s.u.seed = s.seed;
    if (s.study)
        return embed_study(&s);
    const char *in = argv[first];
    char out[PATH_MAX];
    if (!s.out) {
        int rc = default_out(out, sizeof out, in, methods[s.method]);
        if (rc < 0)
            return cli_fail(rc);
        s.out = out;
    }
    int rc = 0;
    json_t *fig = s.method == UMAP ? nerve_embed_file_umap(in, s.out, &s.u, &rc)
                                   : nerve_embed_file(in, s.out, s.method == TSNE ? &s.t : NULL, s.dims, &rc);
    if (!fig)
        return cli_fail(rc < 0 ? rc : nerve_error_set(NERVE_ENOMEM, "out of memory"));
    print_json(fig);
    return 0;
}

const cli_command cli_embed = {
    .name = "embed",
    .summary = "low-dimensional coordinates of a point cloud (PCA, t-SNE, UMAP)",
    .run = embed_run,
    .help = embed_help,
};
