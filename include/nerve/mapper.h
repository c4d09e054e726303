/*
 * nerve/mapper.h — the mapper room: a point cloud summarised as a graph.
 * A lens maps every point to a few numbers; an overlapping cover of the
 * lens's range splits the cloud into overlapping pieces; each piece is
 * clustered, every cluster is a node, and two nodes are joined when they
 * share inputs (the nerve of the cover).
 *
 *     nerve_mat acts = { 0 };             // N x C float32, one row per input
 *     nerve_lens lens = { 0 };
 *     nerve_mapper_params p;
 *     nerve_mapper_graph g = { 0 };
 *     nerve_mapper_defaults(&p);          // kmapper cover, 15 intervals, 40%, DBSCAN
 *     int rc = nerve_mat_read_npy(&acts, "acts.npy");
 *     if (rc == 0)
 *         rc = nerve_lens_compute(&lens, "l2norm", &acts, NULL);
 *     if (rc == 0)
 *         rc = nerve_mapper_build(&g, &acts, &lens, &p, NULL);
 *     if (rc == 0)   // the members of node v: g.members[g.member_start[v] .. g.member_start[v + 1])
 *         rc = nerve_mapper_write("graph.json", NERVE_GRAPH_JSON, &g, &p, &lens);
 *     if (rc == 0)
 *         printf("%lld nodes, %lld edges\n", (long long)g.n_nodes, (long long)g.n_edges);
 *     else
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *     nerve_mapper_graph_free(&g);
 *     nerve_lens_free(&lens);
 *     nerve_mat_free(&acts);
 *     if (rc < 0)
 *         return nerve_exit_status(rc);
 *
 * With the kmapper cover and exact DBSCAN the graph is KeplerMapper's (2.1)
 * with scikit-learn's DBSCAN: the same nodes (as member sets, in the same
 * order and with the same cube/cluster numbers) and the same edges.
 */
#ifndef NERVE_MAPPER_H
#define NERVE_MAPPER_H

#include "nerve/core.h"
#include "nerve/knn.h"

/* ---- lenses ------------------------------------------------------------- */

/* What lenses may know about the inputs besides their vectors (all
 * optional: NULL or a 0 count means unknown). */
typedef struct nerve_mapper_meta {
    const int64_t *labels;        /* N true classes */
    const int64_t *predictions;   /* N predicted classes */
    const float   *confidence;    /* N confidences of the prediction */
    int            n_classes;     /* 0: one more than the largest label */
    uint64_t       seed;          /* for sampled steps (approximate kNN) */
} nerve_mapper_meta;

/* The most classes labels may name. Node figures hold a count per node and
 * class, and the graph's JSON writes them all, so a label is a size: 32,768
 * covers ImageNet-21k's 21,841 classes, and a larger one is not a class
 * (one label of 10^7 once asked for 14.5 GB). Not tied to the row count,
 * since a few hundred inputs of a 1,000-class set is ordinary. */
enum { NERVE_MAPPER_MAX_CLASSES = 32768 };

/* Checks N labels read from `what` (a file, named in the message): each
 * from 0 to NERVE_MAPPER_MAX_CLASSES - 1. *n_classes (may be NULL) gets
 * one more than the largest. */
int nerve_mapper_labels_check(int64_t *n_classes, const int64_t *labels, int64_t n, const char *what);

/* The inputs' metadata as read from .npy files, owned; a column not given
 * stays empty (data NULL). */
typedef struct nerve_mapper_columns {
    nerve_array labels, predictions, confidence;   /* N int64, N int64, N float32 */
} nerve_mapper_columns;

/* Reads the columns whose path is not NULL; each must hold n values, and
 * labels are checked (nerve_mapper_labels_check). Nothing to free after a
 * failure. */
int  nerve_mapper_columns_read(nerve_mapper_columns *out, const char *labels, const char *predictions,
                               const char *confidence, int64_t n);
void nerve_mapper_columns_free(nerve_mapper_columns *c);
/* The columns as lenses and node figures read them (pointing into c). */
nerve_mapper_meta nerve_mapper_columns_meta(const nerve_mapper_columns *c, uint64_t seed);

/* Drops the rows of x that hold NaN or infinity, and the same entries of
 * the columns (c may be NULL), into fresh memory (a read may have mapped
 * the file). *kept (malloc'd, free it; NULL after a failure) gets the
 * original row of each row left, *dropped how many went. An input whose
 * every row goes is refused, named by label. */
int nerve_mapper_drop_nonfinite(nerve_mat *x, nerve_mapper_columns *c, int64_t **kept, int64_t *dropped,
                                const char *label);

