/*
 * report.c — `nerve report`: a study and its viewer in one HTML file that
 * opens from disk, with no server and no network. The page's stylesheet and
 * scripts are inlined; the study's files travel in window.NERVE_FILES,
 * which web/offline.js answers the viewer's requests from in place of the
 * HTTP API.
 *
 * Which files: those the study document (/api/study: the stages' indexes)
 * names, and those the JSON files among them name in turn, found relative
 * to the naming file's folder or any folder above it (a checkpoint's
 * similarity index names its matrices relative to the checkpoint's study);
 * plus the inputs' labels and sprite. The raw activations (acts/) stay out:
 * they are the bulk of a study and the viewer never reads them.
 *
 * The page carries its own Content-Security-Policy (a <meta>, as a file
 * opened from disk has no headers): script and style only from the
 * elements that carry this report's nonce, 16 random bytes drawn when it is
 * written. A nonce rather than hashes: the data script is megabytes and
 * changes with every study, and nerve has no SHA-256; the names in the
 * study are fixed before the nonce is drawn, so nothing in them can carry
 * it. Inline event handlers (onerror=...) are refused either way.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "serve_internal.h"

typedef struct report {
    const serve_ctx *study;
    json_t          *files;   /* "study/<rel>" or "api/..." -> {"json": ...} or {"b64": "..."} */
    size_t           bytes;   /* the files' sizes, for the summary */
} report;

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

static int is_raw_activations(const char *rel)
{
    return strncmp(rel, "acts/", 5) == 0 || strstr(rel, "/acts/") != NULL;
}

/* The file's bytes as {"b64": ...}; NULL when unreadable. */
static json_t *file_as_base64(const char *path, size_t *size)
{
    nerve_storage st;
    if (nerve_file_map(&st, path) < 0)
        return NULL;
    char *b64 = nerve_base64(st.base, st.len, NULL);
    *size = st.len;
    nerve_storage_free(&st);
    if (!b64)
        return NULL;
    json_t *entry = json_pack("{s:s}", "b64", b64);
    free(b64);
    return entry;
}

static int collect(report *r, json_t *value, const char *base);

/* Adds the study's file rel (resolved to path) and, for JSON, what it names. */
static int add_file(report *r, const char *rel, const char *path)
{
    char key[2 * PATH_MAX + 8];
    snprintf(key, sizeof key, "study/%s", rel);
    if (json_object_get(r->files, key))
        return 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return nerve_error_set(NERVE_EIO, "%s: cannot read it", path);
    if (!ends_with(rel, ".json")) {
        size_t size = 0;
        json_t *entry = file_as_base64(path, &size);
        if (!entry)
            return nerve_error_set(NERVE_EIO, "%s: cannot read it", path);
        r->bytes += size;
        return json_object_set_new(r->files, key, entry) == 0 ? 0 : nerve_error_set(NERVE_ENOMEM, "out of memory");
    }
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    if (!doc)
        return nerve_error_set(NERVE_EINPUT, "%s: line %d: %s", path, err.line, err.text);
    r->bytes += (size_t)st.st_size;
    if (json_object_set_new(r->files, key, json_pack("{s:O}", "json", doc)) != 0) {
        json_decref(doc);
        return nerve_error_set(NERVE_ENOMEM, "out of memory collecting the report's files");
    }
    char folder[2 * PATH_MAX];
    snprintf(folder, sizeof folder, "%s", rel);
    char *slash = strrchr(folder, '/');
    *(slash ? slash : folder) = 0;
    int rc = collect(r, doc, folder);
    json_decref(doc);
    return rc;
}

/* A string of a JSON document in folder base: if it names a file of the
 * study relative to base or a folder above it, that file goes in. */
static int consider(report *r, const char *name, const char *base)
{
    if (!*name || name[0] == '/' || strlen(name) > 512 || is_raw_activations(name))
        return 0;
    char folder[PATH_MAX], rel[2 * PATH_MAX], path[PATH_MAX];
    snprintf(folder, sizeof folder, "%s", base);
    for (;;) {
        snprintf(rel, sizeof rel, "%s%s%s", folder, *folder ? "/" : "", name);
        if (!is_raw_activations(rel) && serve_resolve(path, sizeof path, r->study, rel) == 0)
            return add_file(r, rel, path);
        if (!*folder)
            return 0;
        char *slash = strrchr(folder, '/');
        *(slash ? slash : folder) = 0;
    }
}

static int collect(report *r, json_t *value, const char *base)
{
    int rc = 0;
    if (json_is_string(value))
        return consider(r, json_string_value(value), base);
    if (json_is_array(value)) {
        size_t i;
        json_t *v;
        json_array_foreach(value, i, v)
            if ((rc = collect(r, v, base)) < 0)
                return rc;
    } else if (json_is_object(value)) {
        const char *k;
        json_t *v;
        json_object_foreach(value, k, v)
            if ((rc = collect(r, v, base)) < 0)
                return rc;
    }
    return rc;
}

