/*
 * api.c — the viewer's JSON API: the study in one document (its manifest
 * and the index of every stage that ran; the page fetches the files those
 * name from /study/), and one layer's Mapper graph recomputed with the
 * viewer's slider values.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"
#include "serve_internal.h"

static json_t *fail(serve_error *e, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static json_t *fail(serve_error *e, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    e->status = status;
    return NULL;
}

/* A JSON file of the study, or JSON null when that stage has not run. */
static json_t *study_json(const serve_ctx *s, const char *rel)
{
    char path[PATH_MAX];
    if (serve_resolve(path, sizeof path, s, rel) < 0)
        return json_null();
    json_t *j = json_load_file(path, 0, NULL);
    return j ? j : json_null();
}

json_t *serve_api_study(const serve_ctx *s, serve_error *e)
{
    json_t *manifest = study_json(s, "manifest.json");
    if (json_is_null(manifest))
        return fail(e, 500, "the study's manifest.json is gone or unreadable");
    const char *base = strrchr(s->root, '/');
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", base ? base + 1 : s->root, "manifest",
                     manifest, "mapper", study_json(s, "mapper/index.json"), "ph", study_json(s, "ph/index.json"),
                     "embed", study_json(s, "embed/index.tsne.json"), "sim", study_json(s, "sim/index.json"),
                     "mean_sim", study_json(s, "mean/sim/index.json"), "dynamics",
                     study_json(s, "checkpoints/index.json"));
}

/* ---- /api/mapper -------------------------------------------------------------- */

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

/* The slider values over the defaults; an error names the bad one. */
static json_t *mapper_params(nerve_mapper_params *p, const serve_mapper_query *q, serve_error *e)
{
    nerve_mapper_defaults(p);
    if (q->intervals && parse_int(&p->intervals, q->intervals, 1, 200) < 0)
        return fail(e, 400, "intervals must be a whole number from 1 to 200, not '%.40s'", q->intervals);
    if (q->overlap && (parse_real(&p->overlap, q->overlap, 0, 0.95) < 0))
        return fail(e, 400, "overlap must be a number from 0 to 0.95, not '%.40s'", q->overlap);
    if (q->eps && parse_real(&p->eps, q->eps, 0, 1e30) < 0)
        return fail(e, 400, "eps must be a number >= 0 (0: automatic), not '%.40s'", q->eps);
    if (q->min_samples && parse_int(&p->min_samples, q->min_samples, 1, 10000) < 0)
        return fail(e, 400, "min_samples must be a whole number from 1 to 10000, not '%.40s'", q->min_samples);
    return json_true();   /* a non-NULL "ok" */
}

json_t *serve_api_activations(const serve_ctx *s, const char *input, serve_error *e)
{
    int64_t i;
    if (!input || parse_int(&i, input, 0, INT64_MAX) < 0)
        return fail(e, 400, "input must be a whole number >= 0, not '%.40s'", input ? input : "");
    json_t *maps;
    int rc = nerve_study_activation_maps(&maps, s->root, i);
    if (rc == NERVE_EINPUT)
        return fail(e, strstr(nerve_error(), "is not one of") ? 404 : 400, "%s", nerve_error());
    if (rc < 0)
        return fail(e, 500, "%s", nerve_error());
    return maps;
}

json_t *serve_api_mapper(const serve_ctx *s, const serve_mapper_query *q, serve_error *e)
{
    if (!q->layer || !*q->layer)
        return fail(e, 400, "which layer? (layer=NAME, as /api/study lists them)");
    nerve_mapper_params p;
    json_t *ok = mapper_params(&p, q, e);
    if (!ok)
        return NULL;
    json_decref(ok);
    json_t *graph;
    double t0 = nerve_now();
    int rc = nerve_study_mapper_layer(&graph, s->root, q->layer, "l2norm", &p);
    if (rc == NERVE_EINPUT)
        return fail(e, strstr(nerve_error(), "no layer") ? 404 : 400, "%s", nerve_error());
    if (rc < 0)
        return fail(e, 500, "%s", nerve_error());
    json_object_set_new(graph, "seconds", json_real(nerve_now() - t0));
    json_object_set_new(graph, "layer", json_string(q->layer));
    return graph;
}
