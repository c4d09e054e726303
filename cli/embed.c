/*
 * embed.c — `nerve embed ACTS.npy`: a low-dimensional picture of a point
 * cloud, written as N x k .npy, with its figures as JSON on stdout.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "nerve/embed.h"
#include "cli.h"

static void embed_help(void)
{
    printf("usage: nerve embed [options] ACTS.npy\n"
           "\n"
           "Embeds a point cloud (N x d, rows are inputs) in k dimensions and writes\n"
           "the N x k coordinates as float32 .npy; prints JSON with the method's figures.\n"
           "\n"
           "methods:\n"
           "  pca   principal components (scikit-learn's conventions: variance over\n"
           "        N - 1, the largest entry of each score column positive)\n"
           "  (t-SNE is to come)\n"
           "\n"
           "options:\n"
           "  -m, --method M     pca (default)\n"
           "  -k, --dims K       dimensions (default 2)\n"
           "  -o, --out FILE     where to write the coordinates (default: ACTS.pca.npy)\n"
           CLI_COMMON_HELP
           "\n"
           "example:\n"
           "  nerve embed -k 2 -o relu3.pca.npy study/acts/relu3_Relu_output_0.npy\n");
}

static int embed_run(int argc, char **argv)
{
    static const struct option options[] = {
        { "method", required_argument, 0, 'm' }, { "dims", required_argument, 0, 'k' },
        { "out", required_argument, 0, 'o' },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    const char *method = "pca", *out = NULL;
    long k = 2;
    int opt, status;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":m:k:o:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_embed, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (common)
            continue;
        if (opt == 'm')
            method = optarg;
        else if (opt == 'o')
            out = optarg;
        else if (opt == 'k' && (k = cli_parse_count(optarg)) < 1)
            return cli_usage_error("embed", "--dims wants a positive count, not '%s'", optarg);
    }
    if (strcmp(method, "pca") != 0)
        return cli_usage_error("embed", "unknown --method '%s' (pca)", method);
    if (argc - optind != 1)
        return cli_usage_error("embed", "wants one ACTS.npy");
    if ((status = cli_common_finish()) != 0)
        return status;
    const char *in = argv[optind];
    char default_out[4096];
    if (!out) {
        size_t n = strlen(in);
        snprintf(default_out, sizeof default_out, "%.*s.pca.npy", (int)(n > 4 && strcmp(in + n - 4, ".npy") == 0 ? n - 4 : n), in);
        out = default_out;
    }
    nerve_mat points;
    int rc = nerve_mat_read_npy(&points, in);
    if (rc < 0)
        return cli_fail(rc);
    nerve_pca p;
    rc = nerve_pca_fit(&p, &points, k);
    nerve_mat_free(&points);
    if (rc == 0)
        rc = nerve_mat_write_npy(out, &p.scores);
    if (rc == 0) {
        json_t *ratio = json_array(), *var = json_array();
        for (int64_t c = 0; c < p.k; c++) {
            json_array_append_new(ratio, json_real(p.explained_ratio[c]));
            json_array_append_new(var, json_real(p.explained[c]));
        }
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "method", "pca", "out", out, "n", (json_int_t)p.n,
                              "dims", (json_int_t)p.k, "explained_variance", var, "explained_variance_ratio", ratio);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        printf("\n");
        json_decref(o);
    }
    nerve_pca_free(&p);
    return rc < 0 ? cli_fail(rc) : 0;
}

const cli_command cli_embed = {
    .name = "embed",
    .summary = "low-dimensional coordinates of a point cloud (PCA)",
    .run = embed_run,
    .help = embed_help,
};