/* The study document and every file the viewer reads from it. */
static int collect_study(report *r, json_t *study)
{
    if (json_object_set_new(r->files, "api/study", json_pack("{s:O}", "json", study)) != 0)
        return nerve_error_set(NERVE_ENOMEM, "out of memory collecting the report's files");
    const char *k;
    json_t *v;
    json_object_foreach(study, k, v)
        if (strcmp(k, "manifest") != 0 && collect(r, v, "") < 0)   /* the manifest names the activations */
            return -1;
    json_t *sprite = json_object_get(json_object_get(json_object_get(study, "manifest"), "inputs"), "sprite");
    if (json_is_string(json_object_get(sprite, "file")) &&
        consider(r, json_string_value(json_object_get(sprite, "file")), "") < 0)
        return -1;
    size_t i;
    json_t *page;
    json_array_foreach(json_object_get(sprite, "pages"), i, page)   /* 10,000 inputs a page */
        if (json_is_string(page) && consider(r, json_string_value(page), "") < 0)
            return -1;
    /* the embedding view colours by them (web/embed.js) */
    static const char *const inputs[] = { "inputs/labels.npy", "inputs/predictions.npy", "inputs/confidence.npy" };
    for (i = 0; i < sizeof inputs / sizeof *inputs; i++)
        if (consider(r, inputs[i], "") < 0)
            return -1;
    return 0;
}

/* The activation maps of the first inputs, as /api/activations answers.
 * When the study says the model cannot run any more (its inputs or model
 * moved: a 4xx answer), the report goes without them, with a warning; a
 * failure of nerve itself (a 5xx answer: out of memory, say) is an error. */
static int collect_activation_maps(report *r, int64_t inputs)
{
    for (int64_t i = 0; i < inputs; i++) {
        char key[64];
        serve_error e;
        json_t *maps = serve_api_activations(r->study, i, &e);
        if (!maps && e.status >= 500)
            return nerve_error_set(NERVE_EINTERNAL, "activation maps of input %lld: %s", (long long)i, e.message);
        if (!maps) {
            if (i == 0)
                fprintf(stderr, "nerve: warning: no activation maps in the report: %s\n", e.message);
            return 0;
        }
        snprintf(key, sizeof key, "api/activations?input=%lld", (long long)i);
        if (json_object_set_new(r->files, key, json_pack("{s:o}", "json", maps)) != 0)
            return nerve_error_set(NERVE_ENOMEM, "out of memory collecting the report's activation maps");
    }
    return 0;
}

/* ---- the page ------------------------------------------------------------------ */

/* A fresh nonce for the page's scripts (base64 of 16 random bytes). */
static int make_nonce(char *out, size_t cap)
{
    unsigned char bytes[16];
    int fd = open("/dev/urandom", O_RDONLY);
    ssize_t got = fd >= 0 ? read(fd, bytes, sizeof bytes) : -1;
    if (fd >= 0)
        close(fd);
    char *b64 = got == (ssize_t)sizeof bytes ? nerve_base64(bytes, sizeof bytes, NULL) : NULL;
    if (!b64)
        return nerve_error_set(NERVE_EIO, "cannot draw a random nonce for the report's scripts");
    snprintf(out, cap, "%s", b64);
    free(b64);
    return 0;
}

/* The files as a JavaScript value inside a <script> element: every '<' as
 * \u003c (JSON has '<' only inside strings), so no name can write
 * "</script>" or "<!--" to end or confuse the element. */
static int put_files(FILE *f, json_t *files)
{
    char *text = json_dumps(files, JSON_COMPACT);
    if (!text)
        return nerve_error_set(NERVE_ENOMEM, "out of memory writing the report");
    for (const char *c = text; *c; c++) {
        size_t run = strcspn(c, "<");
        fwrite(c, 1, run, f);
        c += run;
        if (!*c)
            break;
        fputs("\\u003c", f);
    }
    free(text);
    return 0;
}

/* Writes one of the viewer's compiled-in files. */
static void put_asset(FILE *f, const char *name)
{
    const serve_asset *a = serve_asset_find(name);
    fwrite(a->data, 1, a->size, f);
}

/* index.html with its <link> and <script src> replaced by what they load,
 * and a Content-Security-Policy allowing only the elements with nonce. */
