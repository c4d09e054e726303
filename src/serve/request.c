/*
 * request.c — a request target as it came on the wire, parsed and checked
 * before anything touches the study: the path and query percent-decoded,
 * the route picked, every parameter within its bounds. No daemon and no
 * file system, so a fuzz harness can call serve_request_parse directly.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_internal.h"

enum { QUERY_MAX = 4096, PARAMS_MAX = 32, VALUE_MAX = 512 };

int serve_fail(serve_error *e, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    e->status = status;
    return -1;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes in[0..n) into out (cap bytes, NUL-terminated); '+' is a
 * space when plus_is_space (queries). -1 when it does not fit, an escape is
 * malformed or a control character (NUL included) comes out: no name in a
 * study has one, and a NUL would cut the string short of what was checked. */
static int decode(char *out, size_t cap, const char *in, size_t n, int plus_is_space)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_digit(in[i + 1]) : -1, lo = hi >= 0 ? hex_digit(in[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7f || k + 1 >= cap)
            return -1;
        out[k++] = (char)c;
    }
    out[k] = 0;
    return 0;
}

/* ---- parameters ----------------------------------------------------------------- */

static int parse_int(int64_t *out, const char *s, int64_t lo, int64_t hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_real(double *out, const char *s, double lo, double hi)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* The smallest eps that means something for float32 activations; below it
 * every point is its own cluster (eps=1e-300 made one node a membership). */
#define EPS_MIN 1e-6
#define EPS_MAX 1e12

/* One key=value of the query into r; unknown keys are ignored, as a
 * browser may add its own. */
static int take_param(serve_request *r, const char *key, const char *v, serve_error *e)
{
    nerve_mapper_params *p = &r->mapper;
    if (strcmp(key, "layer") == 0) {
        size_t n = strlen(v);
        if (n == 0 || n >= sizeof r->layer)
            return serve_fail(e, 400, "layer must name one of the study's layers (1 to %d characters)",
                              SERVE_LAYER_MAX - 1);
        memcpy(r->layer, v, n + 1);
    } else if (strcmp(key, "intervals") == 0) {
        if (parse_int(&p->intervals, v, 1, 200) < 0)
            return serve_fail(e, 400, "intervals must be a whole number from 1 to 200, not '%.40s'", v);
    } else if (strcmp(key, "overlap") == 0) {
        if (parse_real(&p->overlap, v, 0, 0.95) < 0)
            return serve_fail(e, 400, "overlap must be a number from 0 to 0.95, not '%.40s'", v);
    } else if (strcmp(key, "eps") == 0) {
        if (parse_real(&p->eps, v, 0, EPS_MAX) < 0 || (p->eps > 0 && p->eps < EPS_MIN))
            return serve_fail(e, 400, "eps must be 0 (automatic) or a number from %g to %g, not '%.40s'", EPS_MIN,
                              EPS_MAX, v);
    } else if (strcmp(key, "min_samples") == 0) {
        if (parse_int(&p->min_samples, v, 1, 10000) < 0)
            return serve_fail(e, 400, "min_samples must be a whole number from 1 to 10000, not '%.40s'", v);
    } else if (strcmp(key, "row") == 0) {
        if (parse_int(&r->row, v, 0, INT64_MAX) < 0)
            return serve_fail(e, 400, "row must be a whole number >= 0, not '%.40s'", v);
    } else if (strcmp(key, "k") == 0) {
        if (parse_int(&r->k, v, 1, SERVE_MAX_NEIGHBOURS) < 0)
            return serve_fail(e, 400, "k must be a whole number from 1 to %d, not '%.40s'", SERVE_MAX_NEIGHBOURS, v);
    } else if (strcmp(key, "metric") == 0) {
        if (nerve_metric_parse(v, &r->metric) < 0)
            return serve_fail(e, 400, "metric must be euclidean or cosine, not '%.40s'", v);
    } else if (strcmp(key, "input") == 0) {
        if (parse_int(&r->input, v, 0, INT64_MAX) < 0)
            return serve_fail(e, 400, "input must be a whole number >= 0, not '%.40s'", v);
    }
    return 0;
}

static int parse_query(serve_request *r, const char *q, serve_error *e)
{
    if (strlen(q) > QUERY_MAX)
        return serve_fail(e, 400, "the query is longer than %d characters", QUERY_MAX);
    int params = 0;
    for (const char *at = q; *at;) {
        size_t n = strcspn(at, "&");
        if (n > 0) {
            if (++params > PARAMS_MAX)
                return serve_fail(e, 400, "more than %d query parameters", PARAMS_MAX);
            const char *eq = memchr(at, '=', n);
            size_t kn = eq ? (size_t)(eq - at) : n;
            char key[64], value[VALUE_MAX];
            if (decode(key, sizeof key, at, kn, 1) < 0 ||
                decode(value, sizeof value, eq ? eq + 1 : at + n, eq ? n - kn - 1 : 0, 1) < 0)
                return serve_fail(e, 400, "a query parameter is malformed, too long or holds a control character");
            if (take_param(r, key, value, e) < 0)
                return -1;
        }
        at += n + (at[n] == '&');
    }
    return 0;
}

/* ---- routes ---------------------------------------------------------------------- */

int serve_route_is_heavy(serve_route route)
{
    return route == SERVE_ROUTE_MAPPER || route == SERVE_ROUTE_ACTIVATIONS || route == SERVE_ROUTE_NEIGHBOURS;
}

static const struct { const char *path; serve_route route; } api_routes[] = {
    { "/api/study", SERVE_ROUTE_STUDY },
    { "/api/mapper", SERVE_ROUTE_MAPPER },
    { "/api/activations", SERVE_ROUTE_ACTIVATIONS },
    { "/api/neighbours", SERVE_ROUTE_NEIGHBOURS },
};

int serve_request_parse(serve_request *r, const char *target, serve_error *e)
{
    memset(r, 0, sizeof *r);
    nerve_mapper_defaults(&r->mapper);
    r->input = -1;
    r->row = -1;
    r->k = 12;
    size_t n = strcspn(target, "?");
    char path[SERVE_PATH_MAX];
    if (target[0] != '/' || decode(path, sizeof path, target, n, 0) < 0)
        return serve_fail(e, 400, "the path is malformed, longer than %d characters or holds a control character",
                          SERVE_PATH_MAX - 1);
    const char *rest = NULL;   /* what r->path gets */
    if (strcmp(path, "/") == 0) {
        r->route = SERVE_ROUTE_ASSET;
        rest = "index.html";
    } else if (strncmp(path, "/study/", 7) == 0) {
        r->route = SERVE_ROUTE_STUDY_FILE;
        rest = path + 7;
    } else if (serve_asset_find(path + 1)) {
        r->route = SERVE_ROUTE_ASSET;
        rest = path + 1;
    }
    if (rest)
        memcpy(r->path, rest, strlen(rest) + 1);   /* shorter than path, which fits */
    for (size_t i = 0; i < sizeof api_routes / sizeof *api_routes; i++)
        if (strcmp(path, api_routes[i].path) == 0)
            r->route = api_routes[i].route;
    if (r->route == SERVE_ROUTE_NONE)
        return serve_fail(e, 404, "no such route (see nerve serve --help)");
    if (target[n] == '?' && parse_query(r, target + n + 1, e) < 0)
        return -1;
    if (r->route == SERVE_ROUTE_MAPPER && !r->layer[0])
        return serve_fail(e, 400, "which layer? (layer=NAME, as /api/study lists them)");
    if (r->route == SERVE_ROUTE_NEIGHBOURS && (!r->layer[0] || r->row < 0))
        return serve_fail(e, 400, "which layer and row? (layer=NAME&row=N, as /api/study lists the layers)");
    if (r->route == SERVE_ROUTE_ACTIVATIONS && r->input < 0)
        return serve_fail(e, 400, "which input? (input=N, a whole number >= 0)");
    return 0;
}
