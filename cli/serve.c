/*
 * serve.c — `nerve serve STUDY`: the viewer in the browser, until Ctrl-C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nerve/serve.h"
#include "cli.h"

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
           "A recompute whose estimated size passes the server's limit is refused (400,\n"
           "with the limit); one recompute runs at a time per client (429 meanwhile).\n"
           "\n"
           "options:\n"
           "      --host ADDR   the IPv4 address to listen on (default 127.0.0.1: this\n"
           "                    machine only; any other address serves the study to the\n"
           "                    network, with a warning)\n"
           "      --allow-host NAME  also answer requests whose Host header is NAME (or\n"
           "                    NAME:PORT), e.g. the machine's name when --host is given;\n"
           "                    other names get 421 (a page elsewhere reaching the\n"
           "                    server through DNS rebinding). Repeatable, up to 16.\n"
           "  -p, --port N      (default 8800; 0: any free port)\n"
           CLI_COMMON_HELP
           "\n"
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
    static const struct option options[] = {
        { "host", required_argument, 0, 1 }, { "port", required_argument, 0, 'p' },
        { "allow-host", required_argument, 0, 2 },
        CLI_COMMON_LONG,
        { 0, 0, 0, 0 },
    };
    enum { ALLOW_MAX = 16 };
    static const char *allowed[ALLOW_MAX + 1];
    int n_allowed = 0;
    nerve_serve_options o;
    nerve_serve_defaults(&o);
    o.allow_hosts = allowed;
    int opt, status;
    long v;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":p:" CLI_COMMON_SHORT, options, NULL)) != -1) {
        int common = cli_common_option(&cli_serve, opt, optarg, argv, &status);
        if (common < 0)
            return status;
        if (common)
            continue;
        if (opt == 1) {
            o.host = optarg;
            o.allow_remote = 1;   /* asked for by name: a non-loopback address is meant */
        } else if (opt == 2 && (n_allowed == ALLOW_MAX || !*optarg))
            return cli_usage_error("serve", "--allow-host wants a host name, at most %d of them", ALLOW_MAX);
        else if (opt == 2)
            allowed[n_allowed++] = optarg;
        else if (opt == 'p' && ((v = cli_parse_count(optarg)) < 0 || v > 65535))
            return cli_usage_error("serve", "--port wants 0 to 65535, not '%s'", optarg);
        else if (opt == 'p')
            o.port = (int)v;
        else
            return cli_usage_error("serve", "unexpected option");
    }
    if (argc - optind > 1)
        return cli_usage_error("serve", "wants one STUDY folder at most");
    if (argc - optind == 1)
        o.study = argv[optind];
    if ((status = cli_common_finish()) != 0)
        return status;
    return cli_serve_until_interrupted(&o);
}

const cli_command cli_serve = {
    .name = "serve",
    .summary = "the viewer of a study in the browser (HTTP, with a JSON API)",
    .run = serve_run,
    .help = serve_help,
};
