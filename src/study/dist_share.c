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

void study_dist_owners(int *owner, const int64_t *cost, int n, int size)
{
    int64_t load[size > 0 ? size : 1];
    char taken[n > 0 ? n : 1];
    for (int r = 0; r < size; r++)
        load[r] = 0;
    for (int i = 0; i < n; i++)
        taken[i] = 0;
    for (int k = 0; k < n; k++) {
        int big = -1, to = 0;
        for (int i = 0; i < n; i++)   /* n is a number of layers: quadratic is fine */
            if (!taken[i] && (big < 0 || cost[i] > cost[big]))
                big = i;
        for (int r = 1; r < size; r++)
            if (load[r] < load[to])
                to = r;
        taken[big] = 1;
        owner[big] = to;
        load[to] += cost[big] > 0 ? cost[big] : 1;
    }
}
