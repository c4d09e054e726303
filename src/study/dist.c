/*
 * dist.c — the single-process side of dist.h: nerve is rank 0 of 1, every
 * collective is a copy or nothing. dist_mpi.c defines the same symbols for
 * nerve-mpi (make MPI=1), so the rest of the code never asks which it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"
#include "dist.h"

int nerve_study_dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int nerve_study_dist_finish(int status)
{
    return status;
}

int nerve_study_dist_rank(void)
{
    return 0;
}

int nerve_study_dist_size(void)
{
    return 1;
}

int study_dist_rank(void)
{
    return 0;
}

int study_dist_size(void)
{
    return 1;
}

void study_dist_barrier(void)
{
}

void study_dist_max(int64_t *v, int n)
{
    (void)v;
    (void)n;
}

void study_dist_broadcast(void *buf, size_t bytes)
{
    (void)buf;
    (void)bytes;
}

int study_dist_gather(void **out, size_t *out_bytes, const void *buf, size_t bytes)
{
    *out = malloc(bytes ? bytes : 1);
    *out_bytes = bytes;
    if (!*out)
        return nerve_error_set(NERVE_ENOMEM, "out of memory gathering %zu bytes", bytes);
    if (bytes)
        memcpy(*out, buf, bytes);
    return 0;
}

void study_dist_solo_begin(void)
{
}

void study_dist_solo_end(void)
{
}
