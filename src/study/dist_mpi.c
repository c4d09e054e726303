/*
 * dist_mpi.c — dist.h over MPI, for nerve-mpi (make MPI=1; the Makefile
 * keeps this file out of the plain build, where dist.c stands in). Only
 * the main thread calls MPI (MPI_THREAD_FUNNELED): each rank's OpenMP
 * threads compute, the rank talks.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nerve/study.h"
#include "dist.h"

static int solo;   /* depth of solo sections */

int nerve_study_dist_init(int *argc, char ***argv)
{
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return nerve_error_set(NERVE_EINTERNAL, "MPI_Init_thread failed");
    return 0;
}

/* A failed rank takes the job down with it: the others may be waiting for
 * it at a barrier, and would wait forever. Its error is already printed
 * (cli_fail names the rank). */
int nerve_study_dist_finish(int status)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (status != 0 && size > 1) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    MPI_Finalize();
    return status;
}

int nerve_study_dist_rank(void)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int nerve_study_dist_size(void)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int study_dist_rank(void)
{
    return solo ? 0 : nerve_study_dist_rank();
}

int study_dist_size(void)
{
    return solo ? 1 : nerve_study_dist_size();
}

/* Waits for a nonblocking collective, sleeping `ns` between polls rather
 * than spinning as the blocking ones do: a spinning rank takes a core from
 * the ranks still working when they share a machine, and on a busy one
 * spins for as long as the rank it waits for is not scheduled (a gather
 * of the sprite's 2 MB spent a second of CPU at load 14). */
static void wait_for(MPI_Request *req, long ns)
{
    int done = 0;
    for (MPI_Test(req, &done, MPI_STATUS_IGNORE); !done; MPI_Test(req, &done, MPI_STATUS_IGNORE))
        nanosleep(&(struct timespec){ 0, ns }, NULL);
}

/* A rank waiting for another (rank 0 alone in a stage, a rank with the
 * larger share of layers) may wait long: a millisecond between polls. */
void study_dist_barrier(void)
{
    if (solo)
        return;
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    wait_for(&req, 1000000);
}

/* The data collectives follow a barrier: their ranks are all there, and
 * only the transfer is waited for, 50 us between polls. */
enum { DATA_POLL_NS = 50000 };

void study_dist_max(int64_t *v, int n)
{
    study_dist_barrier();   /* the wait, without spinning */
    MPI_Request req;
    if (!solo) {
        MPI_Iallreduce(MPI_IN_PLACE, v, n, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD, &req);
        wait_for(&req, DATA_POLL_NS);
    }
}

void study_dist_broadcast(void *buf, size_t bytes)
{
    study_dist_barrier();   /* the wait, without spinning */
    /* In pieces MPI's int counts can hold. */
    for (size_t at = 0; !solo && at < bytes; at += 1u << 30) {
        size_t n = bytes - at < (1u << 30) ? bytes - at : (1u << 30);
        MPI_Request req;
        MPI_Ibcast((char *)buf + at, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD, &req);
        wait_for(&req, DATA_POLL_NS);
    }
}

int study_dist_gather(void **out, size_t *out_bytes, const void *buf, size_t bytes)
{
    int rank = study_dist_rank(), size = study_dist_size();
    *out = NULL;
    *out_bytes = 0;
    if (bytes > (size_t)1 << 30)
        return nerve_error_set(NERVE_EINTERNAL, "rank %d: %zu bytes to gather, more than 1 GiB", rank, bytes);
    int mine = (int)bytes, *counts = calloc((size_t)size, sizeof *counts), *at = calloc((size_t)size, sizeof *at);
    if (!counts || !at) {
        free(counts);
        free(at);
        return nerve_error_set(NERVE_ENOMEM, "out of memory gathering results");
    }
    study_dist_barrier();   /* the wait, without spinning */
    MPI_Request req;
    if (solo)
        counts[0] = mine;
    else {
        MPI_Igather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
        wait_for(&req, DATA_POLL_NS);
    }
    size_t total = 0;
    for (int r = 0; rank == 0 && r < size; r++) {
        at[r] = (int)total;
        total += (size_t)counts[r];
    }
    int rc = 0;
    if (rank == 0 && (total > (size_t)1 << 30 || !(*out = malloc(total ? total : 1))))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory gathering %zu bytes of results", total);
    if (rc == 0 && solo && bytes)
        memcpy(*out, buf, bytes);
    else if (rc == 0 && !solo) {
        MPI_Igatherv(buf, mine, MPI_BYTE, *out, counts, at, MPI_BYTE, 0, MPI_COMM_WORLD, &req);
        wait_for(&req, DATA_POLL_NS);
    }
    *out_bytes = rank == 0 && rc == 0 ? total : 0;
    free(counts);
    free(at);
    return rc;
}

void study_dist_solo_begin(void)
{
    solo++;
}

void study_dist_solo_end(void)
{
    solo--;
}