typedef struct nerve_lens {
    int64_t n, dims;
    double *values;               /* n x dims */
    char    spec[256];            /* as given, for the record */
} nerve_lens;

/* spec: one or more of l2norm, pca:K, coord:I, density:K, eccentricity,
 * knn-distance:K, npy:FILE, meta:confidence, meta:label, joined by commas;
 * the dimensions are concatenated in that order. */
int  nerve_lens_compute(nerve_lens *out, const char *spec, const nerve_mat *points,
                        const nerve_mapper_meta *meta);
void nerve_lens_free(nerve_lens *lens);
/* The valid lens names, for error messages and --help. */
extern const char NERVE_LENS_NAMES[];

/* ---- the cover ---------------------------------------------------------- */

typedef enum nerve_cover_kind {
    NERVE_COVER_KMAPPER = 0,   /* KeplerMapper's: radius = range / (2 n (1 - p)), closed */
    NERVE_COVER_GIOTTO,        /* giotto-tda's: length = range / (n (1 - p) + p), open, ends unbounded */
    NERVE_COVER_BALANCED,      /* the kmapper cover over the lens's ranks: equal counts */
} nerve_cover_kind;

const char *nerve_cover_name(nerve_cover_kind k);
int         nerve_cover_parse(const char *s, nerve_cover_kind *k);   /* -1 if unknown */

/* The cover's elements with at least one point, in KeplerMapper's order
 * (the product of the per-dimension intervals, first dimension slowest). */
typedef struct nerve_cover {
    int64_t  n_elements;
    int64_t *start;      /* n_elements + 1 offsets into points */
    int64_t *points;     /* each element's point indices, ascending */
    int64_t *grid;       /* n_elements: the element's index in the full product */
} nerve_cover;

int  nerve_cover_build(nerve_cover *out, const nerve_lens *lens, nerve_cover_kind kind,
                       int64_t intervals, double overlap);
void nerve_cover_free(nerve_cover *c);

/* ---- clustering --------------------------------------------------------- */

typedef enum nerve_cluster_kind {
    NERVE_CLUSTER_DBSCAN = 0,
    NERVE_CLUSTER_LINKAGE_GAP,   /* single linkage cut at the first histogram gap (Singh et al.) */
    NERVE_CLUSTER_LINKAGE,       /* single linkage cut at a fixed distance */
} nerve_cluster_kind;

const char *nerve_cluster_name(nerve_cluster_kind k);
int         nerve_cluster_parse(const char *s, nerve_cluster_kind *k);

/* Where DBSCAN's eps-neighbourhoods come from. */
typedef enum nerve_neighbours {
    NERVE_NEIGHBOURS_AUTO = 0,   /* exact unless the pairwise work is too large */
    NERVE_NEIGHBOURS_EXACT,      /* every pair in a cover element (blocked GEMM) */
    NERVE_NEIGHBOURS_KNN,        /* the pairs of one kNN graph of the whole cloud */
} nerve_neighbours;

const char *nerve_neighbours_name(nerve_neighbours n);
int         nerve_neighbours_parse(const char *s, nerve_neighbours *n);

/* ---- the graph ---------------------------------------------------------- */

typedef struct nerve_mapper_params {
    nerve_cover_kind   cover;
    int64_t            intervals;         /* per lens dimension */
    double             overlap;           /* in [0, 1) */
    nerve_cluster_kind cluster;
    double             eps;               /* DBSCAN radius; 0: automatic (knee) */
    int64_t            min_samples;       /* DBSCAN; also the smallest element clustered */
    double             distance;          /* single linkage cut (NERVE_CLUSTER_LINKAGE) */
    int64_t            gap_bins;          /* histogram bins of the gap heuristic */
    nerve_metric       metric;
    nerve_neighbours   neighbours;
    int64_t            knn_k;             /* neighbours per point in knn mode */
    int64_t            min_intersection;  /* shared inputs for an edge */
    uint64_t           seed;
} nerve_mapper_params;

void nerve_mapper_defaults(nerve_mapper_params *p);

typedef struct nerve_mapper_edge {
    int64_t a, b;        /* a < b */
    int64_t shared;      /* inputs in both nodes */
    double  jaccard;     /* shared / |a u b| */
} nerve_mapper_edge;

