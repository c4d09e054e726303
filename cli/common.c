/*
 * common.c — the options and error reporting every subcommand shares.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/core.h"
#include "nerve/knn.h"
#include "cli.h"
#include "options.h"

CLI_ENUM_TYPE(, cli_metric, nerve_metric, nerve_metric_parse, nerve_metric_name, "euclidean, cosine");

static int threads_requested;

long cli_parse_count(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0)
        return -1;
    return v;
}

int cli_parse_shape(const char *s, int64_t *shape, int *ndim)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1 || n == NERVE_MAX_DIMS)
            return -1;
        shape[n++] = v;
        p = end;
        if (*p == ',' || *p == 'x')
            p++;
        else if (*p)
            return -1;
    }
    *ndim = n;
    return n > 0 ? 0 : -1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "nerve: error: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'nerve %s --help')\n", cmd);
    return 2;
}

int cli_fail(int rc)
{
    fprintf(stderr, "nerve: error: %s\n", nerve_error());
    return nerve_exit_status(rc);
}

int cli_common_option(const cli_command *cmd, int opt, const char *arg, char **argv, int *status)
{
    switch (opt) {
    case 'h':
        cmd->help();
        *status = 0;
        return -1;
    case 'q':
        nerve_set_quiet(1);
        return 1;
    case 't': {
        long n = cli_parse_count(arg);
        if (n >= 1 && n <= 4096) {
            threads_requested = (int)n;
            return 1;
        }
        *status = cli_usage_error(cmd->name, "--threads wants a count from 1 to 4096, not '%s'", arg);
        return -1;
    }
    case ':':
        *status = cli_usage_error(cmd->name, "option '%s' needs a value", argv[optind - 1]);
        return -1;
    case '?':
        if (optopt)
            *status = cli_usage_error(cmd->name, "unknown option '-%c'", optopt);
        else
            *status = cli_usage_error(cmd->name, "unknown option '%s'", argv[optind - 1]);
        return -1;
    }
    return 0;
}

int cli_common_finish(void)
{
    int rc = nerve_threads_init(threads_requested);
    return rc < 0 ? cli_fail(rc) : 0;
}
