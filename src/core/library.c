/*
 * library.c — opens a shared library on first use and finds its symbols,
 * for the forwarding functions of the lazy_*.c files
 * (nerve/internal/library.h). A library that cannot be opened is reported
 * as an error, never by ending the process.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/core.h"
#include "nerve/internal/library.h"

static void failed(nerve_library *lib, const char *what, const char *detail)
{
    if (lib->rc < 0)
        return;   /* keep the first reason */
    lib->rc = NERVE_EUNSUPPORTED;
    snprintf(lib->why, sizeof lib->why, "cannot %s (%s); install the Debian packages of "
             "scripts/debian-packages.txt", what, detail ? detail : "unknown reason");
}

void *nerve_library_find(nerve_library *lib, const char *name)
{
    if (lib->rc < 0)
        return NULL;
    /* dlopen counts references: asking again for an open library returns
     * the same handle, so it need not be kept. */
    void *handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    char what[256];
    if (!handle) {
        snprintf(what, sizeof what, "load %s", lib->soname);
        failed(lib, what, dlerror());
        return NULL;
    }
    void *symbol = dlsym(handle, name);
    if (!symbol) {
        snprintf(what, sizeof what, "find %s in %s, an older version than nerve was built with?", name,
                 lib->soname);
        failed(lib, what, dlerror());
    }
    return symbol;
}

int nerve_library_load(nerve_library *lib, pthread_once_t *once, void (*load)(void))
{
    pthread_once(once, load);
    return lib->rc < 0 ? nerve_error_set(lib->rc, "%s", lib->why) : 0;
}

_Noreturn void nerve_library_missing(const nerve_library *lib)
{
    fprintf(stderr, "nerve: internal error: %s; a caller used it without checking first\n", lib->why);
    abort();
}
