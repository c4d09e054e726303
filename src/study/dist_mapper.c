/*
 * dist_mapper.c — a Mapper graph built by all ranks together: the mapper
 * room asks which cover elements this rank clusters and hands back its
 * results (nerve_mapper_split); here the elements go to the ranks by their
 * pairwise work, largest first, and every rank's clusters reach every
 * rank. Labels are whole numbers, so each rank assembles the same graph.
 */
#include <stdlib.h>
#include <string.h>

#include "nerve/mapper.h"
#include "nerve/study.h"
#include "dist.h"

/* Element e's pairwise work, n^2 for its n points. */
static int share(void *ctx, const int64_t *start, int64_t n, char *mine)
{
    (void)ctx;
    int64_t *cost = malloc((size_t)n * sizeof *cost + 1);
    int *owner = malloc((size_t)n * sizeof *owner + 1);
    if (!cost || !owner) {
        free(cost);
        free(owner);
        return nerve_error_set(NERVE_ENOMEM, "mapper: out of memory sharing the cover");
    }
    for (int64_t e = 0; e < n; e++)
        cost[e] = (start[e + 1] - start[e]) * (start[e + 1] - start[e]);
    study_dist_owners(owner, cost, (int)n, study_dist_size());
    for (int64_t e = 0; e < n; e++)
        mine[e] = owner[e] == study_dist_rank();
    free(cost);
    free(owner);
    return 0;
}

/* This rank's elements as (element, clusters, its points' labels), one
 * after another. */
static char *pack(size_t *bytes, const int32_t *labels, const int64_t *n_clusters, const int64_t *start, int64_t n,
                  const char *mine)
{
    size_t total = 0;
    for (int64_t e = 0; e < n; e++)
        total += mine[e] ? 2 * sizeof(int64_t) + (size_t)(start[e + 1] - start[e]) * sizeof *labels : 0;
    char *out = malloc(total + 1), *at = out;
    for (int64_t e = 0; out && e < n; e++) {
        if (!mine[e])
            continue;
        int64_t head[2] = { e, n_clusters[e] };
        memcpy(at, head, sizeof head);
        memcpy(at + sizeof head, labels + start[e], (size_t)(start[e + 1] - start[e]) * sizeof *labels);
        at += sizeof head + (size_t)(start[e + 1] - start[e]) * sizeof *labels;
    }
    *bytes = total;
    return out;
}

static int unpack(int32_t *labels, int64_t *n_clusters, const int64_t *start, int64_t n, const char *all, size_t bytes)
{
    for (size_t at = 0; at < bytes;) {
        int64_t head[2];
        memcpy(head, all + at, sizeof head);
        if (head[0] < 0 || head[0] >= n)
            return nerve_error_set(NERVE_EINTERNAL, "mapper: a rank sent element %lld of %lld", (long long)head[0],
                                   (long long)n);
        int64_t e = head[0];
        size_t len = (size_t)(start[e + 1] - start[e]) * sizeof *labels;
        n_clusters[e] = head[1];
        memcpy(labels + start[e], all + at + sizeof head, len);
        at += sizeof head + len;
    }
    return 0;
}

/* Every rank's elements to rank 0, and from there to all; first whether
 * any rank failed, and then all return its code. */
static int gather(void *ctx, int32_t *labels, int64_t *n_clusters, const int64_t *start, int64_t n, const char *mine,
                  int status)
{
    (void)ctx;
    int64_t code = -(int64_t)status;
    study_dist_max(&code, 1);
    if (code > 0)
        return status < 0 ? status : nerve_error_set((int)-code, "mapper: another rank could not cluster its elements");
    size_t bytes, all_bytes = 0;
    char *own = pack(&bytes, labels, n_clusters, start, n, mine), *all = NULL;
    int rc = own ? study_dist_gather((void **)&all, &all_bytes, own, bytes)
                 : nerve_error_set(NERVE_ENOMEM, "mapper: out of memory sending clusters");
    free(own);
    int64_t size = rc == 0 ? (int64_t)all_bytes : -1;
    study_dist_broadcast(&size, sizeof size);   /* a failed rank 0 sends -1: every rank stops */
    if (size < 0) {
        free(all);
        return rc < 0 ? rc : nerve_error_set(NERVE_EINTERNAL, "mapper: rank 0 could not gather the clusters");
    }
    if (study_dist_rank() != 0 && !(all = malloc((size_t)size + 1)))
        rc = nerve_error_set(NERVE_ENOMEM, "mapper: out of memory receiving clusters");
    if (rc == 0) {
        study_dist_broadcast(all, (size_t)size);
        rc = unpack(labels, n_clusters, start, n, all, (size_t)size);
    }
    free(all);
    return rc;
}

void study_dist_mapper_split(nerve_mapper_split *s)
{
    *s = (nerve_mapper_split){ NULL, share, gather };
}
