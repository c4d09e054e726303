/*
 * common.c — what every subcommand shares: the enums several read, sizes,
 * and the way errors are reported.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve/core.h"
#include "nerve/knn.h"
#include "nerve/study.h"
#include "cli.h"
#include "options.h"

CLI_ENUM_TYPE(, cli_metric, nerve_metric, nerve_metric_parse, nerve_metric_name, "euclidean, cosine");
CLI_ENUM_TYPE(, cli_vector_mode, nerve_vector_mode, nerve_vector_mode_parse, nerve_vector_mode_name,
              "random-position, foreground-position, max-norm, mean, max, flatten, center, all, tokens, cls,\n"
              "random-token");
CLI_ENUM_TYPE(, cli_cover, nerve_cover_kind, nerve_cover_parse, nerve_cover_name, "kmapper, giotto, balanced");
CLI_ENUM_TYPE(, cli_cluster, nerve_cluster_kind, nerve_cluster_parse, nerve_cluster_name,
              "dbscan, linkage-gap, linkage");
CLI_ENUM_TYPE(, cli_scale, nerve_scale, nerve_scale_parse, nerve_scale_name, "diameter, median-nn, none");

/* "0.485,0.456,0.406": 1 to 4 numbers separated by commas. */
static int parse_channels(cli_channels *c, const char *s)
{
    c->n = 0;
    const char *p = s;
    while (*p && c->n < 4) {
        char *end;
        c->v[c->n++] = strtof(p, &end);
        if (end == p || (*end && *end != ','))
            return -1;
        p = *end == ',' ? end + 1 : end;
    }
    return *p || c->n == 0 ? -1 : 0;
}

int cli_parse_mean(void *field, const char *arg, const char **why)
{
    *why = "1 to 4 numbers like 0.5,0.5,0.5";
    return parse_channels(field, arg);
}

/* A standard deviation divides, so each must be positive. */
int cli_parse_std(void *field, const char *arg, const char **why)
{
    cli_channels *c = field;
    *why = "1 to 4 positive numbers like 0.229,0.224,0.225";
    if (parse_channels(c, arg) < 0)
        return -1;
    for (int i = 0; i < c->n; i++)
        if (!(c->v[i] > 0))
            return -1;
    return 0;
}

void cli_copy_channels(float *values, int *n, const cli_channels *c)
{
    if (c->n == 0)
        return;
    memcpy(values, c->v, sizeof c->v);
    *n = c->n;
}

const char *cli_peek_option(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, len) != 0)
            continue;
        if (a[2 + len] == '=')
            return a + 3 + len;
        if (a[2 + len] == '\0' && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
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
    if (nerve_study_dist_size() > 1) {   /* nerve-mpi: which rank failed */
        /* An error every rank meets (a missing model) is said once: rank
         * 0's, which ends the job; the others, waiting, are told to stop
         * (SIGTERM, an interruption) and stay quiet. A rank failing alone
         * is heard 3 s later. */
        if (nerve_study_dist_rank() != 0) {
            sleep(3);
            if (nerve_interrupted())
                return nerve_exit_status(rc);
        }
        fprintf(stderr, "nerve: error: rank %d of %d: %s\n", nerve_study_dist_rank(), nerve_study_dist_size(),
                nerve_error());
    } else {
        fprintf(stderr, "nerve: error: %s\n", nerve_error());
    }
    return nerve_exit_status(rc);
}
