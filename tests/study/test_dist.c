/*
 * test_dist.c — the pieces of nerve-mpi's work split that need no MPI:
 * which inputs and layers each rank takes, one process's collectives, and
 * a .npy file laid out and filled by several writers at their own rows,
 * which must be the bytes one streaming writer makes.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/core.h"
#include "nerve/study.h"
#include "../../src/study/dist.h"
#include "../support/support.h"

/* The shards of [0, n) cover it in order, cut only at whole blocks, and
 * differ by at most one block. */
Test(dist, shares_are_contiguous_whole_blocks)
{
    const int64_t ns[] = { 0, 1, 5, 63, 64, 100, 2000, 2001 }, blocks[] = { 1, 64 };
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < 2; b++)
            for (int size = 1; size <= 7; size++) {
                int64_t n = ns[a], block = blocks[b], at = 0, least = n, most = 0;
                for (int r = 0; r < size; r++) {
                    int64_t first, last;
                    study_dist_share(n, block, r, size, &first, &last);
                    cr_assert_eq(first, at, "n %lld block %lld: rank %d starts at %lld, not %lld", (long long)n,
                                 (long long)block, r, (long long)first, (long long)at);
                    cr_assert(last >= first && last <= n);
                    cr_assert(last == n || last % block == 0, "a cut inside a block: %lld", (long long)last);
                    least = last - first < least ? last - first : least;
                    most = last - first > most ? last - first : most;
                    at = last;
                }
                cr_assert_eq(at, n);
                cr_assert(most - least <= block, "n %lld, %d ranks: shards of %lld and %lld", (long long)n, size,
                          (long long)least, (long long)most);
            }
}

/* Largest first to the least-loaded rank: every item has a rank, and no
 * rank carries more than the least-loaded one plus the largest item. */
Test(dist, owners_balance_the_costs)
{
    const int64_t cost[] = { 5, 900, 40, 40, 7, 300, 300, 1, 88, 150 };
    int n = (int)(sizeof cost / sizeof *cost), owner[10];
    for (int size = 1; size <= 4; size++) {
        int64_t load[4] = { 0 }, big = 0;
        study_dist_owners(owner, cost, n, size);
        for (int i = 0; i < n; i++) {
            cr_assert(owner[i] >= 0 && owner[i] < size);
            load[owner[i]] += cost[i];
            big = cost[i] > big ? cost[i] : big;
        }
        int64_t lo = load[0], hi = load[0];
        for (int r = 1; r < size; r++) {
            lo = load[r] < lo ? load[r] : lo;
            hi = load[r] > hi ? load[r] : hi;
        }
        cr_assert(hi - lo <= big, "%d ranks: loads from %lld to %lld", size, (long long)lo, (long long)hi);
    }
    /* Equal costs go round the ranks. */
    const int64_t same[6] = { 3, 3, 3, 3, 3, 3 };
    study_dist_owners(owner, same, 6, 3);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(owner[i], i % 3);
}

/* One process is rank 0 of 1: a gather is a copy, a merge keeps the slots. */
Test(dist, one_process)
{
    cr_assert_eq(study_dist_rank(), 0);
    cr_assert_eq(study_dist_size(), 1);
    cr_assert_eq(nerve_study_dist_size(), 1);
    void *out;
    size_t bytes;
    cr_assert_eq(study_dist_gather(&out, &bytes, "abc", 4), 0);
    cr_assert(bytes == 4 && memcmp(out, "abc", 4) == 0);
    free(out);
    json_t *slots = json_pack("[i, n, s]", 1, "x");
    cr_assert_eq(study_dist_merge(slots), 0);
    cr_assert(json_is_null(json_array_get(slots, 1)) && json_array_size(slots) == 3);
    json_decref(slots);
}

/* Rows written by three writers at their own places in a laid-out file
 * are the file one writer streams, header and all. */
Test(dist, laid_out_file_is_the_streamed_one)
{
    enum { ROWS = 100, WIDTH = 3 };
    float data[ROWS * WIDTH];
    for (int i = 0; i < ROWS * WIDTH; i++)
        data[i] = (float)i * 0.25f - 7;
    int64_t width = WIDTH;
    char whole[4096], shared[4096], partial[4200];
    snprintf(whole, sizeof whole, "%s", temp_path("whole.npy"));
    snprintf(shared, sizeof shared, "%s", temp_path("shared.npy"));
    snprintf(partial, sizeof partial, "%s.partial", shared);
    nerve_npy_writer w;
    cr_assert_eq(nerve_npy_writer_open(&w, whole, NERVE_F32, 1, &width), 0);
    cr_assert_eq(nerve_npy_writer_append(&w, data, ROWS), 0);
    cr_assert_eq(nerve_npy_writer_close(&w), 0);

    cr_assert_eq(nerve_npy_writer_resume(&w, shared, partial, NERVE_F32, 1, &width, 0), 0);
    cr_assert_eq(nerve_npy_writer_layout(&w, ROWS), 0);
    nerve_npy_writer_suspend(&w);
    const int64_t cut[] = { 0, 30, 64, ROWS };
    for (int k = 2; k >= 0; k--) {   /* out of order, as ranks finish */
        cr_assert_eq(nerve_npy_writer_join(&w, shared, partial, NERVE_F32, 1, &width, ROWS, cut[k]), 0);
        cr_assert_eq(nerve_npy_writer_append(&w, data + cut[k] * WIDTH, cut[k + 1] - cut[k]), 0);
        cr_assert_eq(nerve_npy_writer_sync(&w), 0);
        if (k > 0)
            nerve_npy_writer_suspend(&w);
    }
    w.shape[0] = ROWS;
    cr_assert_eq(nerve_npy_writer_close(&w), 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", whole, shared);
    cr_assert_eq(system(cmd), 0, "the laid-out file differs from the streamed one");
    /* A partial file of another length is refused, not written over. */
    cr_assert_eq(nerve_npy_writer_resume(&w, shared, partial, NERVE_F32, 1, &width, 0), 0);
    cr_assert_eq(nerve_npy_writer_layout(&w, ROWS), 0);
    nerve_npy_writer_suspend(&w);
    cr_assert_lt(nerve_npy_writer_join(&w, shared, partial, NERVE_F32, 1, &width, ROWS + 1, 0), 0);
}
