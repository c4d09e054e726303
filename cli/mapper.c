/*
 * mapper.c — `nerve mapper ACTS.npy`: the Mapper graph of a point cloud,
 * written in one of four formats, with its figures as JSON on stdout; or
 * `nerve mapper --study DIR`: every layer's graph into the study.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/mapper.h"
#include "nerve/study.h"
#include "cli.h"

static void mapper_help(void)
{
    printf("usage: nerve mapper [options] ACTS.npy\n"
           "       nerve mapper [options] --study DIR\n"
           "\n"
           "Builds the Mapper graph of a point cloud (N x d, rows are inputs): a lens maps\n"
           "each point to a few numbers, an overlapping cover of the lens's range splits\n"
           "the cloud, each piece is clustered, each cluster is a node, and nodes that\n"
           "share inputs are joined. Prints the graph's figures as JSON.\n"
           "\n"
           "lens and cover:\n"
           "  -l, --lens SPEC         %s;\n"
           "                          several, comma-separated, make a multi-dimensional\n"
           "                          lens (default l2norm, TopoAct's)\n"
           "  -n, --intervals N       intervals per lens dimension (default 15)\n"
           "  -p, --overlap P         overlap of neighbouring intervals, in [0, 1) (default 0.4)\n"
           "      --cover KIND        kmapper (default; KeplerMapper 2.1's), giotto\n"
           "                          (giotto-tda's overlap), balanced (equal counts)\n"
           "clustering (inside each cover element):\n"
           "  -c, --cluster KIND      dbscan (default), linkage-gap (single linkage cut at\n"
           "                          the first histogram gap), linkage (cut at --distance)\n"
           "  -e, --eps E             DBSCAN radius (default: automatic, the knee of the\n"
           "                          sorted min-samples-th neighbour distances)\n"
           "  -s, --min-samples N     DBSCAN min_samples, and the fewest points an element\n"
           "                          needs to be clustered (default 5)\n"
           "      --distance D        the cut height of --cluster linkage\n"
           "      --gap-bins N        histogram bins of --cluster linkage-gap (default 10)\n"
           "      --metric M          euclidean (default) or cosine\n"
           "      --neighbours HOW    auto (default), exact (every pair in an element) or\n"
           "                          knn (one approximate 15-NN graph; for huge clouds)\n"
           "      --min-intersection N  shared inputs for an edge (default 1)\n"
           "inputs' metadata (node purity, misclassification, meta: lenses):\n"
           "      --labels L.npy      true classes (N integers)\n"
           "      --predictions P.npy predicted classes\n"
           "      --confidence C.npy  confidence of the predictions\n"
           "      --drop-nonfinite    skip rows with NaN or infinity (listed in the output)\n"
           "output:\n"
           "  -o, --out FILE          where to write the graph (default: ACTS.mapper.json)\n"
           "  -f, --format F          json (default), node-link, graphml, kmapper\n"
           "      --study DIR         every layer of a study: DIR/mapper/<layer>.json,\n"
           "                          links between consecutive layers, index.json\n"
           "      --seed S            for sampled steps (default 0)\n"
           CLI_COMMON_HELP
           "\n"
           "examples:\n"
           "  nerve mapper --lens l2norm --intervals 30 --overlap 0.3 study/acts/fc1.npy\n"
           "  nerve mapper --lens npy:lens.npy --eps 0.5 --min-samples 3 -f kmapper -o g.json x.npy\n"
           "  nerve mapper --study study\n",
           NERVE_LENS_NAMES);
}

/* Reads an optional per-input .npy column as int64 or float. */
static int read_column(nerve_array *a, const char *path, nerve_dtype want, int64_t n)
{
    if (!path)
        return 0;
    nerve_npy_header h;
    int rc = nerve_npy_read(a, &h, path, want);
    if (rc == 0 && nerve_array_count(a) != n)
        rc = nerve_error_set(NERVE_EINPUT, "%s: %lld values, but the points have %lld rows", path,
                             (long long)nerve_array_count(a), (long long)n);
    return rc;
}

