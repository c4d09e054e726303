/*
 * serve.c — `nerve serve STUDY`: the viewer in the browser, until Ctrl-C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nerve/serve.h"
#include "cli.h"
#include "options.h"

typedef struct serve_settings {
    nerve_serve_options o;
    int64_t             port;
    cli_strings         allowed;
    int                 host_given;
} serve_settings;

#define AT(field) CLI_AT(serve_settings, field)
static const cli_option options[] = {
    { CLI_OPT("host", 0, CLI_STRING, "ADDR", "the IPv4 address to listen on (127.0.0.1: this\n"
              "machine only; any other address serves the study to\nthe network, with a warning)", AT(o.host)),
      CLI_SEEN(serve_settings, host_given) },
    { CLI_OPT("allow-host", 0, CLI_STRINGS, "NAME", "also answer requests whose Host header is NAME (or\n"
              "NAME:PORT), e.g. the machine's name when --host is\ngiven; other names get 421 (a page elsewhere "
              "reaching\nthe server through DNS rebinding). Repeatable, up\nto 16.", AT(allowed)),
      CLI_RANGE(0, CLI_STRINGS_MAX) },
    { CLI_OPT("port", 'p', CLI_INT, "N", "the port (0: any free one)", AT(port)), CLI_RANGE(0, 65535) },
    { 0 },
};
#undef AT

static serve_settings defaults(void)
{
    serve_settings s = { 0 };
    nerve_serve_defaults(&s.o);
    s.port = s.o.port;
    return s;
}

static void serve_help(void)
{
    printf("usage: nerve serve [options] [STUDY]\n"
           "\n"
           "Serves the viewer of a study (default: ./study, as nerve run writes it) over\n"
           "HTTP: open the printed address in a browser. The page and its scripts are\n"
           "built into nerve, so it works offline and from any folder; the study's files\n"
           "are served read-only and nothing outside the study's folder is. Stops on\n"
           "Ctrl-C (exit status 0).\n"
           "\n"
           "routes: /  (the viewer)   /api/study   /api/mapper?layer=L&intervals=N&overlap=P\n"
           "        &eps=E&min_samples=M (a layer's graph recomputed)\n"
           "        /api/activations?input=N (every layer's maps of input N)   /study/<file>\n"
           "        /api/neighbours?layer=L&row=I&k=K&metric=M (the exact K nearest rows of\n"
           "        row I in layer L's activations, K <= 100)\n"
           "A recompute whose estimated size passes the server's limit is refused (400,\n"
           "with the limit); one recompute runs at a time per client (429 meanwhile).\n"
           "\n");
    serve_settings d = defaults();
    cli_print_options(options, &d);
    printf("\n"
           "examples:\n"
           "  nerve run && nerve serve\n"
           "  nerve serve --port 9000 mystudy\n");
}

/* Serves until SIGINT or SIGTERM; prints the address on stdout first. */
int cli_serve_until_interrupted(const nerve_serve_options *o)
{
    nerve_server *s;
    int rc = nerve_server_start(&s, o);
    if (rc < 0)
        return cli_fail(rc);
    nerve_catch_interrupts();
    if (strncmp(o->host, "127.", 4) != 0)
        fprintf(stderr, "nerve: warning: serving %s to the network on %s: anyone who can reach this machine can "
                "read the study\n", o->study, o->host);
    printf("nerve: serving %s at http://%s:%d/ (Ctrl-C stops)\n", o->study, o->host, nerve_server_port(s));
    fflush(stdout);
    while (!nerve_interrupted()) {
        struct timespec pause = { 0, 100 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    nerve_server_stop(s);
    return 0;
}

static int serve_run(int argc, char **argv)
{
    serve_settings s = defaults();
    int first, status;
    if (cli_parse(&cli_serve, options, &s, argc, argv, &first, &status) < 0)
        return status;
    if (argc - first > 1)
        return cli_usage_error("serve", "wants one STUDY folder at most");
    if (argc - first == 1)
        s.o.study = argv[first];
    for (int i = 0; i < s.allowed.n; i++)
        if (!*s.allowed.item[i])
            return cli_usage_error("serve", "--allow-host wants a host name, not ''");
    const char *allowed[CLI_STRINGS_MAX + 1] = { 0 };   /* NULL-terminated, as the server reads it */
    memcpy(allowed, s.allowed.item, (size_t)s.allowed.n * sizeof allowed[0]);
    s.o.allow_hosts = allowed;
    s.o.allow_remote = s.host_given;   /* asked for by name: a non-loopback address is meant */
    s.o.port = (int)s.port;
    return cli_serve_until_interrupted(&s.o);
}

const cli_command cli_serve = {
    .name = "serve",
    .summary = "the viewer of a study in the browser (HTTP, with a JSON API)",
    .run = serve_run,
    .help = serve_help,
};
