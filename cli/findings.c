/*
 * findings.c — `nerve findings [--study DIR]`: what a study's numbers say
 * (outliers, label noise, class separation, dead units, bridges, loops),
 * written beside the study's other results.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/study.h"
#include "cli.h"
#include "options.h"

typedef struct findings_settings {
    const char *study;
    nerve_study_findings_options f;
} findings_settings;

#define AT(field) CLI_AT(findings_settings, field)
static const cli_option options[] = {
    { CLI_OPT("study", 's', CLI_STRING, "DIR", "the study (as nerve run made it)", AT(study)) },
    { CLI_OPT("neighbours", 'k', CLI_INT, "K", "neighbours of the outlier score, k-NN accuracy", AT(f.k)),
      CLI_RANGE(1, 1000) },
    { CLI_OPT("max-dims", 0, CLI_INT, "D", "a wide layer's principal components for its\n"
              "Mahalanobis score",
              AT(f.max_dims)), CLI_RANGE(1, 4096) },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "approximate neighbours, the probe's held-out split", AT(f.seed)) },
    { 0 },
};
#undef AT

static void findings_defaults(findings_settings *s)
{
    s->study = "study";
    nerve_study_findings_defaults(&s->f);
}

static void findings_help(void)
{
    printf("usage: nerve findings [options]\n"
           "\n"
           "Searches a study for what is surprising and writes, in DIR/findings/:\n"
           "  outlier.npy          each input's outlier score over every layer: its\n"
           "                       distance to its k-th nearest neighbour and its\n"
           "                       Mahalanobis distance to its class (Lee et al. 2018),\n"
           "                       per layer in <layer>.knn.npy, <layer>.mahalanobis.npy\n"
           "  label_noise.npy      how wrong each input's label looks: the model's\n"
           "                       probability of it and its neighbours' labels\n"
           "  findings.json        each layer's dead units, PCA and TwoNN dimension,\n"
           "                       k-NN accuracy and linear probe; and the findings, each\n"
           "                       with its kind, layer, score, inputs or Mapper nodes and\n"
           "                       a sentence: outliers, label_noise, dead_units,\n"
           "                       separation, redundant, bridge, loop, flare, class_forms\n"
           "The viewer shows them as the study's first page.\n"
           "\n");
    findings_settings d;
    findings_defaults(&d);
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve run && nerve findings\n"
           "  nerve findings --study mystudy -k 20\n");
}

static int findings_run(int argc, char **argv)
{
    findings_settings s;
    findings_defaults(&s);
    int first, status;
    if (cli_parse(&cli_findings, options, &s, argc, argv, &first, &status) < 0)
        return status;
    if (argc - first > 0)
        return cli_usage_error("findings", "takes no arguments (the study is --study DIR)");
    int found = 0;
    double t0 = nerve_now();
    int rc = nerve_study_findings(s.study, &s.f, &found);
    if (rc < 0)
        return cli_fail(rc);
    printf("nerve: %d findings in %s/findings/findings.json (%.1f s)\n", found, s.study, nerve_now() - t0);
    return 0;
}

const cli_command cli_findings = {
    .name = "findings",
    .summary = "outliers, label noise, class separation, bridges: what a study found",
    .run = findings_run,
    .help = findings_help,
};
