/*
 * threads.c — how many threads nerve uses: --threads, else
 * $OMP_NUM_THREADS, else every core. nerve parallelises with OpenMP at the
 * outer level; BLAS runs single-threaded inside (lazy_blas.c).
 */
#include <stdlib.h>
#include <omp.h>

#include "nerve/core.h"

static int thread_count;

int nerve_threads_init(int requested)
{
    int n = requested;
    if (n <= 0) {
        const char *env = getenv("OMP_NUM_THREADS");
        if (env && *env) {
            char *end;
            long v = strtol(env, &end, 10);
            /* OpenMP allows a list ("4,2") for nested levels: the first counts. */
            if (end == env || v < 1 || v > 4096 || (*end != '\0' && *end != ','))
                return nerve_error_set(NERVE_EINPUT, "OMP_NUM_THREADS='%s' is not a thread count",
                                       env);
            n = (int)v;
        } else {
            n = omp_get_num_procs();
        }
    }
    omp_set_num_threads(n);
    thread_count = n;
    return n;
}

int nerve_threads(void)
{
    return thread_count > 0 ? thread_count : omp_get_max_threads();
}
