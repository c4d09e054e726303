/*
 * server.c — the HTTP side of `nerve serve`: libmicrohttpd with a thread
 * per connection (a Mapper recompute holds only its own connection), JSON
 * errors, the embedded viewer and the study's files (read-only, confined to
 * the study's folder, no dotfiles, no temporary files). Every request is
 * checked before it costs anything: its Host header (DNS rebinding), its
 * target (request.c), and for the heavy routes a slot: one heavy request
 * per client and HEAVY_SLOTS in all, so the light routes keep answering.
 */
#define _DEFAULT_SOURCE   /* realpath */
#include <arpa/inet.h>
#include <pthread.h>
#include <fcntl.h>
#include <malloc.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nerve/internal/path.h"
#include "serve_internal.h"

enum { CONNECTION_LIMIT = 128, CONNECTION_TIMEOUT_S = 30, HEAVY_SLOTS = 2 };

/* The Content-Security-Policy of every answer: scripts only from the
 * server's own files (no inline script, no event handler attributes, no
 * eval), styles only from style.css and the script's CSSOM, images from
 * the study and data: URLs, no framing by another site. */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* The heavy requests running now, by client address. */
typedef struct heavy_slots {
    pthread_mutex_t lock;
    struct in_addr  client[HEAVY_SLOTS];
    int             used[HEAVY_SLOTS];
} heavy_slots;

struct nerve_server {
    struct MHD_Daemon *daemon;
    serve_ctx          ctx;
    int                port;
    char               bound[64];
    serve_hosts        hosts;
    heavy_slots        heavy;
};

/* What MHD keeps for one request: its target as sent (before MHD decodes
 * it) and the client's address. */
typedef struct request_state {
    char          *target;
    struct in_addr client;
    int            started;
} request_state;

void nerve_serve_defaults(nerve_serve_options *o)
{
    o->study = "study";
    o->host = "127.0.0.1";
    o->port = 8800;
    o->allow_remote = 0;
    o->allow_hosts = NULL;
}

/* ---- responses -------------------------------------------------------------- */

static enum MHD_Result send_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *r,
                                     const char *type)
{
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", csp);
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
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
    int rc = nerve_path(manifest, sizeof manifest, "%s/manifest.json", out);
    if (rc < 0)
        return rc;
    if (access(manifest, R_OK) != 0)
        return nerve_error_set(NERVE_EINPUT, "%s: not a study (no manifest.json); make one with nerve run", study);
    return 0;
}

/* Whether a name is one nerve writes for a moment or keeps for itself:
 * "x.tmp", "x.tmp.<pid>", "x.json.tmp.123" (nerve_outfile's), and
 * everything hidden (".extract-state", ".lock"). */
static int is_private_name(const char *name, size_t n)
{
    if (n > 0 && name[0] == '.')
        return 1;
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(name + i, ".tmp", 4) == 0 && (i + 4 == n || name[i + 4] == '.'))
            return 1;
    return 0;
}

/* Whether rel names a file inside the study: relative, no hidden, "." or
 * ".." segment, no temporary file, and once symlinks are resolved still
 * under the study's folder (and still not hidden or temporary there). */
int serve_resolve(char *out, size_t cap, const serve_ctx *s, const char *rel)
{
    if (!*rel || rel[0] == '/' || strlen(rel) > 1024)
        return -1;
    for (const char *seg = rel; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || is_private_name(seg, n))
            return -1;
    }
    char joined[PATH_MAX + 1100], real[PATH_MAX];
    if (nerve_path(joined, sizeof joined, "%s/%s", s->root, rel) < 0 || !realpath(joined, real))
        return -1;
    size_t n = strlen(s->root);
    if (strncmp(real, s->root, n) != 0 || real[n] != '/')
        return -1;
    for (const char *seg = real + n + 1; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
        if (is_private_name(seg, strcspn(seg, "/")))   /* a symlink to a hidden file of the study */
            return -1;
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return nerve_path(out, cap, "%s", real) < 0 ? -1 : 0;
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

/* ---- heavy requests ---------------------------------------------------------- */

/* A slot for a heavy request of client: 0, or the status to refuse with
 * (429 when this client already runs one, 503 when all slots are taken). */
static unsigned heavy_acquire(heavy_slots *h, struct in_addr client, int *slot)
{
    unsigned refuse = 0;
    *slot = -1;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < HEAVY_SLOTS; i++) {
        if (h->used[i] && h->client[i].s_addr == client.s_addr)
            refuse = MHD_HTTP_TOO_MANY_REQUESTS;
        else if (!h->used[i] && *slot < 0)
            *slot = i;
    }
    if (refuse || *slot < 0) {
        refuse = refuse ? refuse : MHD_HTTP_SERVICE_UNAVAILABLE;
        *slot = -1;
    } else {
        h->used[*slot] = 1;
        h->client[*slot] = client;
    }
    pthread_mutex_unlock(&h->lock);
    return refuse;
}

static void heavy_release(heavy_slots *h, int slot)
{
    pthread_mutex_lock(&h->lock);
    h->used[slot] = 0;
    pthread_mutex_unlock(&h->lock);
}

static json_t *run_heavy(nerve_server *srv, const serve_request *q, serve_error *e)
{
    if (q->route == SERVE_ROUTE_MAPPER)
        return serve_api_mapper(&srv->ctx, q, e);
    if (q->route == SERVE_ROUTE_NEIGHBOURS)
        return serve_api_neighbours(&srv->ctx, q, e);
    return serve_api_activations(&srv->ctx, q->input, e);
}

