/*
 * ph_distance.c — `nerve ph-distance A.json B.json`: distances between two
 * persistence diagrams, dimension by dimension, as JSON.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"
#include "cli.h"

static void ph_distance_help(void)
{
    printf("usage: nerve ph-distance [options] A.json B.json\n"
           "\n"
           "Distances between the persistence diagrams of two files written by\n"
           "`nerve ph -o` (or holding a bare list of [birth, death] pairs, null death for\n"
           "classes that never die), for each dimension both have, as gudhi defines\n"
           "them: L-infinity costs, (death - birth) / 2 to the diagonal, essential points\n"
           "matched by birth (a different count of them: infinite, printed as null).\n"
           "\n"
           "options:\n"
           "  -m, --metric M   bottleneck, wasserstein, sliced (sliced Wasserstein), or all\n"
           "                   (default all)\n"
           "      --directions N  lines of the sliced Wasserstein distance (default 50)\n"
           "      --order Q    the Wasserstein order, >= 1 (default 1)\n"
           "      --relative-error E  Wasserstein by the auction algorithm, at most 1 + E\n"
           "                   times the exact distance; 0: exact (Hungarian method).\n"
           "                   Default: exact up to 500 points in the two diagrams,\n"
           "                   else 0.001\n"
           "  -d, --dim K      only dimension K\n"
           CLI_COMMON_HELP
           "\n"
           "example:\n"
           "  nerve ph -o relu2.json study/acts/relu2.npy; nerve ph -o relu3.json study/acts/relu3.npy\n"
           "  nerve ph-distance relu2.json relu3.json --metric wasserstein --order 2\n");
}

static json_t *number_or_null(double v)
{
    return isinf(v) ? json_null() : json_real(v);
}

static double wasserstein_error(double asked, const nerve_diagram *a, const nerve_diagram *b)
{
    return asked >= 0 ? asked : nerve_diagram_wasserstein_default_error(a, b);
}

static int ph_distance_run(int argc, char **argv)
{
    static const struct option options[] = {
        { "metric", required_argument, 0, 'm' }, { "order", required_argument, 0, 1 },
        { "dim", required_argument, 0, 'd' },       { "directions", required_argument, 0, 2 },
        { "relative-error", required_argument, 0, 3 },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    const char *metric = "all";
    double q = 1, delta = -1;   /* -1: nerve's default for the diagrams' size */
    long only = -1, directions = 50;
    int opt, status;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":m:d:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_ph_distance, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (common)
            continue;
        char *end;
        if (opt == 'm' && strcmp(optarg, "bottleneck") && strcmp(optarg, "wasserstein") && strcmp(optarg, "sliced") &&
            strcmp(optarg, "all"))
            return cli_usage_error("ph-distance", "unknown --metric '%s' (bottleneck, wasserstein, sliced, all)",
                                   optarg);
        if (opt == 2 && (directions = cli_parse_count(optarg)) < 1)
            return cli_usage_error("ph-distance", "--directions wants a positive count, not '%s'", optarg);
        if (opt == 'm')
            metric = optarg;
        else if (opt == 1 && ((q = strtod(optarg, &end)), end == optarg || *end || !(q >= 1) || isinf(q)))
            return cli_usage_error("ph-distance", "--order wants a number >= 1, not '%s'", optarg);
        else if (opt == 3 && ((delta = strtod(optarg, &end)), end == optarg || *end || !(delta >= 0) || isinf(delta)))
            return cli_usage_error("ph-distance", "--relative-error wants a number >= 0, not '%s'", optarg);
        else if (opt == 'd' && ((only = cli_parse_count(optarg)) < 0 || only > NERVE_PH_MAX_DIM))
            return cli_usage_error("ph-distance", "--dim wants 0 to %d, not '%s'", NERVE_PH_MAX_DIM, optarg);
    }
    if (argc - optind != 2)
        return cli_usage_error("ph-distance", "wants two diagram files, A.json and B.json");
    if ((status = cli_common_finish()) != 0)
        return status;
    nerve_diagram a[NERVE_PH_MAX_DIM + 1] = { { 0 } }, b[NERVE_PH_MAX_DIM + 1] = { { 0 } };
    int na = 0, nb = 0;
    int rc = nerve_ph_read_diagrams(a, &na, argv[optind]);
    if (rc == 0)
        rc = nerve_ph_read_diagrams(b, &nb, argv[optind + 1]);
    json_t *dims = json_array();
    for (int d = 0; rc == 0 && d < na && d < nb; d++) {
        if (only >= 0 && d != only)
            continue;
        json_t *e = json_pack("{s:i}", "dim", d);
        double v;
        int all = strcmp(metric, "all") == 0;
        if ((all || !strcmp(metric, "bottleneck")) && (rc = nerve_diagram_bottleneck(&v, &a[d], &b[d])) == 0)
            json_object_set_new(e, "bottleneck", number_or_null(v));
        if (rc == 0 && (all || !strcmp(metric, "wasserstein")) &&
            (rc = nerve_diagram_wasserstein_within(&v, &a[d], &b[d], q, wasserstein_error(delta, &a[d], &b[d]))) == 0) {
            json_object_set_new(e, "wasserstein", number_or_null(v));
            json_object_set_new(e, "wasserstein_relative_error", json_real(wasserstein_error(delta, &a[d], &b[d])));
        }
        if (rc == 0 && (all || !strcmp(metric, "sliced")) &&
            (rc = nerve_diagram_sliced_wasserstein(&v, &a[d], &b[d], directions)) == 0)
            json_object_set_new(e, "sliced_wasserstein", json_real(v));
        json_array_append_new(dims, e);
    }
    nerve_ph_diagrams_free(a, na);
    nerve_ph_diagrams_free(b, nb);
    if (rc < 0) {
        json_decref(dims);
        return cli_fail(rc);
    }
    json_t *o = json_pack("{s:s, s:s, s:f, s:o}", "a", argv[optind], "b", argv[optind + 1], "order", q, "distances",
                          dims);
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    printf("\n");
    json_decref(o);
    return 0;
}

const cli_command cli_ph_distance = {
    .name = "ph-distance",
    .summary = "bottleneck and Wasserstein distances between persistence diagrams",
    .run = ph_distance_run,
    .help = ph_distance_help,
};
