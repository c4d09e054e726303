/*
 * report.c — `nerve report STUDY -o report.html`: the viewer and the study
 * in one HTML file to share.
 */
#include <stdio.h>
#include <stdlib.h>

#include "nerve/serve.h"
#include "cli.h"
#include "options.h"

#define AT(field) CLI_AT(nerve_report_options, field)
static const cli_option options[] = {
    { CLI_OPT("out", 'o', CLI_STRING, "FILE", "the HTML file", AT(out)) },
    { CLI_OPT("activations", 0, CLI_INT, "N", "include the activation maps of the first N inputs\n"
              "(runs the study's model)", AT(activation_inputs)), CLI_MIN(0) },
    { 0 },
};
#undef AT

static void report_help(void)
{
    printf("usage: nerve report [options] [STUDY]\n"
           "\n"
           "Writes one self-contained HTML file with the viewer of a study (default:\n"
           "./study): the page, its scripts and the study's graphs, diagrams, matrices,\n"
           "embeddings, labels and thumbnails are inlined, so it opens from disk in a\n"
           "browser with no server and no network. The raw activations stay out; what\n"
           "needs nerve serve (recomputing a Mapper graph with other parameters, the\n"
           "activation maps of inputs beyond the first few) says so in the page.\n"
           "\n");
    nerve_report_options d;
    nerve_report_defaults(&d);
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve run && nerve report -o fashion.html\n"
           "  nerve report --activations 0 mystudy -o mystudy.html\n");
}

static int report_run(int argc, char **argv)
{
    nerve_report_options o;
    nerve_report_defaults(&o);
    int first, status;
    if (cli_parse(&cli_report, options, &o, argc, argv, &first, &status) < 0)
        return status;
    if (argc - first > 1)
        return cli_usage_error("report", "wants one STUDY folder at most");
    if (argc - first == 1)
        o.study = argv[first];
    nerve_report_summary s;
    int rc = nerve_report_write(&o, &s);
    if (rc < 0)
        return cli_fail(rc);
    printf("nerve: wrote %s (%lld files of the study, %.1f MB; open it in a browser)\n", o.out, (long long)s.files,
           (double)s.study_bytes / 1e6);
    return 0;
}

const cli_command cli_report = {
    .name = "report",
    .summary = "the viewer and a study in one HTML file that opens from disk",
    .run = report_run,
    .help = report_help,
};
