/*
 * dist_clock.c — where a rank's time goes: with NERVE_DIST_CLOCK set, each
 * study_dist_clock(phase) prints to stderr the wall and CPU time (all the
 * process's threads) since the rank's previous mark, so the serial parts
 * of a distributed stage show beside the parts that split. The first mark
 * prints the CPU time the process had used before it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dist.h"

static double seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void study_dist_clock(const char *phase)
{
    static double wall0 = -1, cpu0;
    if (!getenv("NERVE_DIST_CLOCK"))
        return;
    double wall = seconds(CLOCK_MONOTONIC), cpu = seconds(CLOCK_PROCESS_CPUTIME_ID);
    if (wall0 < 0)   /* the process's start-up (MPI's in nerve-mpi) */
        fprintf(stderr, "nerve: clock: rank %d: %-24s %8s   wall %8.3f s CPU\n", study_dist_rank(), phase, "", cpu);
    else
        fprintf(stderr, "nerve: clock: rank %d: %-24s %8.3f s wall %8.3f s CPU\n", study_dist_rank(), phase,
                wall - wall0, cpu - cpu0);
    wall0 = wall;
    cpu0 = cpu;
}
