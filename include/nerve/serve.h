/*
 * nerve/serve.h — the serve room: an HTTP server (libmicrohttpd) that shows a
 * study in the browser. The viewer's page, script and d3 are compiled into
 * the binary; the study's files are served read-only from under its folder
 * and nowhere else; a JSON API describes the study and recomputes Mapper
 * graphs on demand.
 *
 *     nerve_server *s = NULL;
 *     nerve_serve_options o;
 *     nerve_serve_defaults(&o);           // 127.0.0.1:8800
 *     o.study = "study";                  // made by nerve run or nerve extract
 *     o.port = 0;                         // any free port
 *     int rc = nerve_server_start(&s, &o);
 *     if (rc < 0) {
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *         return nerve_exit_status(rc);
 *     }
 *     printf("http://%s:%d/\n", o.host, nerve_server_port(s));
 *     // ... answer requests until the program decides to stop ...
 *     nerve_server_stop(s);
 *
 * Routes:
 *   GET /                      the viewer (also /app.js, /style.css, /d3.min.js)
 *   GET /api/study             the study: inputs, classes, layers and what was computed for each
 *   GET /api/mapper?layer=L&intervals=N&overlap=P&eps=E&min_samples=M
 *                              one layer's Mapper graph, computed now
 *   GET /api/activations?input=N
 *                              input N's activation maps in every layer (runs the model)
 *   GET /study/<path>          a file of the study (JSON, .npy, the sprite PNG)
 * Errors are JSON {"error": "..."} with status 400 (bad parameters, or a
 * Mapper recompute over the server's cost limit: the message names it), 404
 * (no such route or file), 409 (the study's inputs changed since it was
 * made), 421 (a Host header that does not name this server), 429 (this
 * client's previous recompute is still running), 503 (all recompute slots
 * busy) or 500. Every answer carries a Content-Security-Policy that allows
 * no inline script, and X-Content-Type-Options: nosniff; files whose name
 * starts with "." and temporary files (*.tmp, *.tmp.*) are never served.
 *
 * nerve_report_write makes the same viewer one self-contained HTML file.
 */
#ifndef NERVE_SERVE_H
#define NERVE_SERVE_H

#include "nerve/core.h"

typedef struct nerve_serve_options {
    const char  *study;         /* the study directory */
    const char  *host;          /* address to bind (default 127.0.0.1) */
    int          port;          /* 0: any free port (default 8800) */
    int          allow_remote;  /* 1: host may be a non-loopback address (default 0: refused) */
    const char **allow_hosts;   /* Host header names accepted besides the loopback ones and host,
                                   NULL-terminated (default NULL) */
} nerve_serve_options;

typedef struct nerve_server nerve_server;

void nerve_serve_defaults(nerve_serve_options *o);
/* Starts serving on a thread of its own; *out is the running server. */
int  nerve_server_start(nerve_server **out, const nerve_serve_options *o);
/* The port it listens on (the one chosen when asked for 0). */
int  nerve_server_port(const nerve_server *s);
void nerve_server_stop(nerve_server *s);

/* The one-file report: the viewer and the study's files it reads (not the
 * raw activations) inlined in one HTML page that opens from disk. What
 * needs the server (recomputing a graph) says so in the page; the
 * activation maps of the first activation_inputs inputs are included. */
typedef struct nerve_report_options {
    const char *study;              /* the study directory (default "study") */
    const char *out;                /* the HTML file (default "report.html") */
    int64_t     activation_inputs;  /* default 16 */
} nerve_report_options;

typedef struct nerve_report_summary {
    int64_t files;        /* files and API answers inlined */
    int64_t study_bytes;  /* their size on disk */
} nerve_report_summary;

void nerve_report_defaults(nerve_report_options *o);
/* Writes o->out whole or not at all; summary may be NULL. */
int  nerve_report_write(const nerve_report_options *o, nerve_report_summary *summary);

#endif /* NERVE_SERVE_H */
