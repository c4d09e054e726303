/*
 * ph.c — `nerve ph INPUT`: Vietoris-Rips persistence barcodes of a point
 * cloud or a distance matrix, as JSON (and one .npy per dimension), or in
 * ripser's text output format for direct comparison.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/ph.h"
#include "nerve/study.h"
#include "cli.h"
#include "options.h"

typedef struct ph_cli {
    nerve_ph_options o;
    int64_t          dim;          /* o.max_dim, read as a whole number */
    nerve_ph_format  format;
    const char      *out, *study;
    int64_t          max_points;
    nerve_subsample  subsample;
    uint64_t         seed;
    int              text;
    nerve_study_ph_options st;   /* --study: scale and distances */
} ph_cli;

CLI_ENUM_TYPE(static, format_enum, nerve_ph_format, nerve_ph_format_parse, nerve_ph_format_name,
              "auto, npy-points, npy-distance, point-cloud, lower-distance");
CLI_ENUM_TYPE(static, subsample_enum, nerve_subsample, nerve_subsample_parse, nerve_subsample_name, "maxmin, random");

/* A number > 0; unlike other numbers, inf is one (no threshold, as by default). */
static int parse_threshold(void *field, const char *arg, const char **why)
{
    char *end;
    double v = strtod(arg, &end);
    *why = "a number > 0 (inf: none)";
    if (end == arg || *end || !(v > 0))
        return -1;
    *(double *)field = v;
    return 0;
}

#define AT(field) CLI_AT(ph_cli, field)
static const cli_option options[] = {
    { CLI_OPT("dim", 'd', CLI_INT, "K", "homology up to dimension K", AT(dim)), CLI_RANGE(0, NERVE_PH_MAX_DIM) },
    { CLI_OPT("threshold", 0, CLI_CUSTOM, "T", "only edges up to T", AT(o.threshold)), .parse = parse_threshold,
      .default_text = "none" },
    { CLI_OPT("metric", 0, CLI_ENUM, "M", "euclidean or cosine, for point clouds", AT(o.metric)),
      .enumeration = &cli_metric },
    { CLI_OPT("max-points", 'n', CLI_INT, "N", "landmarks of larger clouds (0: all)", AT(max_points)), CLI_MIN(0) },
    { CLI_OPT("subsample", 0, CLI_ENUM, "S", "maxmin (farthest point first) or random", AT(subsample)),
      .enumeration = &subsample_enum },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "for the subsample", AT(seed)) },
    { CLI_OPT("format", 0, CLI_ENUM, "F", "see above", AT(format)), .enumeration = &format_enum },
    { CLI_OPT("out", 'o', CLI_STRING, "FILE.json", "write the diagrams there, and FILE.dim<k>.npy\n"
              "(pairs x 2 float32, inf for classes that never die)", AT(out)) },
    { CLI_OPT("text", 0, CLI_FLAG, NULL, "print ripser's format instead of JSON", AT(text)) },
    { CLI_OPT("study", 0, CLI_STRING, "DIR", "the study (made by nerve extract)", AT(study)),
      .section = "\na study (--study DIR): every layer's diagrams on --max-points landmarks,\n"
                 "divided by the layer's scale, in DIR/ph/<layer>.json and .dim<k>.npy; the\n"
                 "layer x layer distances DIR/ph/{bottleneck,wasserstein,sliced_wasserstein}\n"
                 "  .dim<k>.npy; DIR/ph/index.json naming them" },
    { CLI_OPT("scale", 0, CLI_ENUM, "S", "diameter, median-nn (the median distance to the\n"
              "nearest neighbour) or none", AT(st.scale)), .enumeration = &cli_scale },
    { CLI_OPT("order", 0, CLI_REAL, "Q", "of the Wasserstein distance", AT(st.order)), CLI_MIN(1) },
    { CLI_OPT("relative-error", 0, CLI_REAL, "E", "of the Wasserstein distance", AT(st.relative_error)),
      CLI_MIN(0), .default_text = "exact up to 500 points in the two diagrams, else 0.001" },
    { CLI_OPT("directions", 0, CLI_INT, "N", "of the sliced Wasserstein distance", AT(st.directions)), CLI_MIN(1) },
    { 0 },
};
#undef AT

static ph_cli defaults(void)
{
    ph_cli c = { .format = NERVE_PH_FORMAT_AUTO, .max_points = 1000 };
    nerve_ph_defaults(&c.o);
    nerve_study_ph_defaults(&c.st);
    c.dim = c.o.max_dim;
    return c;
}

