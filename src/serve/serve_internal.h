/*
 * serve_internal.h — what the serve room's files share.
 */
#ifndef NERVE_SERVE_INTERNAL_H
#define NERVE_SERVE_INTERNAL_H

#include <limits.h>
#include <stddef.h>

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

/* Fills s for the study folder, which must hold a manifest.json. */
int serve_open_study(serve_ctx *s, const char *study);

/* The study's own path of rel (out, cap), or -1 when rel is not a regular
 * file inside the study's folder. */
int serve_resolve(char *out, size_t cap, const serve_ctx *s, const char *rel);

/* GET /api/study. NULL on failure, with *e filled. */
struct json_t *serve_api_study(const serve_ctx *s, serve_error *e);

typedef struct serve_mapper_query {
    const char *layer, *intervals, *overlap, *eps, *min_samples;   /* NULL: absent */
} serve_mapper_query;

/* GET /api/mapper. NULL on failure, with *e filled. */
struct json_t *serve_api_mapper(const serve_ctx *s, const serve_mapper_query *q, serve_error *e);

/* GET /api/activations?input=N. NULL on failure, with *e filled. */
struct json_t *serve_api_activations(const serve_ctx *s, const char *input, serve_error *e);

/* The viewer's files, compiled in (web/ and d3). */
typedef struct serve_asset {
    const char          *name;   /* "index.html" */
    const unsigned char *data;
    size_t               size;
} serve_asset;

const serve_asset *serve_asset_find(const char *name);
/* All of them, for the one-file report. */
const serve_asset *serve_assets(int *count);

#endif