static int row_is_finite(const nerve_mat *x, int64_t i)
{
    for (int64_t j = 0; j < x->cols; j++)
        if (!isfinite(x->data[i * x->cols + j]))
            return 0;
    return 1;
}

/* Replaces x by its rows without NaN or infinity (a read may have mapped
 * the file, so into fresh memory); kept[i] is the original row of row i. */
static int drop_nonfinite(nerve_mat *x, int64_t **kept, int64_t *dropped)
{
    int64_t n = 0;
    for (int64_t i = 0; i < x->rows; i++)
        n += row_is_finite(x, i);
    nerve_mat y;
    *kept = malloc((size_t)n * sizeof **kept + 1);
    int rc = *kept ? nerve_mat_alloc(&y, n, x->cols) : nerve_error_set(NERVE_ENOMEM, "out of memory");
    if (rc < 0)
        return rc;
    for (int64_t i = 0, at = 0; i < x->rows; i++)
        if (row_is_finite(x, i)) {
            memcpy(y.data + at * x->cols, x->data + i * x->cols, (size_t)x->cols * sizeof *x->data);
            (*kept)[at++] = i;
        }
    *dropped = x->rows - n;
    nerve_mat_free(x);
    *x = y;
    return 0;
}

typedef struct mapper_cli {
    nerve_mapper_params p;
    const char *lens, *out, *labels, *predictions, *confidence, *study;
    nerve_graph_format format;
    int drop;
} mapper_cli;

/* Keeps an optional column's kept rows (in fresh memory: it may be mapped). */
static int keep_rows(nerve_array *a, const int64_t *kept, int64_t n)
{
    if (!a->data)
        return 0;
    nerve_array b;
    int rc = nerve_array_alloc(&b, a->dtype, 1, &n);
    if (rc < 0)
        return rc;
    size_t w = (size_t)nerve_dtype_size(a->dtype);
    for (int64_t i = 0; i < n; i++)
        memcpy((char *)b.data + (size_t)i * w, (const char *)a->data + (size_t)kept[i] * w, w);
    nerve_array_free(a);
    *a = b;
    return 0;
}

static void print_summary(const nerve_mapper_graph *g, const mapper_cli *o, int64_t dropped, const int64_t *kept,
                          int64_t n_orig)
{
    json_t *drops = json_array();
    for (int64_t i = 0, r = 0; kept && i < n_orig; i++) {
        if (r < g->n_points && kept[r] == i)
            r++;
        else
            json_array_append_new(drops, json_integer(i));
    }
    json_t *s = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:I, s:o}", "out", o->out, "format",
                          nerve_graph_format_name(o->format), "points", (json_int_t)g->n_points, "nodes",
                          (json_int_t)g->n_nodes, "edges", (json_int_t)g->n_edges, "components",
                          (json_int_t)g->components, "loops", (json_int_t)g->loops, "branch_points",
                          (json_int_t)g->branch_points, "leaves", (json_int_t)g->leaves, "eps", g->eps, "neighbours",
                          nerve_neighbours_name(g->neighbours_used), "dropped", (json_int_t)dropped,
                          "dropped_rows", drops);
    json_dumpf(s, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    printf("\n");
    json_decref(s);
}

