/*
 * serve_internal.h — what the serve room's files share.
 */
#ifndef NERVE_SERVE_INTERNAL_H
#define NERVE_SERVE_INTERNAL_H

#include <limits.h>
#include <stddef.h>

#include "nerve/knn.h"
#include "nerve/mapper.h"
#include "nerve/serve.h"

struct json_t;

/* What every request sees: the study's folder, symlinks resolved. */
typedef struct serve_ctx {
    char root[PATH_MAX];
} serve_ctx;

/* An API failure: the HTTP status and a message for the JSON body. */
typedef struct serve_error {
    unsigned status;
    char     message[512];
} serve_error;

/* Fills *e; returns -1 (for `return serve_fail(...)`). */
int serve_fail(serve_error *e, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fills s for the study folder, which must hold a manifest.json. */
int serve_open_study(serve_ctx *s, const char *study);

/* The study's own path of rel (out, cap), or -1 when rel is not a regular
 * file inside the study's folder. */
int serve_resolve(char *out, size_t cap, const serve_ctx *s, const char *rel);

/* GET /api/study. NULL on failure, with *e filled. */
struct json_t *serve_api_study(const serve_ctx *s, serve_error *e);

/* ---- requests (request.c): parsing and validation, no daemon, no study ---- */

typedef enum serve_route {
    SERVE_ROUTE_NONE,          /* 404 */
    SERVE_ROUTE_ASSET,         /* one of the viewer's files: path */
    SERVE_ROUTE_STUDY_FILE,    /* /study/<path> */
    SERVE_ROUTE_STUDY,         /* /api/study */
    SERVE_ROUTE_MAPPER,        /* /api/mapper: layer, mapper */
    SERVE_ROUTE_ACTIVATIONS,   /* /api/activations: input */
    SERVE_ROUTE_NEIGHBOURS,    /* /api/neighbours: layer, row, k, metric */
} serve_route;

enum { SERVE_PATH_MAX = 1024, SERVE_LAYER_MAX = 256 };

typedef struct serve_request {
    serve_route         route;
    char                path[SERVE_PATH_MAX];     /* decoded, without the leading "/" (or "/study/") */
    char                layer[SERVE_LAYER_MAX];   /* /api/mapper */
    nerve_mapper_params mapper;                   /* /api/mapper: the defaults with the query's values */
    int64_t             input;                    /* /api/activations */
    int64_t             row, k;                   /* /api/neighbours: the row (-1: none given), 1..100 */
    nerve_metric        metric;                   /* /api/neighbours: euclidean unless asked */
} serve_request;

/* Parses a request target as it came on the wire ("/api/mapper?layer=x&..."):
 * percent-decodes the path and the query, picks the route and checks every
 * parameter against its bounds. 0, or -1 with *e (400 or 404) filled. A pure
 * function: the fuzz harness calls it directly. */
int serve_request_parse(serve_request *r, const char *target, serve_error *e);

/* Whether a route runs the model or the Mapper: one at a time per client. */
int serve_route_is_heavy(serve_route route);

/* ---- guards (guard.c) ------------------------------------------------------ */

/* The names a Host header may give: the bound address and port, the
 * loopback names with the port, and the --allow-host names. */
typedef struct serve_hosts {
    const char  *bound;      /* "127.0.0.1" */
    int          port;
    const char **allowed;    /* extra names (with or without ":port"), NULL-terminated; may be NULL */
} serve_hosts;

/* 1 when host (a Host header, may be NULL) names this server. Anything
 * else is a page of another origin that DNS rebinding pointed here. */
int serve_host_allowed(const char *host, const serve_hosts *h);

/* What a Mapper recompute would cost, estimated before doing it from the
 * layer's real size (its .npy header, not the manifest's word) and the
 * parameters; the worst case over eps (every point its own cluster). */
typedef struct serve_mapper_cost {
    double memberships;   /* points x cover elements per point */
    double nodes;         /* at most memberships / min_samples */
    double edges;         /* at most points x C(elements per point, 2) */
    double values;        /* points x dim: the matrix read and searched (the radius search and
                             DBSCAN then run in about points x min_samples plus the runs) */
} serve_mapper_cost;

/* The limits a request must stay under: a graph of 60,000 nodes and
 * 600,000 edges is a JSON reply of about 30 MB; 5e7 values is a 200 MB
 * float32 matrix (the defaults over 70,000 inputs x 512 pass; Mapper
 * takes 300,000 x 512 in about 11 s, README). */
enum { SERVE_MAX_NODES = 60000, SERVE_MAX_EDGES = 600000 };
/* /api/neighbours: at most 100 a request, over at most SERVE_MAX_VALUES. */
enum { SERVE_MAX_NEIGHBOURS = 100 };
#define SERVE_MAX_MEMBERSHIPS 2.0e6
#define SERVE_MAX_VALUES 5.0e7

void serve_mapper_estimate(serve_mapper_cost *c, int64_t points, int64_t dim, const nerve_mapper_params *p);
/* 0 when c is under every limit; else -1 with a 400 in *e naming the limit. */
int  serve_mapper_affordable(const serve_mapper_cost *c, serve_error *e);

/* ---- the API (api.c) -------------------------------------------------------- */

/* GET /api/mapper. NULL on failure, with *e filled. */
struct json_t *serve_api_mapper(const serve_ctx *s, const serve_request *q, serve_error *e);

/* GET /api/neighbours?layer=L&row=I[&k=K&metric=M]: the exact K nearest rows
 * of row I in layer L's activations, without itself. NULL on failure. */
struct json_t *serve_api_neighbours(const serve_ctx *s, const serve_request *q, serve_error *e);

/* GET /api/activations?input=N. NULL on failure, with *e filled. */
struct json_t *serve_api_activations(const serve_ctx *s, int64_t input, serve_error *e);

/* The viewer's files, compiled in (web/ and d3). */
typedef struct serve_asset {
    const char          *name;   /* "index.html" */
    const unsigned char *data;
    size_t               size;
} serve_asset;

const serve_asset *serve_asset_find(const char *name);
/* All of them, for the one-file report. */
const serve_asset *serve_assets(int *count);

/* libmicrohttpd opened (lazy_mhd.c): 0, or NERVE_EUNSUPPORTED naming it. */
int nerve_mhd_require(void);

#endif