/* ---- routing ---------------------------------------------------------------- */

static enum MHD_Result send_api(struct MHD_Connection *c, json_t *result, const serve_error *e)
{
    if (result)
        return send_json(c, MHD_HTTP_OK, result);
    return send_error(c, e->status, e->message);
}

static enum MHD_Result send_heavy(struct MHD_Connection *c, nerve_server *srv, const request_state *st,
                                  const serve_request *q)
{
    int slot;
    unsigned refuse = heavy_acquire(&srv->heavy, st->client, &slot);
    if (refuse == MHD_HTTP_TOO_MANY_REQUESTS)
        return send_error(c, refuse, "one recompute at a time per client: this one waits for the previous answer");
    if (refuse)
        return send_error(c, refuse, "the server is busy with other recomputes; try again in a moment");
    serve_error e = { 0 };
    json_t *result = run_heavy(srv, q, &e);
    heavy_release(&srv->heavy, slot);
    enum MHD_Result sent = send_api(c, result, &e);
    /* A recompute frees hundreds of MB in this connection's own malloc
     * arena, which glibc would keep for a thread that is about to end. */
    malloc_trim(0);
    return sent;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)url, (void)version, (void)upload;
    nerve_server *srv = cls;
    request_state *st = *state;
    if (!st)
        return MHD_NO;   /* the URI callback could not allocate it */
    if (!st->started) {   /* the first call of a request only announces it */
        st->started = 1;
        return MHD_YES;
    }
    if (*upload_size)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "requests have no body");
    if (!serve_host_allowed(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST), &srv->hosts))
        return send_error(c, MHD_HTTP_MISDIRECTED_REQUEST,
                          "this server answers to 127.0.0.1, localhost and [::1] with its port (and the names given "
                          "with --allow-host), not to the Host this request gives");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET");
    serve_request q;
    serve_error e = { 0 };
    if (serve_request_parse(&q, st->target, &e) < 0)
        return send_error(c, e.status, e.message);
    switch (q.route) {
    case SERVE_ROUTE_ASSET:
        return send_asset(c, serve_asset_find(q.path));
    case SERVE_ROUTE_STUDY_FILE:
        return send_study_file(c, &srv->ctx, q.path);
    case SERVE_ROUTE_STUDY:
        return send_api(c, serve_api_study(&srv->ctx, &e), &e);
    case SERVE_ROUTE_MAPPER:
    case SERVE_ROUTE_ACTIVATIONS:
    case SERVE_ROUTE_NEIGHBOURS:
        return send_heavy(c, srv, st, &q);
    case SERVE_ROUTE_NONE:
        break;
    }
    return send_error(c, MHD_HTTP_NOT_FOUND, "no such route (see nerve serve --help)");
}

/* Called once per request with its target as sent: the state the handler
 * gets, freed by request_done. */
static void *request_begin(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    request_state *st = calloc(1, sizeof *st);
    if (!st || !(st->target = strdup(uri))) {
        free(st);
        return NULL;
    }
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info && info->client_addr && info->client_addr->sa_family == AF_INET)
        st->client = ((const struct sockaddr_in *)(const void *)info->client_addr)->sin_addr;
    return st;
}

static void request_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)c, (void)why;
    request_state *st = *state;
    if (st)
        free(st->target);
    free(st);
    *state = NULL;
}

/* ---- the daemon ------------------------------------------------------------- */

/* Whether a bound address keeps the server on this machine. */
static int is_loopback(struct in_addr a)
{
    return (ntohl(a.s_addr) >> 24) == 127;
}

int nerve_server_start(nerve_server **out, const nerve_serve_options *o)
{
    *out = NULL;
    if (o->port < 0 || o->port > 65535)
        return nerve_error_set(NERVE_EINPUT, "port %d is not in 0..65535", o->port);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
    if (inet_pton(AF_INET, o->host, &addr.sin_addr) != 1)
        return nerve_error_set(NERVE_EINPUT, "%s: not an IPv4 address to bind", o->host);
    if (!is_loopback(addr.sin_addr) && !o->allow_remote)
        return nerve_error_set(NERVE_EINPUT, "%s: not a loopback address; serving a study to the network needs "
                               "--host given explicitly", o->host);
    int rc = nerve_mhd_require();
    if (rc < 0)
        return rc;
    nerve_server *s = calloc(1, sizeof *s);
    if (!s)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    rc = serve_open_study(&s->ctx, o->study);
    if (rc < 0) {
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->heavy.lock, NULL);
    snprintf(s->bound, sizeof s->bound, "%s", o->host);
    s->hosts = (serve_hosts){ s->bound, o->port, o->allow_hosts };
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                                 handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_URI_LOG_CALLBACK, request_begin, (void *)s,
                                 MHD_OPTION_NOTIFY_COMPLETED, request_done, (void *)s, MHD_OPTION_END);
    if (!s->daemon) {
        pthread_mutex_destroy(&s->heavy.lock);
        free(s);
        return nerve_error_set(NERVE_EIO, "cannot listen on %s:%d (in use, or not this machine's address)", o->host,
                               o->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    s->hosts.port = s->port;
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
    pthread_mutex_destroy(&s->heavy.lock);
    free(s);
}
