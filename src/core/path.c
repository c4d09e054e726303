/*
 * path.c — the checked path builder of nerve/internal/path.h: a path that
 * does not fit its buffer is an error, never a shorter path.
 */
#include <stdarg.h>
#include <stdio.h>

#include "nerve/core.h"
#include "nerve/internal/path.h"

int nerve_path(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = cap ? vsnprintf(out, cap, fmt, ap) : -1;
    va_end(ap);
    if (n >= 0 && (size_t)n < cap)
        return 0;
    /* The start of the cut path is enough to say which one it was; out is
     * emptied only after it is quoted. */
    int rc = nerve_error_set(NERVE_EINPUT, "%.80s...: the path is longer than nerve handles "
                             "(%zu bytes at most)", cap ? out : "",
                             cap ? cap - 1 : 0);
    if (cap)
        out[0] = '\0';
    return rc;
}
