/*
 * cli.h — what the subcommands share: the command table, the options every
 * command takes, and the way errors reach the user.
 */
#ifndef NERVE_CLI_H
#define NERVE_CLI_H

#include <getopt.h>
#include <stdint.h>

typedef struct cli_command {
    const char *name;
    const char *summary;                  /* one line for `nerve --help` */
    int (*run)(int argc, char **argv);    /* returns the exit status */
    void (*help)(void);                   /* prints the full help to stdout */
} cli_command;

/* Options every command takes; parsed by cli_common_option. */
#define CLI_COMMON_SHORT "hqt:"
#define CLI_COMMON_LONG                                   \
    { "help",    no_argument,       0, 'h' },             \
    { "quiet",   no_argument,       0, 'q' },             \
    { "threads", required_argument, 0, 't' }
#define CLI_COMMON_HELP                                                        \
    "  -t, --threads N   threads to use (default: $OMP_NUM_THREADS, else all cores)\n" \
    "  -q, --quiet       no progress bars\n"                                     \
    "  -h, --help        this help\n"

/* Handles a common option, or getopt's '?' and ':'. Returns 1 if it was
 * one and the command goes on, 0 if `opt` is the command's own, -1 if the
 * command must stop now with *status (after --help or a usage error). */
int cli_common_option(const cli_command *cmd, int opt, const char *arg, char **argv, int *status);

/* Applies the common options after parsing (threads); returns an exit
 * status, 0 to go on. */
int cli_common_finish(void);

/* Prints `nerve: error: <cmd>: <message>` plus a pointer to --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints `nerve: error: <nerve_error()>`; returns the exit status for rc. */
int cli_fail(int rc);

/* Parses a whole non-negative integer option value; -1 if it is not one. */
long cli_parse_count(const char *s);

/* Parses sizes like "1,3,224,224" (or 1x3x224x224); -1 if malformed. */
int cli_parse_shape(const char *s, int64_t *shape, int *ndim);

extern const cli_command cli_info, cli_layers, cli_extract, cli_compare, cli_embed, cli_mapper, cli_train, cli_ph,
                          cli_ph_distance, cli_run, cli_serve, cli_report;

/* nerve serve's loop, for nerve run --serve too: serves until SIGINT or
 * SIGTERM; returns the exit status. */
struct nerve_serve_options;
int cli_serve_until_interrupted(const struct nerve_serve_options *o);

#endif