static void ph_help(void)
{
    printf("usage: nerve ph [options] INPUT\n"
           "       nerve ph [options] --study DIR\n"
           "\n"
           "Computes the Vietoris-Rips persistence barcodes (Z/2 coefficients) of a point\n"
           "cloud or of a distance matrix, as ripser does, and prints them as JSON, or with\n"
           "--text in ripser's own output format.\n"
           "\n"
           "input formats (--format):\n"
           "  auto            (default) .npy: a square, symmetric matrix with a zero\n"
           "                  diagonal is a distance matrix, anything else a point cloud\n"
           "                  (N x d); other files: lower-distance\n"
           "  npy-points      an .npy point cloud, even if square\n"
           "  npy-distance    an .npy N x N distance matrix\n"
           "  point-cloud     ripser's: one point per line, comma or space separated\n"
           "  lower-distance  ripser's: the entries below the diagonal, row by row\n"
           "\n");
    ph_cli d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve ph --dim 2 points.npy\n"
           "  nerve ph --text --format point-cloud --dim 1 cloud.txt     # compare with ripser\n"
           "  nerve ph -n 1000 -o relu3.ph.json study/acts/relu3.npy\n"
           "  nerve ph --study study --scale median-nn\n");
}

static int from_points(nerve_ph *ph, const nerve_mat *x, const ph_cli *c, int64_t *used)
{
    nerve_mat sub = { 0 };
    const nerve_mat *use = x;
    int rc = 0;
    if (c->max_points > 0 && x->rows > c->max_points) {
        rc = nerve_ph_subsample(&sub, NULL, x, c->max_points, c->subsample, c->o.metric, c->seed);
        use = &sub;
    }
    *used = use->rows;
    if (rc == 0)
        rc = nerve_ph_points(ph, use, &c->o);
    nerve_mat_free(&sub);
    return rc;
}

static int compute(nerve_ph *ph, const char *in, const ph_cli *c, int64_t *n_in, int64_t *used)
{
    nerve_ph_input input;
    int rc = nerve_ph_input_read(&input, in, c->format);
    if (rc < 0)
        return rc;
    *n_in = *used = input.n;
    if (input.dist)
        rc = nerve_ph_distances(ph, input.dist, input.n, &c->o);
    else
        rc = from_points(ph, &input.points, c, used);
    nerve_ph_input_free(&input);
    return rc;
}

static void print_text(const nerve_ph *ph)
{
    for (int d = 0; d <= ph->max_dim; d++) {
        printf("persistence intervals in dim %d:\n", d);
        for (int64_t i = 0; i < ph->dgm[d].n; i++)
            if (isinf(ph->dgm[d].death[i]))
                printf(" [%g, )\n", ph->dgm[d].birth[i]);
            else
                printf(" [%g,%g)\n", ph->dgm[d].birth[i], ph->dgm[d].death[i]);
    }
}

static int ph_study(ph_cli *c)
{
    c->st.ph = c->o;
    c->st.max_points = c->max_points;
    c->st.subsample = c->subsample;
    c->st.seed = c->seed;
    int layers = 0, rc = nerve_study_ph(c->study, &c->st, &layers);
    if (rc < 0)
        return cli_fail(rc);
    json_t *j = json_pack("{s:s, s:i, s:s, s:s}", "study", c->study, "layers", layers, "index", "ph/index.json",
                          "normalisation", nerve_scale_name(c->st.scale));
    json_dumpf(j, stdout, JSON_INDENT(2));
    printf("\n");
    json_decref(j);
    return 0;
}

static int ph_run(int argc, char **argv)
{
    ph_cli c = defaults();
    int first, status;
    if (cli_parse(&cli_ph, options, &c, argc, argv, &first, &status) < 0)
        return status;
    c.o.max_dim = (int)c.dim;
    if (c.study ? argc - first != 0 : argc - first != 1)
        return cli_usage_error("ph", c.study ? "--study takes no INPUT" : "wants one INPUT (or --study DIR)");
    if (c.study)
        return ph_study(&c);
    nerve_ph ph;
    int64_t n_in = 0, used = 0;
    int rc = compute(&ph, argv[first], &c, &n_in, &used);
    if (rc < 0)
        return cli_fail(rc);
    json_t *j = json_pack("{s:s, s:I, s:I, s:i, s:o, s:s, s:o}", "input", argv[first], "points", (json_int_t)n_in,
                          "points_used", (json_int_t)used, "max_dim", c.o.max_dim, "threshold",
                          isinf(c.o.threshold) ? json_null() : json_real(c.o.threshold), "metric",
                          nerve_metric_name(c.o.metric), "diagrams", nerve_ph_diagrams_json(&ph));
    if (used < n_in)
        json_object_set_new(j, "subsample", json_pack("{s:s, s:I}", "method", nerve_subsample_name(c.subsample),
                                                      "seed", (json_int_t)c.seed));
    if (c.out) {
        rc = nerve_json_write(c.out, j, JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (rc == 0)
            rc = nerve_ph_write_npys(c.out, &ph);
    }
    if (rc == 0 && c.text)
        print_text(&ph);
    else if (rc == 0) {
        json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
        printf("\n");
    }
    json_decref(j);
    nerve_ph_free(&ph);
    return rc < 0 ? cli_fail(rc) : 0;
}

const cli_command cli_ph = {
    .name = "ph",
    .summary = "persistence barcodes (Vietoris-Rips) of a point cloud or distance matrix",
    .run = ph_run,
    .help = ph_help,
};
