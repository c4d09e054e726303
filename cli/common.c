/*
 * common.c — what every subcommand shares: the enums several read, sizes,
 * and the way errors are reported.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/core.h"
#include "nerve/knn.h"
#include "cli.h"
#include "options.h"

CLI_ENUM_TYPE(, cli_metric, nerve_metric, nerve_metric_parse, nerve_metric_name, "euclidean, cosine");

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
