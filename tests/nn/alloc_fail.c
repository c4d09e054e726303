/*
 * alloc_fail.c — see alloc_fail.h.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_fail.h"
#include "../support/support.h"

/* Whether the driver log says the failure was injected (tests/alloc/fail_alloc.c). */
static int injected(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[128];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        found |= strncmp(line, "injected ", 9) == 0;
    if (f)
        fclose(f);
    return found;
}

int each_allocation_fails_cleanly(const char **args)
{
    const char *bin = getenv("NERVE_BIN");
    char dir[4096], failalloc[4200], saved[4096];
    snprintf(dir, sizeof dir, "%s", bin && *bin ? bin : "build/nerve");
    snprintf(failalloc, sizeof failalloc, "%s/nerve-failalloc", dirname(dir));
    if (access(failalloc, X_OK) != 0)
        return -1;
    snprintf(saved, sizeof saved, "%s", bin && *bin ? bin : "build/nerve");
    char log[4096];
    snprintf(log, sizeof log, "%s", temp_path("alloc-fail.log"));
    /* One thread: the n-th allocation is the same call in every run. */
    setenv("NERVE_BIN", failalloc, 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("NERVE_FAIL_ALLOC_LOG", log, 1);
    int n = 1;
    for (;; n++) {
        char value[32];
        snprintf(value, sizeof value, "%d", n);
        setenv("NERVE_FAIL_ALLOC", value, 1);
        unlink(log);
        const char *err;
        int status = run_nerve(args, NULL, &err);   /* asserts no signal */
        if (!injected(log)) {
            cr_expect_eq(status, 0, "%s %s without a failure: status %d: %s", failalloc, args[0], status, err);
            break;
        }
        cr_expect(!strstr(err, "Sanitizer") && !strstr(err, "runtime error"), "%s: allocation %d failed: %s",
                  args[0], n, err);
        cr_expect(status == 1 || status == 2, "%s: allocation %d failed: status %d", args[0], n, status);
        cr_expect(strstr(err, "nerve: error: ") && (strstr(err, "memory") || strstr(err, "alloc")),
                  "%s: allocation %d failed, and the error does not say so: %s", args[0], n, err);
    }
    unsetenv("NERVE_FAIL_ALLOC");
    setenv("NERVE_BIN", saved, 1);
    return n - 1;
}
