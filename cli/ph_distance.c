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
#include "options.h"

static const char *const metrics[] = { "bottleneck", "wasserstein", "sliced", "all", NULL };
enum { BOTTLENECK, WASSERSTEIN, SLICED, ALL };

typedef struct ph_distance_settings {
    int     metric;       /* index into metrics[] */
    double  order;
    double  relative_error;   /* < 0: nerve's default for the diagrams' size */
    int64_t directions;
    int64_t dim;          /* < 0: every dimension both files have */
} ph_distance_settings;

#define AT(field) CLI_AT(ph_distance_settings, field)
static const cli_option options[] = {
    { CLI_OPT("metric", 'm', CLI_CHOICE, "M", "which distance (sliced: sliced Wasserstein)", AT(metric)),
      .choices = metrics },
    { CLI_OPT("directions", 0, CLI_INT, "N", "lines of the sliced Wasserstein distance", AT(directions)),
      CLI_MIN(1) },
    { CLI_OPT("order", 0, CLI_REAL, "Q", "the Wasserstein order", AT(order)), CLI_MIN(1) },
    { CLI_OPT("relative-error", 0, CLI_REAL, "E", "Wasserstein by the auction algorithm, at most 1 + E\n"
              "times the exact distance; 0: exact (Hungarian method)", AT(relative_error)), CLI_MIN(0),
      .default_text = "exact up to 500 points in the two diagrams, else 0.001" },
    { CLI_OPT("dim", 'd', CLI_INT, "K", "only dimension K", AT(dim)), CLI_RANGE(0, NERVE_PH_MAX_DIM),
      .default_text = "" },
    { 0 },
};
#undef AT

static ph_distance_settings defaults(void)
{
    return (ph_distance_settings){ .metric = ALL, .order = 1, .relative_error = -1, .directions = 50, .dim = -1 };
}

static void ph_distance_help(void)
{
    printf("usage: nerve ph-distance [options] A.json B.json\n"
           "\n"
           "Distances between the persistence diagrams of two files written by\n"
           "`nerve ph -o` (or holding a bare list of [birth, death] pairs, null death for\n"
           "classes that never die), for each dimension both have, as gudhi defines\n"
           "them: L-infinity costs, (death - birth) / 2 to the diagonal, essential points\n"
           "matched by birth (a different count of them: infinite, printed as null).\n"
           "\n");
    ph_distance_settings d = defaults();
    cli_print_options(options, &d);
    printf("\n"
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
    ph_distance_settings s = defaults();
    int first, status;
    if (cli_parse(&cli_ph_distance, options, &s, argc, argv, &first, &status) < 0)
        return status;
    if (argc - first != 2)
        return cli_usage_error("ph-distance", "wants two diagram files, A.json and B.json");
    int metric = s.metric, all = metric == ALL;
    double q = s.order, delta = s.relative_error;
    nerve_diagram a[NERVE_PH_MAX_DIM + 1] = { { 0 } }, b[NERVE_PH_MAX_DIM + 1] = { { 0 } };
    int na = 0, nb = 0;
    int rc = nerve_ph_read_diagrams(a, &na, argv[first]);
    if (rc == 0)
        rc = nerve_ph_read_diagrams(b, &nb, argv[first + 1]);
    json_t *dims = json_array();
    for (int d = 0; rc == 0 && d < na && d < nb; d++) {
        if (s.dim >= 0 && d != s.dim)
            continue;
        json_t *e = json_pack("{s:i}", "dim", d);
        double v;
        if ((all || metric == BOTTLENECK) && (rc = nerve_diagram_bottleneck(&v, &a[d], &b[d])) == 0)
            json_object_set_new(e, "bottleneck", number_or_null(v));
        if (rc == 0 && (all || metric == WASSERSTEIN) &&
            (rc = nerve_diagram_wasserstein_within(&v, &a[d], &b[d], q, wasserstein_error(delta, &a[d], &b[d]))) == 0) {
            json_object_set_new(e, "wasserstein", number_or_null(v));
            json_object_set_new(e, "wasserstein_relative_error", json_real(wasserstein_error(delta, &a[d], &b[d])));
        }
        if (rc == 0 && (all || metric == SLICED) &&
            (rc = nerve_diagram_sliced_wasserstein(&v, &a[d], &b[d], s.directions)) == 0)
            json_object_set_new(e, "sliced_wasserstein", json_real(v));
        json_array_append_new(dims, e);
    }
    nerve_ph_diagrams_free(a, na);
    nerve_ph_diagrams_free(b, nb);
    if (rc < 0) {
        json_decref(dims);
        return cli_fail(rc);
    }
    json_t *o = json_pack("{s:s, s:s, s:f, s:o}", "a", argv[first], "b", argv[first + 1], "order", q, "distances",
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
