/*
 * ph.c — `nerve ph INPUT`: Vietoris-Rips persistence barcodes of a point
 * cloud or a distance matrix, as JSON (and one .npy per dimension), or in
 * ripser's text output format for direct comparison.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"
#include "nerve/study.h"
#include "cli.h"

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
           "\n"
           "options:\n"
           "  -d, --dim K           homology up to dimension K, 0 to 3 (default 1)\n"
           "      --threshold T     only edges up to T (default: none)\n"
           "      --metric M        euclidean (default) or cosine, for point clouds\n"
           "  -n, --max-points N    landmarks of larger clouds (default 1000; 0: all)\n"
           "      --subsample S     maxmin (default: farthest point first) or random\n"
           "      --seed S          for the subsample (default 0)\n"
           "      --format F        see above\n"
           "  -o, --out FILE.json   write the diagrams there, and FILE.dim<k>.npy\n"
           "                        (pairs x 2 float32, inf for classes that never die)\n"
           "      --text            print ripser's format instead of JSON\n"
           "\n"
           "a study (--study DIR): every layer's diagrams on --max-points landmarks,\n"
           "divided by the layer's scale, in DIR/ph/<layer>.json and .dim<k>.npy; the\n"
           "layer x layer distances DIR/ph/{bottleneck,wasserstein,sliced_wasserstein}\n"
           "  .dim<k>.npy; DIR/ph/index.json naming them\n"
           "      --study DIR       the study (made by nerve extract)\n"
           "      --scale S         diameter (default), median-nn (the median distance\n"
           "                        to the nearest neighbour) or none\n"
           "      --order Q         of the Wasserstein distance (default 1)\n"
           "      --relative-error E  of the Wasserstein distance (default: exact up to\n"
           "                        500 points in the two diagrams, else 0.001)\n"
           "      --directions N    of the sliced Wasserstein distance (default 50)\n"
           CLI_COMMON_HELP
           "\n"
           "examples:\n"
           "  nerve ph --dim 2 points.npy\n"
           "  nerve ph --text --format point-cloud --dim 1 cloud.txt     # compare with ripser\n"
           "  nerve ph -n 1000 -o relu3.ph.json study/acts/relu3.npy\n"
           "  nerve ph --study study --scale median-nn\n");
}

typedef struct ph_cli {
    nerve_ph_options o;
    const char      *format, *out, *study;
    int64_t          max_points;
    nerve_subsample  subsample;
    uint64_t         seed;
    int              text;
    nerve_study_ph_options st;   /* --study: scale and distances */
} ph_cli;

static int parse_real(double *out, const char *s)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && !*end ? 0 : -1;
}

static int ph_option(ph_cli *c, int opt, const char *arg)
{
    long v;
    switch (opt) {
    case 'd':
        if ((v = cli_parse_count(arg)) < 0 || v > NERVE_PH_MAX_DIM)
            return cli_usage_error("ph", "--dim wants 0 to %d, not '%s'", NERVE_PH_MAX_DIM, arg);
        c->o.max_dim = (int)v;
        return 0;
    case 'n':
        if ((v = cli_parse_count(arg)) < 0)
            return cli_usage_error("ph", "--max-points wants a count (0: all), not '%s'", arg);
        c->max_points = v;
        return 0;
    case 'o': c->out = arg; return 0;
    case 1:
        if (parse_real(&c->o.threshold, arg) < 0 || !(c->o.threshold > 0))
            return cli_usage_error("ph", "--threshold wants a number > 0, not '%s'", arg);
        return 0;
    case 2:
        return nerve_metric_parse(arg, &c->o.metric) < 0
                   ? cli_usage_error("ph", "unknown --metric '%s' (euclidean, cosine)", arg) : 0;
    case 3:
        return nerve_subsample_parse(arg, &c->subsample) < 0
                   ? cli_usage_error("ph", "unknown --subsample '%s' (maxmin, random)", arg) : 0;
    case 4:
        if ((v = cli_parse_count(arg)) < 0)
            return cli_usage_error("ph", "--seed wants a whole number, not '%s'", arg);
        c->seed = (uint64_t)v;
        return 0;
    case 5:
        if (strcmp(arg, "auto") && strcmp(arg, "npy-points") && strcmp(arg, "npy-distance") &&
            strcmp(arg, "point-cloud") && strcmp(arg, "lower-distance"))
            return cli_usage_error("ph", "unknown --format '%s' (auto, npy-points, npy-distance, point-cloud, "
                                   "lower-distance)", arg);
        c->format = arg;
        return 0;
    case 6: c->text = 1; return 0;
    case 7: c->study = arg; return 0;
    case 8:
        return nerve_scale_parse(arg, &c->st.scale) < 0
                   ? cli_usage_error("ph", "unknown --scale '%s' (diameter, median-nn, none)", arg) : 0;
    case 9:
        if (parse_real(&c->st.order, arg) < 0 || !(c->st.order >= 1) || isinf(c->st.order))
            return cli_usage_error("ph", "--order wants a number >= 1, not '%s'", arg);
        return 0;
    case 10:
        if (parse_real(&c->st.relative_error, arg) < 0 || !(c->st.relative_error >= 0) || isinf(c->st.relative_error))
            return cli_usage_error("ph", "--relative-error wants a number >= 0, not '%s'", arg);
        return 0;
    case 11:
        if ((v = cli_parse_count(arg)) < 1)
            return cli_usage_error("ph", "--directions wants a positive count, not '%s'", arg);
        c->st.directions = v;
        return 0;
    }
    return cli_usage_error("ph", "unexpected option");
}

