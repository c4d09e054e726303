/*
 * server.c — the HTTP side of `nerve serve`: libmicrohttpd with a pool of
 * threads, a routing table, JSON errors, the embedded viewer and the
 * study's files (read-only, confined to the study's folder).
 */
#define _DEFAULT_SOURCE   /* realpath */
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve_internal.h"

enum { POOL_THREADS = 4, CONNECTION_LIMIT = 256, CONNECTION_TIMEOUT_S = 30 };

struct nerve_server {
    struct MHD_Daemon *daemon;
    serve_ctx          ctx;
    int                port;
};

void nerve_serve_defaults(nerve_serve_options *o)
{
    o->study = "study";
    o->host = "127.0.0.1";
    o->port = 8800;
}

/* ---- responses -------------------------------------------------------------- */

static enum MHD_Result send_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *r,
                                     const char *type)
{
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Sends a JSON value (and releases it). */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    return send_response(c, status, r, "application/json");
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *message)
{
    return send_json(c, status, json_pack("{s:s, s:i}", "error", message, "status", (int)status));
}

static const char *content_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".json", "application/json" }, { ".npy", "application/octet-stream" }, { ".png", "image/png" },
        { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* ---- the study's files ----------------------------------------------------- */

/* The study's folder, resolved, as the context's root: it must hold a
 * manifest.json. */
int serve_open_study(serve_ctx *s, const char *study)
{
    char manifest[PATH_MAX + 32], *out = s->root;
    if (!realpath(study, out))
        return nerve_error_set(NERVE_EINPUT, "%s: no such study folder", study);
    snprintf(manifest, sizeof manifest, "%s/manifest.json", out);
    if (access(manifest, R_OK) != 0)
        return nerve_error_set(NERVE_EINPUT, "%s: not a study (no manifest.json); make one with nerve run", study);
    return 0;
}

/* Whether rel names a file inside the study: relative, no "." or ".."
 * segment, and once symlinks are resolved still under the study's folder. */
int serve_resolve(char *out, size_t cap, const serve_ctx *s, const char *rel)
{
    if (!*rel || rel[0] == '/' || strlen(rel) > 1024)
        return -1;
    for (const char *seg = rel; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return -1;
    }
    char joined[PATH_MAX + 1100], real[PATH_MAX];
    snprintf(joined, sizeof joined, "%s/%s", s->root, rel);
    if (!realpath(joined, real))
        return -1;
    size_t n = strlen(s->root);
    if (strncmp(real, s->root, n) != 0 || real[n] != '/')
        return -1;
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    snprintf(out, cap, "%s", real);
    return 0;
}

static enum MHD_Result send_study_file(struct MHD_Connection *c, const serve_ctx *s, const char *rel)
{
    char path[PATH_MAX];
    if (serve_resolve(path, sizeof path, s, rel) < 0)
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such file in the study");
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such file in the study");
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);   /* closes fd */
    return send_response(c, MHD_HTTP_OK, r, content_type(path));
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const serve_asset *a)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    return send_response(c, MHD_HTTP_OK, r, content_type(a->name));
}

/* ---- routing ---------------------------------------------------------------- */

static const char *query(struct MHD_Connection *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_api(struct MHD_Connection *c, json_t *result, const serve_error *e)
{
    if (result)
        return send_json(c, MHD_HTTP_OK, result);
    return send_error(c, e->status, e->message);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)version, (void)upload;
    const serve_ctx *s = cls;
    if (!*state) {   /* the first call of a request only announces it */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_size)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "requests have no body");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET");
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    const serve_asset *a = serve_asset_find(url + 1);
    if (a)
        return send_asset(c, a);
    if (strncmp(url, "/study/", 7) == 0)
        return send_study_file(c, s, url + 7);
    serve_error e = { 0 };
    if (strcmp(url, "/api/study") == 0)
        return send_api(c, serve_api_study(s, &e), &e);
    if (strcmp(url, "/api/mapper") == 0) {
        serve_mapper_query q = { query(c, "layer"), query(c, "intervals"), query(c, "overlap"), query(c, "eps"),
                                 query(c, "min_samples") };
        return send_api(c, serve_api_mapper(s, &q, &e), &e);
    }
    if (strcmp(url, "/api/activations") == 0)
        return send_api(c, serve_api_activations(s, query(c, "input"), &e), &e);
    return send_error(c, MHD_HTTP_NOT_FOUND, "no such route (see nerve serve --help)");
}

/* ---- the daemon ------------------------------------------------------------- */

int nerve_server_start(nerve_server **out, const nerve_serve_options *o)
{
    *out = NULL;
    if (o->port < 0 || o->port > 65535)
        return nerve_error_set(NERVE_EINPUT, "port %d is not in 0..65535", o->port);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
    if (inet_pton(AF_INET, o->host, &addr.sin_addr) != 1)
        return nerve_error_set(NERVE_EINPUT, "%s: not an IPv4 address to bind", o->host);
    nerve_server *s = calloc(1, sizeof *s);
    if (!s)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    int rc = serve_open_study(&s->ctx, o->study);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle, &s->ctx,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
                                 (unsigned)POOL_THREADS, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    if (!s->daemon) {
        free(s);
        return nerve_error_set(NERVE_EIO, "cannot listen on %s:%d (in use, or not this machine's address)", o->host,
                               o->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    *out = s;
    return 0;
}

int nerve_server_port(const nerve_server *s)
{
    return s->port;
}

void nerve_server_stop(nerve_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