static int map_file(const char *in, mapper_cli *o)
{
    char default_out[4096];
    if (!o->out) {
        size_t n = strlen(in);
        snprintf(default_out, sizeof default_out, "%.*s.mapper.%s",
                 (int)(n > 4 && strcmp(in + n - 4, ".npy") == 0 ? n - 4 : n), in,
                 o->format == NERVE_GRAPH_GRAPHML ? "graphml" : "json");
        o->out = default_out;
    }
    nerve_mat x;
    nerve_array labels = { 0 }, predictions = { 0 }, confidence = { 0 };
    int64_t *kept = NULL, dropped = 0, n_orig = 0;
    int rc = nerve_mat_read_npy(&x, in);
    if (rc < 0)
        return cli_fail(rc);
    n_orig = x.rows;
    if ((rc = read_column(&labels, o->labels, NERVE_I64, x.rows)) == 0 &&
        (!labels.data || (rc = nerve_mapper_labels_check(NULL, labels.data, x.rows, o->labels)) == 0) &&
        (rc = read_column(&predictions, o->predictions, NERVE_I64, x.rows)) == 0)
        rc = read_column(&confidence, o->confidence, NERVE_F32, x.rows);
    if (rc == 0 && o->drop && (rc = drop_nonfinite(&x, &kept, &dropped)) == 0 &&
        (rc = keep_rows(&labels, kept, x.rows)) == 0 && (rc = keep_rows(&predictions, kept, x.rows)) == 0)
        rc = keep_rows(&confidence, kept, x.rows);
    nerve_mapper_meta meta = { .labels = labels.data, .predictions = predictions.data, .confidence = confidence.data,
                               .seed = o->p.seed };
    nerve_lens lens = { 0 };
    nerve_mapper_graph g = { 0 };
    if (rc == 0)
        rc = nerve_lens_compute(&lens, o->lens, &x, &meta);
    if (rc == 0)
        rc = nerve_mapper_build(&g, &x, &lens, &o->p, &meta);
    if (rc == 0)
        rc = nerve_mapper_write(o->out, o->format, &g, &o->p, &lens);
    if (rc == 0)
        print_summary(&g, o, dropped, kept, n_orig);
    nerve_mapper_graph_free(&g);
    nerve_lens_free(&lens);
    nerve_array_free(&labels);
    nerve_array_free(&predictions);
    nerve_array_free(&confidence);
    nerve_mat_free(&x);
    free(kept);
    return rc < 0 ? cli_fail(rc) : 0;
}

static int parse_real(double *out, const char *s)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out) ? 0 : -1;
}

/* One option of the command's own; returns 0 or a usage error's status. */
static int mapper_option(mapper_cli *o, int opt, const char *arg)
{
    nerve_mapper_params *p = &o->p;
    long v = 0;
    switch (opt) {
    case 'l': o->lens = arg; return 0;
    case 'o': o->out = arg; return 0;
    case 'n':
        if ((v = cli_parse_count(arg)) < 1)
            return cli_usage_error("mapper", "--intervals wants a count >= 1, not '%s'", arg);
        p->intervals = v;
        return 0;
    case 'p':
        if (parse_real(&p->overlap, arg) < 0 || p->overlap < 0 || p->overlap >= 1)
            return cli_usage_error("mapper", "--overlap wants a number in [0, 1), not '%s'", arg);
        return 0;
    case 'e':
        if (parse_real(&p->eps, arg) < 0 || p->eps <= 0)
            return cli_usage_error("mapper", "--eps wants a number > 0, not '%s'", arg);
        return 0;
    case 's':
        if ((v = cli_parse_count(arg)) < 1)
            return cli_usage_error("mapper", "--min-samples wants a count >= 1, not '%s'", arg);
        p->min_samples = v;
        return 0;
    case 'f':
        return nerve_graph_format_parse(arg, &o->format) < 0
                   ? cli_usage_error("mapper", "unknown --format '%s' (json, node-link, graphml, kmapper)", arg) : 0;
    case 'c':
        return nerve_cluster_parse(arg, &p->cluster) < 0
                   ? cli_usage_error("mapper", "unknown --cluster '%s' (dbscan, linkage-gap, linkage)", arg) : 0;
    case 1:
        return nerve_cover_parse(arg, &p->cover) < 0
                   ? cli_usage_error("mapper", "unknown --cover '%s' (kmapper, giotto, balanced)", arg) : 0;
    case 2:
        if (parse_real(&p->distance, arg) < 0 || p->distance <= 0)
            return cli_usage_error("mapper", "--distance wants a number > 0, not '%s'", arg);
        return 0;
    case 3:
        if ((v = cli_parse_count(arg)) < 2)
            return cli_usage_error("mapper", "--gap-bins wants a count >= 2, not '%s'", arg);
        p->gap_bins = v;
        return 0;
    case 4:
        return nerve_metric_parse(arg, &p->metric) < 0
                   ? cli_usage_error("mapper", "unknown --metric '%s' (euclidean, cosine)", arg) : 0;
    case 5:
        return nerve_neighbours_parse(arg, &p->neighbours) < 0
                   ? cli_usage_error("mapper", "unknown --neighbours '%s' (auto, exact, knn)", arg) : 0;
    case 6:
        if ((v = cli_parse_count(arg)) < 1)
            return cli_usage_error("mapper", "--min-intersection wants a count >= 1, not '%s'", arg);
        p->min_intersection = v;
        return 0;
    case 7: o->labels = arg; return 0;
    case 8: o->predictions = arg; return 0;
    case 9: o->confidence = arg; return 0;
    case 10: o->drop = 1; return 0;
    case 11: o->study = arg; return 0;
    case 12:
        if ((v = cli_parse_count(arg)) < 0)
            return cli_usage_error("mapper", "--seed wants a whole number, not '%s'", arg);
        p->seed = (uint64_t)v;
        return 0;
    }
    return cli_usage_error("mapper", "unexpected option");
}

