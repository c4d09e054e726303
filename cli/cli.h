/*
 * cli.h — what the subcommands share: the command table, the options every
 * command takes (options.h), and the way errors reach the user.
 */
#ifndef NERVE_CLI_H
#define NERVE_CLI_H

#include <stdint.h>

typedef struct cli_command {
    const char *name;
    const char *summary;                  /* one line for `nerve --help` */
    int (*run)(int argc, char **argv);    /* returns the exit status */
    void (*help)(void);                   /* prints the full help to stdout */
} cli_command;

/* Prints `nerve: error: <cmd>: <message>` plus a pointer to --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints `nerve: error: <nerve_error()>`; returns the exit status for rc. */
int cli_fail(int rc);

/* Parses sizes like "1,3,224,224" (or 1x3x224x224); -1 if malformed. */
int cli_parse_shape(const char *s, int64_t *shape, int *ndim);

extern const cli_command cli_info, cli_layers, cli_extract, cli_compare, cli_embed, cli_mapper, cli_train, cli_ph,
                          cli_ph_distance, cli_run, cli_serve, cli_report, cli_findings,
                          cli_featvis;

/* nerve serve's loop, for nerve run --serve too: serves until SIGINT or
 * SIGTERM; returns the exit status. */
struct nerve_serve_options;
int cli_serve_until_interrupted(const struct nerve_serve_options *o);

#endif
