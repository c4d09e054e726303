/*
 * dist_share.c — which part of a job each rank takes (dist.h). Apart from
 * dist.c and dist_mpi.c, which must define the same symbols and nothing
 * else, or the MPI build would link both.
 */
#include "dist.h"

void study_dist_share(int64_t n, int64_t block, int rank, int size, int64_t *first, int64_t *last)
{
    if (block < 1)
        block = 1;
    int64_t blocks = (n + block - 1) / block;
    int64_t b0 = blocks * rank / size, b1 = blocks * (rank + 1) / size;
    *first = b0 * block < n ? b0 * block : n;
    *last = b1 * block < n ? b1 * block : n;
}