static int mapper_run(int argc, char **argv)
{
    static const struct option options[] = {
        { "lens", required_argument, 0, 'l' },        { "intervals", required_argument, 0, 'n' },
        { "overlap", required_argument, 0, 'p' },     { "cluster", required_argument, 0, 'c' },
        { "eps", required_argument, 0, 'e' },         { "min-samples", required_argument, 0, 's' },
        { "out", required_argument, 0, 'o' },         { "format", required_argument, 0, 'f' },
        { "cover", required_argument, 0, 1 },         { "distance", required_argument, 0, 2 },
        { "gap-bins", required_argument, 0, 3 },      { "metric", required_argument, 0, 4 },
        { "neighbours", required_argument, 0, 5 },    { "min-intersection", required_argument, 0, 6 },
        { "labels", required_argument, 0, 7 },        { "predictions", required_argument, 0, 8 },
        { "confidence", required_argument, 0, 9 },    { "drop-nonfinite", no_argument, 0, 10 },
        { "study", required_argument, 0, 11 },        { "seed", required_argument, 0, 12 },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    mapper_cli o = { .lens = "l2norm", .format = NERVE_GRAPH_JSON };
    nerve_mapper_defaults(&o.p);
    int opt, status;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":l:n:p:c:e:s:o:f:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_mapper, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (!common && (status = mapper_option(&o, opt, optarg)) != 0)
            return status;
    }
    if (o.study ? argc - optind != 0 : argc - optind != 1)
        return cli_usage_error("mapper", o.study ? "--study takes no ACTS.npy" : "wants one ACTS.npy (or --study DIR)");
    if ((status = cli_common_finish()) != 0)
        return status;
    if (!o.study)
        return map_file(argv[optind], &o);
    nerve_study_mapper_summary sum;
    int rc = nerve_study_mapper(o.study, o.lens, &o.p, &sum);
    if (rc < 0)
        return cli_fail(rc);
    printf("{\"study\": \"%s\", \"layers\": %d, \"skipped\": %d, \"index\": \"%s/mapper/index.json\"}\n", o.study,
           sum.layers, sum.skipped, o.study);
    return 0;
}

const cli_command cli_mapper = {
    .name = "mapper",
    .summary = "the Mapper graph of a point cloud, or of every layer of a study",
    .run = mapper_run,
    .help = mapper_help,
};
