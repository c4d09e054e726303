/*
 * guard.c — what keeps a request's cost bounded and its origin honest: the
 * Host header against the names this server answers to (DNS rebinding),
 * and the estimate of a Mapper recompute's size before it is run.
 */
#define _DEFAULT_SOURCE   /* strncasecmp */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "serve_internal.h"

/* ---- Host ---------------------------------------------------------------------------- */

/* Whether host is name, or name:port (name compared without case, as DNS
 * does; the port exactly). A bare name passes only for port 80, which
 * browsers leave out. */
static int host_is(const char *host, const char *name, int port)
{
    size_t n = strlen(name);
    if (strncasecmp(host, name, n) != 0)
        return 0;
    if (host[n] == 0)
        return port == 80;
    char want[16];
    snprintf(want, sizeof want, ":%d", port);
    return strcmp(host + n, want) == 0;
}

int serve_host_allowed(const char *host, const serve_hosts *h)
{
    if (!host)
        return 0;
    static const char *const loopback[] = { "127.0.0.1", "localhost", "[::1]" };
    for (size_t i = 0; i < sizeof loopback / sizeof *loopback; i++)
        if (host_is(host, loopback[i], h->port))
            return 1;
    if (h->bound && host_is(host, h->bound, h->port))
        return 1;
    for (const char **a = h->allowed; a && *a; a++) {
        /* A name given with its port must match exactly, else any port of ours. */
        if (strchr(*a, ':') && strchr(*a, ']') == NULL ? strcasecmp(host, *a) == 0 : host_is(host, *a, h->port))
            return 1;
    }
    return 0;
}

/* ---- the cost of a Mapper recompute ------------------------------------------------------ */

/* The server's lens (the L2 norm) is one-dimensional: an interval cover of
 * k intervals overlapping by o puts a point in at most floor(1/(1-o)) + 1
 * of them, and never in more than k. */
static double elements_per_point(const nerve_mapper_params *p)
{
    double per = floor(1.0 / (1.0 - p->overlap)) + 1;
    return fmin(per, (double)p->intervals);
}

void serve_mapper_estimate(serve_mapper_cost *c, int64_t points, int64_t dim, const nerve_mapper_params *p)
{
    double n = (double)points, per = elements_per_point(p);
    c->memberships = n * per;
    /* A DBSCAN cluster holds a core point and its min_samples neighbours. */
    c->nodes = c->memberships / (double)(p->min_samples > 0 ? p->min_samples : 1);
    /* A point in `per` nodes links each pair of them. */
    c->edges = fmin(n * per * (per - 1) / 2, c->nodes * c->nodes / 2);
    c->values = n * (double)dim;
}

int serve_mapper_affordable(const serve_mapper_cost *c, serve_error *e)
{
    static const char advice[] = "fewer intervals, less overlap or a larger min_samples";
    if (c->memberships > SERVE_MAX_MEMBERSHIPS)
        return serve_fail(e, 400, "this graph would hold %.3g cover memberships (points x intervals per point); the "
                          "server's limit is %.3g: ask for %s", c->memberships, SERVE_MAX_MEMBERSHIPS, advice);
    if (c->nodes > SERVE_MAX_NODES)
        return serve_fail(e, 400, "this graph could have %.0f nodes (cover memberships / min_samples); the server's "
                          "limit is %d: ask for %s", c->nodes, SERVE_MAX_NODES, advice);
    if (c->edges > SERVE_MAX_EDGES)
        return serve_fail(e, 400, "this graph could have %.0f edges; the server's limit is %d: ask for %s", c->edges,
                          SERVE_MAX_EDGES, advice);
    if (c->values > SERVE_MAX_VALUES)
        return serve_fail(e, 400, "this layer holds %.3g values (points x dim); the server recomputes graphs of at "
                          "most %.3g: run nerve mapper on it instead", c->values, SERVE_MAX_VALUES);
    return 0;
}
