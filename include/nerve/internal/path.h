/*
 * nerve/internal/path.h — a checked path builder, for every room (core
 * implements it). A path cut by snprintf names another file, so every path
 * nerve builds from a folder and a name (the user's study folder, a layer
 * file named by a manifest) goes through nerve_path, which refuses what
 * does not fit instead of cutting it:
 *
 *     char path[PATH_MAX];
 *     int rc = nerve_path(path, sizeof path, "%s/manifest.json", dir);
 *     if (rc) return rc;        // NERVE_EINPUT, nerve_error() says why
 *
 * Not part of the public API.
 */
#ifndef NERVE_INTERNAL_PATH_H
#define NERVE_INTERNAL_PATH_H

#include <stddef.h>

/* Formats like snprintf into out (cap bytes). Returns 0, or NERVE_EINPUT
 * when the path needs cap bytes or more, with a message naming the start
 * of the path and saying it is longer than nerve handles; out then holds
 * "" so that nothing can open a cut path. */
int nerve_path(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