static int write_page(FILE *f, json_t *files, const char *title, const char *nonce)
{
    const serve_asset *page = serve_asset_find("index.html");
    static const char charset[] = "<meta charset=\"utf-8\">";
    static const char css[] = "<link rel=\"stylesheet\" href=\"style.css\">";
    static const char d3[] = "<script src=\"d3.min.js\"></script>";
    static const char app[] = "<script src=\"featvis.js\"></script>\n<script src=\"findings.js\"></script>\n"
                              "<script src=\"graphcanvas.js\"></script>\n<script src=\"scatter.js\"></script>\n"
                              "<script src=\"embed.js\"></script>\n"
                              "<script src=\"select.js\"></script>\n<script src=\"urlstate.js\"></script>\n"
                              "<script src=\"app.js\"></script>";
    const char *html = (const char *)page->data, *end = html + page->size;
    const char *at_charset = strstr(html, charset), *at_css = strstr(html, css), *at_d3 = strstr(html, d3),
               *at_app = strstr(html, app);
    if (!at_charset || !at_css || !at_d3 || !at_app || !(at_charset < at_css && at_css < at_d3 && at_d3 < at_app))
        return nerve_error_set(NERVE_EINTERNAL, "the viewer's index.html lost its charset, stylesheet or script tags");
    fwrite(html, 1, (size_t)(at_charset - html) + strlen(charset), f);
    fprintf(f, "\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'nonce-%s'; "
            "style-src 'nonce-%s'; img-src data:; base-uri 'none'; form-action 'none'\">", nonce, nonce);
    html = at_charset + strlen(charset);
    const char *at_title = strstr(html, "<title>nerve</title>");
    if (at_title && at_title < at_css) {
        fwrite(html, 1, (size_t)(at_title - html), f);
        fputs("<title>nerve report: ", f);
        for (const char *c = title; *c; c++)   /* the folder's name, as text */
            fputs(*c == '<' ? "&lt;" : *c == '&' ? "&amp;" : (char[]){ *c, 0 }, f);
        fputs("</title>", f);
        html = at_title + strlen("<title>nerve</title>");
    }
    fwrite(html, 1, (size_t)(at_css - html), f);
    fprintf(f, "<style nonce=\"%s\">\n", nonce);
    put_asset(f, "style.css");
    fputs("</style>", f);
    fwrite(at_css + strlen(css), 1, (size_t)(at_d3 - at_css - strlen(css)), f);
    fprintf(f, "<script nonce=\"%s\">", nonce);
    put_asset(f, "d3.min.js");
    fputs("</script>", f);
    fwrite(at_d3 + strlen(d3), 1, (size_t)(at_app - at_d3 - strlen(d3)), f);
    fprintf(f, "<script nonce=\"%s\">window.NERVE_FILES = ", nonce);
    if (put_files(f, files) < 0)
        return -1;
    fprintf(f, ";</script>\n<script nonce=\"%s\">", nonce);
    put_asset(f, "offline.js");
    fprintf(f, "</script>\n<script nonce=\"%s\">", nonce);
    put_asset(f, "featvis.js");
    fprintf(f, "</script>\n<script nonce=\"%s\">", nonce);
    put_asset(f, "findings.js");   /* before app.js: offline, the study loads at once */
    static const char *const viewer[] = { "graphcanvas.js", "scatter.js", "embed.js",
                                          "select.js",      "urlstate.js", "app.js" };
    for (size_t i = 0; i < sizeof viewer / sizeof *viewer; i++) {
        fprintf(f, "</script>\n<script nonce=\"%s\">", nonce);
        put_asset(f, viewer[i]);
    }
    fputs("</script>", f);
    const char *after = at_app + strlen(app);
    fwrite(after, 1, (size_t)(end - after), f);
    return 0;
}

void nerve_report_defaults(nerve_report_options *o)
{
    o->study = "study";
    o->out = "report.html";
    o->activation_inputs = 16;
}

int nerve_report_write(const nerve_report_options *o, nerve_report_summary *summary)
{
    serve_ctx study;
    int rc = serve_open_study(&study, o->study);
    if (rc < 0)
        return rc;
    serve_error e;
    json_t *doc = serve_api_study(&study, &e);
    if (!doc)
        return nerve_error_set(NERVE_EINPUT, "%s: %s", o->study, e.message);
    report r = { &study, json_object(), 0 };
    rc = collect_study(&r, doc);
    if (rc == 0)
        rc = collect_activation_maps(&r, o->activation_inputs);
    nerve_outfile out;
    char nonce[32];
    if (rc == 0)
        rc = make_nonce(nonce, sizeof nonce);
    if (rc == 0 && (rc = nerve_outfile_open(&out, o->out)) == 0) {
        rc = write_page(out.f, r.files, json_string_value(json_object_get(doc, "name")), nonce);
        if (rc == 0 && ferror(out.f))
            rc = nerve_error_set(NERVE_EIO, "%s: cannot write it", o->out);
        if (rc == 0)
            rc = nerve_outfile_commit(&out);
        else
            nerve_outfile_abort(&out);
    }
    if (rc == 0 && summary) {
        summary->files = (int64_t)json_object_size(r.files);
        summary->study_bytes = (int64_t)r.bytes;
    }
    json_decref(r.files);
    json_decref(doc);
    return rc;
}
