/*
 * library.c — opens a shared library on first use and finds its symbols,
 * for the forwarding functions of the lazy_*.c files.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/core.h"

static void *open_library(const char *soname)
{
    /* dlopen counts references: asking again for an open library returns
     * the same handle, so callers need not keep it. */
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "nerve: error: cannot load %s (%s); install the Debian packages of "
                        "scripts/debian-packages.txt\n", soname, dlerror());
        exit(2);
    }
    return lib;
}

void *nerve_library_symbol(const char *soname, const char *name)
{
    void *symbol = dlsym(open_library(soname), name);
    if (!symbol) {
        fprintf(stderr, "nerve: error: %s has no %s; is it an older version than nerve was built with?\n",
                soname, name);
        exit(2);
    }
    return symbol;
}
