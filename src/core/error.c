/*
 * error.c — the last error of each thread: a code and a message that names
 * the file and the problem, for the CLI to print as `nerve: error: ...`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nerve/core.h"

static _Thread_local char message[2048];

const char *nerve_error(void)
{
    return message;
}

int nerve_error_set(int code, const char *fmt, ...)
{
    /* Formatted apart first: a caller may pass nerve_error() itself as an
     * argument, to wrap the message it replaces ("%s: %s", path, nerve_error()). */
    char formatted[sizeof message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(formatted, sizeof formatted, fmt, ap);
    va_end(ap);
    memcpy(message, formatted, sizeof message);
    return code;
}

const char *nerve_strerror(int code)
{
    switch (code) {
    case NERVE_OK:        return "ok";
    case NERVE_EINPUT:    return "bad input";
    case NERVE_EUSAGE:    return "usage error";
    case NERVE_EIO:       return "input/output error";
    case NERVE_ENOMEM:    return "out of memory";
    case NERVE_EINTERNAL: return "internal error";
    case NERVE_EUNSUPPORTED: return "unsupported";
    case NERVE_EINTERRUPTED: return "interrupted";
    default:              return "unknown error";
    }
}

int nerve_exit_status(int code)
{
    if (code >= 0)
        return 0;
    if (code == NERVE_EINTERRUPTED)
        return 130;   /* the shell's convention for SIGINT */
    if (code == NERVE_EINPUT || code == NERVE_EUSAGE || code == NERVE_EUNSUPPORTED)
        return 2;
    return 1;
}
