/*
 * mapper.c — `nerve mapper ACTS.npy`: the Mapper graph of a point cloud,
 * written in one of four formats, with its figures as JSON on stdout; or
 * `nerve mapper --study DIR`: every layer's graph into the study.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/internal/path.h"
#include "nerve/mapper.h"
#include "nerve/study.h"
#include "cli.h"
#include "options.h"

typedef struct mapper_cli {
    nerve_mapper_params p;
    const char *lens, *out, *labels, *predictions, *confidence, *study;
    nerve_graph_format format;
    int drop;
} mapper_cli;

CLI_ENUM_TYPE(static, neighbours_enum, nerve_neighbours, nerve_neighbours_parse, nerve_neighbours_name,
              "auto, exact, knn");
CLI_ENUM_TYPE(static, format_enum, nerve_graph_format, nerve_graph_format_parse, nerve_graph_format_name,
              "json, node-link, graphml, kmapper");

#define AT(field) CLI_AT(mapper_cli, field)
static const cli_option options[] = {
    { CLI_OPT("lens", 'l', CLI_STRING, "SPEC", "one of the lenses above; several, comma-separated,\n"
              "make a multi-dimensional lens (l2norm is TopoAct's)", AT(lens)), .section = "lens and cover:" },
    { CLI_OPT("intervals", 'n', CLI_INT, "N", "intervals per lens dimension", AT(p.intervals)), CLI_MIN(1) },
    { CLI_OPT("overlap", 'p', CLI_REAL, "P", "overlap of neighbouring intervals", AT(p.overlap)),
      CLI_RANGE_OPEN(0, 1) },
    { CLI_OPT("cover", 0, CLI_ENUM, "KIND", "kmapper (KeplerMapper 2.1's), giotto (giotto-tda's\n"
              "overlap), balanced (equal counts)", AT(p.cover)), .enumeration = &cli_cover },
    { CLI_OPT("cluster", 'c', CLI_ENUM, "KIND", "dbscan, linkage-gap (single linkage cut at the\n"
              "first histogram gap), linkage (cut at --distance)", AT(p.cluster)), .enumeration = &cli_cluster,
      .section = "clustering (inside each cover element):" },
    { CLI_OPT("eps", 'e', CLI_REAL, "E", "DBSCAN radius", AT(p.eps)), CLI_ABOVE(0),
      .default_text = "automatic, the knee of the sorted min-samples-th neighbour distances" },
    { CLI_OPT("min-samples", 's', CLI_INT, "N", "DBSCAN min_samples, and the fewest points an element\n"
              "needs to be clustered", AT(p.min_samples)), CLI_MIN(1) },
    { CLI_OPT("distance", 0, CLI_REAL, "D", "the cut height of --cluster linkage", AT(p.distance)), CLI_ABOVE(0),
      .default_text = "" },
    { CLI_OPT("gap-bins", 0, CLI_INT, "N", "histogram bins of --cluster linkage-gap", AT(p.gap_bins)), CLI_MIN(2) },
    { CLI_OPT("metric", 0, CLI_ENUM, "M", "euclidean or cosine", AT(p.metric)), .enumeration = &cli_metric },
    { CLI_OPT("neighbours", 0, CLI_ENUM, "HOW", "auto, exact (every pair in an element) or knn (one\n"
              "approximate 15-NN graph; for huge clouds)", AT(p.neighbours)), .enumeration = &neighbours_enum },
    { CLI_OPT("min-intersection", 0, CLI_INT, "N", "shared inputs for an edge", AT(p.min_intersection)),
      CLI_MIN(1) },
    { CLI_OPT("labels", 0, CLI_STRING, "L.npy", "true classes (N integers)", AT(labels)),
      .section = "inputs' metadata (node purity, misclassification, meta: lenses):" },
    { CLI_OPT("predictions", 0, CLI_STRING, "P.npy", "predicted classes", AT(predictions)) },
    { CLI_OPT("confidence", 0, CLI_STRING, "C.npy", "confidence of the predictions", AT(confidence)) },
    { CLI_OPT("drop-nonfinite", 0, CLI_FLAG, NULL, "skip rows with NaN or infinity (listed in the output)",
              AT(drop)) },
    { CLI_OPT("out", 'o', CLI_STRING, "FILE", "where to write the graph", AT(out)),
      .default_text = "ACTS.mapper.json", .section = "output:" },
    { CLI_OPT("format", 'f', CLI_ENUM, "F", "json, node-link, graphml, kmapper", AT(format)),
      .enumeration = &format_enum },
    { CLI_OPT("study", 0, CLI_STRING, "DIR", "every layer of a study: DIR/mapper/<layer>.json,\n"
              "links between consecutive layers, index.json", AT(study)) },
    { CLI_OPT("seed", 0, CLI_SEED, "S", "for sampled steps", AT(p.seed)) },
    { 0 },
};
#undef AT

static mapper_cli defaults(void)
{
    mapper_cli o = { .lens = "l2norm", .format = NERVE_GRAPH_JSON };
    nerve_mapper_defaults(&o.p);
    return o;
}

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
           "lenses: %s\n"
           "\n", NERVE_LENS_NAMES);
    mapper_cli d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve mapper --lens l2norm --intervals 30 --overlap 0.3 study/acts/fc1.npy\n"
           "  nerve mapper --lens npy:lens.npy --eps 0.5 --min-samples 3 -f kmapper -o g.json x.npy\n"
           "  nerve mapper --study study\n");
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
        int rc = nerve_path(default_out, sizeof default_out, "%.*s.mapper.%s",
                            (int)(n > 4 && strcmp(in + n - 4, ".npy") == 0 ? n - 4 : n), in,
                            o->format == NERVE_GRAPH_GRAPHML ? "graphml" : "json");
        if (rc < 0)
            return cli_fail(rc);
        o->out = default_out;
    }
    nerve_mat x;
    nerve_mapper_columns columns = { 0 };
    int64_t *kept = NULL, dropped = 0, n_orig = 0;
    int rc = nerve_mat_read_npy(&x, in);
    if (rc < 0)
        return cli_fail(rc);
    n_orig = x.rows;
    rc = nerve_mapper_columns_read(&columns, o->labels, o->predictions, o->confidence, x.rows);
    if (rc == 0 && o->drop)
        rc = nerve_mapper_drop_nonfinite(&x, &columns, &kept, &dropped, in);
    nerve_mapper_meta meta = nerve_mapper_columns_meta(&columns, o->p.seed);
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
    nerve_mapper_columns_free(&columns);
    nerve_mat_free(&x);
    free(kept);
    return rc < 0 ? cli_fail(rc) : 0;
}

static int mapper_run(int argc, char **argv)
{
    mapper_cli o = defaults();
    int first, status;
    if (cli_parse(&cli_mapper, options, &o, argc, argv, &first, &status) < 0)
        return status;
    if (o.study ? argc - first != 0 : argc - first != 1)
        return cli_usage_error("mapper", o.study ? "--study takes no ACTS.npy" : "wants one ACTS.npy (or --study DIR)");
    if (!o.study)
        return map_file(argv[first], &o);
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
