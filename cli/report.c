/*
 * report.c — `nerve report STUDY -o report.html`: the viewer and the study
 * in one HTML file to share.
 */
#include <stdio.h>
#include <stdlib.h>

#include "nerve/serve.h"
#include "cli.h"

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
           "\n"
           "options:\n"
           "  -o, --out FILE        the HTML file (default report.html)\n"
           "      --activations N   include the activation maps of the first N inputs\n"
           "                        (default 16; runs the study's model)\n"
           CLI_COMMON_HELP
           "\n"
           "examples:\n"
           "  nerve run && nerve report -o fashion.html\n"
           "  nerve report --activations 0 mystudy -o mystudy.html\n");
}

static int report_run(int argc, char **argv)
{
    static const struct option options[] = {
        { "out", required_argument, 0, 'o' }, { "activations", required_argument, 0, 1 },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    nerve_report_options o;
    nerve_report_defaults(&o);
    int opt, status;
    long v;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":o:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_report, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (common)
            continue;
        if (opt == 'o')
            o.out = optarg;
        else if (opt == 1 && (v = cli_parse_count(optarg)) < 0)
            return cli_usage_error("report", "--activations wants a whole number >= 0, not '%s'", optarg);
        else if (opt == 1)
            o.activation_inputs = v;
        else
            return cli_usage_error("report", "unexpected option");
    }
    if (argc - optind > 1)
        return cli_usage_error("report", "wants one STUDY folder at most");
    if (argc - optind == 1)
        o.study = argv[optind];
    if ((status = cli_common_finish()) != 0)
        return status;
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
