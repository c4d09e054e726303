/*
 * dist.h — how the study room spreads its work over processes. nerve is one
 * process (dist.c); nerve-mpi (make MPI=1) links dist_mpi.c instead, where
 * these are OpenMPI's ranks. Only the study room calls these, and no file
 * anywhere tests for MPI: the two files define the same symbols.
 *
 * A failing rank does not try to tell the others: its error goes up to
 * main(), which prints it with the rank's number and ends the whole job
 * (nerve_study_dist_finish). So the collectives here carry no error codes.
 */
#ifndef NERVE_STUDY_DIST_H
#define NERVE_STUDY_DIST_H

#include <stddef.h>
#include <stdint.h>

/* This process's rank and the number of ranks working together now: a
 * solo section (below) is one rank of one. */
int  study_dist_rank(void);
int  study_dist_size(void);

/* Waits for every rank. */
void study_dist_barrier(void);

/* v[0..n) becomes, on every rank, the largest of the ranks' v[i]. */
void study_dist_max(int64_t *v, int n);

/* Rank 0's `bytes` bytes at buf, on every rank. */
void study_dist_broadcast(void *buf, size_t bytes);

/* Each rank's buffer, concatenated in rank order, in a malloc'd buffer on
 * rank 0 (*out, *out_bytes; the caller frees it); the other ranks get
 * NULL and 0. A negative NERVE_E* code only when out of memory. */
int  study_dist_gather(void **out, size_t *out_bytes, const void *buf, size_t bytes);

/* Between solo_begin and solo_end this process works alone, as rank 0 of
 * 1 (what rank 0 does while the others wait at a barrier: a stage that is
 * not distributed calls code that would otherwise distribute itself).
 * Nested calls count. */
void study_dist_solo_begin(void);
void study_dist_solo_end(void);

/* The part of [0, n) that rank `rank` of `size` takes, [*first, *last):
 * contiguous, in whole blocks of `block` (the last block may be short),
 * ranks in order, as even as whole blocks allow. */
void study_dist_share(int64_t n, int64_t block, int rank, int size, int64_t *first, int64_t *last);

/* Which rank computes each of n items of the given costs (dist_share.c):
 * the largest first, each to the rank with the least work so far (the
 * lowest such rank on ties), so every rank works it out alike. */
void study_dist_owners(int *owner, const int64_t *cost, int n, int size);

/* The per-item results of a stage split by items (dist_layers.c): slots is
 * a JSON array of one value per item, null where this rank did not
 * compute it. On rank 0 every null slot another rank filled is filled; the
 * other ranks' slots stay as they are. */
struct json_t;
int  study_dist_merge(struct json_t *slots);
/* The same, and then rank 0's slots, every one filled, on every rank. */
int  study_dist_merge_all(struct json_t *slots);

/* owner[i]: the rank that computes layer i of a study, its rows for its
 * cost (study_dist_owners); malloc'd, the caller frees it; NULL when out
 * of memory. */
struct study_manifest;
int *study_dist_layer_owners(const struct study_manifest *m);

/* A Mapper graph's cover elements shared by the ranks, which all build
 * the same graph (dist_mapper.c): the callbacks nerve_mapper_build_split
 * takes. */
struct nerve_mapper_split;
void study_dist_mapper_split(struct nerve_mapper_split *s);

/* With NERVE_DIST_CLOCK set in the environment: the wall and CPU seconds
 * since this rank's previous mark, printed to stderr as `phase`'s
 * (dist_clock.c). The first call starts the clock and prints the CPU
 * time used before it (start-up). */
void study_dist_clock(const char *phase);

#endif
