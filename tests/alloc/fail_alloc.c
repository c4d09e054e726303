/*
 * fail_alloc.c — allocation-failure injection, linked only into
 * nerve-failalloc (make alloc-fail), never into nerve or the tests.
 *
 * The binary is linked with -Wl,--wrap=malloc,... so every allocation that
 * nerve's own code makes (not the libraries' inside their .so files) comes
 * here first. With NERVE_FAIL_ALLOC=n the n-th of them returns NULL (with
 * errno ENOMEM), once: what follows must be a clean error, not a crash, a
 * leak or a half-written output. When that failure was injected, a line
 * "injected n" is appended to $NERVE_FAIL_ALLOC_LOG (if set), so that the
 * driver (alloc-fail.sh) knows when n has passed the command's last
 * allocation; at a normal exit "calls N" gives the count made. Counting is atomic: OpenMP threads allocate too (the driver
 * runs with one thread so that the n-th is the same call every time).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t count, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
int   __real_posix_memalign(void **out, size_t align, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static atomic_long calls;
static long        fail_at = -1;   /* -1: not read yet; 0: never fail */

/* Whether this call is the one to fail. */
static int should_fail(void)
{
    if (fail_at < 0) {
        const char *s = getenv("NERVE_FAIL_ALLOC");
        fail_at = s ? atol(s) : 0;
    }
    long n = atomic_fetch_add(&calls, 1) + 1;
    if (fail_at <= 0 || n != fail_at)
        return 0;
    const char *log = getenv("NERVE_FAIL_ALLOC_LOG");
    FILE *f = log ? fopen(log, "a") : NULL;   /* stdio's own buffers come from the real malloc */
    if (f) {
        fprintf(f, "injected %ld\n", fail_at);
        fclose(f);
    }
    errno = ENOMEM;
    return 1;
}

/* The count of allocations, for the driver's plan (how many n to try). */
__attribute__((destructor)) static void log_count(void)
{
    const char *log = getenv("NERVE_FAIL_ALLOC_LOG");
    FILE *f = log ? fopen(log, "a") : NULL;
    if (f) {
        fprintf(f, "calls %ld\n", (long)atomic_load(&calls));
        fclose(f);
    }
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t count, size_t n)
{
    return should_fail() ? NULL : __real_calloc(count, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    return should_fail() ? NULL : __real_aligned_alloc(align, n);
}

int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
    return should_fail() ? ENOMEM : __real_posix_memalign(out, align, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : __real_strndup(s, n);
}