static int is_npy(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".npy") == 0;
}

/* Whether a square matrix looks like distances (symmetric, zero diagonal). */
static int looks_like_distances(const nerve_mat *m)
{
    if (m->rows != m->cols)
        return 0;
    for (int64_t i = 0; i < m->rows; i++)
        for (int64_t j = 0; j <= i; j++)
            if ((i == j && m->data[i * m->cols + j] != 0) || m->data[i * m->cols + j] != m->data[j * m->cols + i])
                return 0;
    return 1;
}

static int from_distances(nerve_ph *ph, const double *dist, int64_t n, const ph_cli *c, const char *label)
{
    int rc = nerve_ph_check_distances(dist, n, label);
    return rc < 0 ? rc : nerve_ph_distances(ph, dist, n, &c->o);
}

static int from_points(nerve_ph *ph, nerve_mat *x, const ph_cli *c, int64_t *used)
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
    const char *fmt = c->format;
    if (strcmp(fmt, "auto") == 0 && !is_npy(in))
        fmt = "lower-distance";
    if (strcmp(fmt, "lower-distance") == 0) {
        double *dist;
        int rc = nerve_ph_read_lower_distance(&dist, n_in, in);
        if (rc == 0)
            rc = from_distances(ph, dist, *n_in, c, in);
        free(dist);
        *used = *n_in;
        return rc;
    }
    nerve_mat x;
    int rc = strcmp(fmt, "point-cloud") == 0 ? nerve_ph_read_points_text(&x, in) : nerve_mat_read_npy(&x, in);
    if (rc < 0)
        return rc;
    *n_in = x.rows;
    int distances = strcmp(fmt, "npy-distance") == 0 || (strcmp(fmt, "auto") == 0 && looks_like_distances(&x));
    if (distances && x.rows != x.cols)
        rc = nerve_error_set(NERVE_EINPUT, "%s: a distance matrix must be square, not %lld x %lld", in,
                             (long long)x.rows, (long long)x.cols);
    else if (distances) {
        double *dist = malloc((size_t)(x.rows * x.rows) * sizeof *dist);
        if (!dist)
            rc = nerve_error_set(NERVE_ENOMEM, "out of memory");
        for (int64_t i = 0; rc == 0 && i < x.rows * x.rows; i++)
            dist[i] = x.data[i];
        if (rc == 0)
            rc = from_distances(ph, dist, x.rows, c, in);
        free(dist);
        *used = x.rows;
    } else {
        rc = from_points(ph, &x, c, used);
    }
    nerve_mat_free(&x);
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
    static const struct option options[] = {
        { "dim", required_argument, 0, 'd' },       { "max-points", required_argument, 0, 'n' },
        { "out", required_argument, 0, 'o' },       { "threshold", required_argument, 0, 1 },
        { "metric", required_argument, 0, 2 },      { "subsample", required_argument, 0, 3 },
        { "seed", required_argument, 0, 4 },        { "format", required_argument, 0, 5 },
        { "text", no_argument, 0, 6 },              { "study", required_argument, 0, 7 },
        { "scale", required_argument, 0, 8 },       { "order", required_argument, 0, 9 },
        { "relative-error", required_argument, 0, 10 }, { "directions", required_argument, 0, 11 },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    ph_cli c = { .format = "auto", .max_points = 1000 };
    nerve_ph_defaults(&c.o);
    nerve_study_ph_defaults(&c.st);
    int opt, status;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":d:n:o:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_ph, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (!common && (status = ph_option(&c, opt, optarg)) != 0)
            return status;
    }
    if (c.study ? argc - optind != 0 : argc - optind != 1)
        return cli_usage_error("ph", c.study ? "--study takes no INPUT" : "wants one INPUT (or --study DIR)");
    if ((status = cli_common_finish()) != 0)
        return status;
    if (c.study)
        return ph_study(&c);
    nerve_ph ph;
    int64_t n_in = 0, used = 0;
    int rc = compute(&ph, argv[optind], &c, &n_in, &used);
    if (rc < 0)
        return cli_fail(rc);
    json_t *j = json_pack("{s:s, s:I, s:I, s:i, s:o, s:s, s:o}", "input", argv[optind], "points", (json_int_t)n_in,
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
