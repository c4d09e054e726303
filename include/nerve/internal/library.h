/*
 * nerve/internal/library.h — the heavy libraries (OpenBLAS with LAPACKE,
 * libzip, FFTW, libmicrohttpd), opened by nerve on first use rather than
 * linked, so a command pays only for what it uses (see docs/DESIGN.md).
 * Each lazy_*.c file forwards the functions nerve calls to a table filled
 * from its library, once:
 *
 *     static nerve_library fftw_lib = { .soname = "libfftw3.so.3" };
 *     static void load_fftw(void) { NERVE_LIBRARY_FIND(&fftw_lib, fftw, fftw_execute); ... }
 *     int nerve_fftw_require(void) { return nerve_library_load(&fftw_lib, &fftw_once, load_fftw); }
 *     void fftw_execute(const fftw_plan p) { NERVE_LIBRARY_USE(nerve_fftw_require, &fftw_lib); fftw.fftw_execute(p); }
 *
 * A library that cannot be opened is an error, never an exit: the
 * *_require functions return NERVE_EUNSUPPORTED with a message naming the
 * library and the package list, and every nerve function that can reach
 * the library calls its require function first (or, for OpenBLAS, whose
 * forwarders return nothing, the command does: nerve_blas_require in
 * core.h). A forwarder reached with the library missing is a caller that
 * skipped that check — a bug — and stops the process with the message
 * (an always-on assert).
 *
 * Not part of the public API.
 */
#ifndef NERVE_INTERNAL_LIBRARY_H
#define NERVE_INTERNAL_LIBRARY_H

#include <pthread.h>

typedef struct nerve_library {
    const char *soname;          /* "libfftw3.so.3" */
    int         rc;              /* 0 once loaded, NERVE_EUNSUPPORTED if it could not be */
    char        why[512];        /* the message when it could not */
} nerve_library;

/* Runs load once (under once) and returns the outcome: 0, or the error,
 * whose message is set again on the calling thread. */
int   nerve_library_load(nerve_library *lib, pthread_once_t *once, void (*load)(void));
/* In a load function: the symbol `name` of lib, or NULL with lib->rc and
 * lib->why set (the first failure is kept). */
void *nerve_library_find(nerve_library *lib, const char *name);
/* Stops the process with lib's message (see above: only a bug gets here). */
_Noreturn void nerve_library_missing(const nerve_library *lib);

/* Fills table.f with the function f of lib, typed as the entry (declared
 * __typeof__(f) *f, from the library's own header). */
#define NERVE_LIBRARY_FIND(lib, table, f) ((table).f = (__typeof__((table).f))nerve_library_find(lib, #f))
/* In a forwarder: the library loaded, or nerve_library_missing. */
#define NERVE_LIBRARY_USE(require, lib) ((void)((require)() == 0 || (nerve_library_missing(lib), 0)))

#endif