typedef struct nerve_mapper_graph {
    int64_t  n_points, n_nodes, n_edges, lens_dims, n_classes;
    int64_t *member_start;     /* n_nodes + 1 */
    int64_t *members;          /* point indices, ascending within a node */
    int64_t *node_element;     /* the node's cover element (index among non-empty ones) */
    int64_t *node_cluster;     /* its cluster label inside the element */
    nerve_mapper_edge *edges;  /* sorted by (a, b) */

    /* node figures */
    double  *mean_lens;        /* n_nodes x lens_dims */
    int64_t *label_counts;     /* n_nodes x n_classes, when labels are known */
    int64_t *dominant;         /* the most frequent label, -1 if unknown */
    double  *purity;           /* its share */
    double  *misclassified;    /* share with prediction != label, NaN if unknown */
    double  *mean_confidence;  /* NaN if unknown */
    double  *mean_norm;        /* mean L2 norm of the members' vectors */
    double  *mean_activation;  /* mean of all the members' vector entries */

    /* graph figures */
    int64_t  components, loops, branch_points, leaves, isolated;
    int64_t  n_cycles;         /* = loops: a cycle basis */
    int64_t *cycle_start;      /* n_cycles + 1 */
    int64_t *cycle_nodes;      /* each cycle as a node sequence */

    /* how it was built */
    double   eps;              /* the DBSCAN eps used (automatic or given) */
    int64_t  n_elements;       /* non-empty cover elements */
    int64_t  clustered;        /* elements with at least min_samples points */
    nerve_neighbours neighbours_used;
} nerve_mapper_graph;

/* Builds the graph of points under a lens. meta may be NULL. */
int  nerve_mapper_build(nerve_mapper_graph *g, const nerve_mat *points, const nerve_lens *lens,
                        const nerve_mapper_params *p, const nerve_mapper_meta *meta);

/* The clustering of the cover's elements shared by processes that build
 * the same graph together (the study room's ranks; this room knows
 * nothing of them). share marks in mine[e] the elements this process
 * clusters (element e holds points start[e] to start[e + 1]); gather,
 * called whatever became of that (status: 0 or this process's error),
 * fills in every element's labels (-1: noise; element e's from labels +
 * start[e]) and cluster count from the process that clustered it, and
 * returns 0 only if every process succeeded. Each process ends with the
 * same graph, or the same error code. */
typedef struct nerve_mapper_split {
    void *ctx;
    int (*share)(void *ctx, const int64_t *start, int64_t n_elements, char *mine);
    int (*gather)(void *ctx, int32_t *labels, int64_t *n_clusters, const int64_t *start, int64_t n_elements,
                  const char *mine, int status);
} nerve_mapper_split;
/* nerve_mapper_build with the elements shared as split says (NULL: all here). */
int  nerve_mapper_build_split(nerve_mapper_graph *g, const nerve_mat *points, const nerve_lens *lens,
                              const nerve_mapper_params *p, const nerve_mapper_meta *meta,
                              const nerve_mapper_split *split);
void nerve_mapper_graph_free(nerve_mapper_graph *g);

/* DBSCAN's automatic eps: the knee of the sorted distances to each point's
 * min_samples-th nearest neighbour (itself counted, as scikit-learn does),
 * the point farthest below the chord from the first to the last. */
int  nerve_mapper_auto_eps(double *eps, const nerve_mat *points, int64_t min_samples, nerve_metric metric,
                           uint64_t seed);

/* Links between the nodes of two graphs over the same inputs (consecutive
 * layers): every pair of nodes that share inputs, with the count. */
typedef struct nerve_mapper_links {
    int64_t  n;
    int64_t *a, *b, *shared;
} nerve_mapper_links;

int  nerve_mapper_links_between(nerve_mapper_links *out, const nerve_mapper_graph *ga,
                                const nerve_mapper_graph *gb);
void nerve_mapper_links_free(nerve_mapper_links *l);

/* ---- exports ------------------------------------------------------------ */

typedef enum nerve_graph_format {
    NERVE_GRAPH_JSON = 0,      /* nerve's own (schema in the README) */
    NERVE_GRAPH_NODE_LINK,     /* NetworkX node_link_data, as TopoAct's front end loads */
    NERVE_GRAPH_GRAPHML,       /* NetworkX read_graphml, Gephi */
    NERVE_GRAPH_KMAPPER,       /* KeplerMapper's graph dict: nodes, links */
} nerve_graph_format;

const char *nerve_graph_format_name(nerve_graph_format f);
int         nerve_graph_format_parse(const char *s, nerve_graph_format *f);

/* nerve's JSON of a graph (the caller releases it). */
struct json_t;
struct json_t *nerve_mapper_graph_json(const nerve_mapper_graph *g, const nerve_mapper_params *p,
                                       const nerve_lens *lens);

/* Writes the graph atomically. params and lens are recorded when given. */
int nerve_mapper_write(const char *path, nerve_graph_format f, const nerve_mapper_graph *g,
                       const nerve_mapper_params *p, const nerve_lens *lens);

#endif /* NERVE_MAPPER_H */
