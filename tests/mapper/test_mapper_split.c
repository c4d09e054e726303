/*
 * test_mapper_split.c — nerve_mapper_build_split, the cover's elements
 * shared by processes, simulated in one: a first build clusters every
 * element and keeps each element's results; a second clusters only the
 * even elements and is handed the odd ones' from the first, as another
 * process would send them. The two graphs must be the same, node for node.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/mapper.h"
#include "../support/support.h"

typedef struct kept {
    int64_t  n, points;
    int32_t *labels;
    int64_t *n_clusters;
    int      odd_clustered_here;   /* odd elements with clusters found by the even-only build */
    int      fail;                 /* the other process failed */
} kept;

static int share_all(void *ctx, const int64_t *start, int64_t n, char *mine)
{
    (void)ctx;
    (void)start;
    memset(mine, 1, (size_t)n);
    return 0;
}

static int share_even(void *ctx, const int64_t *start, int64_t n, char *mine)
{
    (void)ctx;
    (void)start;
    for (int64_t e = 0; e < n; e++)
        mine[e] = e % 2 == 0;
    return 0;
}

static int keep(void *ctx, int32_t *labels, int64_t *n_clusters, const int64_t *start, int64_t n, const char *mine,
                int status)
{
    (void)mine;
    kept *k = ctx;
    k->n = n;
    k->points = start[n];
    k->labels = malloc((size_t)start[n] * sizeof *labels);
    k->n_clusters = malloc((size_t)n * sizeof *n_clusters);
    memcpy(k->labels, labels, (size_t)start[n] * sizeof *labels);
    memcpy(k->n_clusters, n_clusters, (size_t)n * sizeof *n_clusters);
    return status;
}

static int hand_over(void *ctx, int32_t *labels, int64_t *n_clusters, const int64_t *start, int64_t n,
                     const char *mine, int status)
{
    kept *k = ctx;
    if (k->fail)
        return NERVE_EINTERNAL;
    cr_assert_eq(n, k->n);
    cr_assert_eq(start[n], k->points);
    for (int64_t e = 0; e < n; e++) {
        if (mine[e])
            continue;
        k->odd_clustered_here += n_clusters[e] != 0;
        n_clusters[e] = k->n_clusters[e];
        memcpy(labels + start[e], k->labels + start[e], (size_t)(start[e + 1] - start[e]) * sizeof *labels);
    }
    return status;
}

static void blobs(nerve_mat *x, nerve_lens *lens)
{
    cr_assert_eq(nerve_mat_alloc(x, 400, 3), 0);
    nerve_rng r;
    nerve_rng_seed(&r, 9);
    for (int64_t i = 0; i < x->rows * x->cols; i++)
        x->data[i] = (float)(nerve_rng_normal(&r) * 0.2 + (i / 3) % 4 * 3);
    cr_assert_eq(nerve_lens_compute(lens, "coord:0", x, NULL), 0, "%s", nerve_error());
}

Test(mapper_split, elements_clustered_elsewhere_give_the_same_graph)
{
    nerve_mat x;
    nerve_lens lens;
    blobs(&x, &lens);
    nerve_mapper_params p;
    nerve_mapper_defaults(&p);
    p.intervals = 8;
    kept k = { 0 };
    nerve_mapper_split all = { &k, share_all, keep }, even = { &k, share_even, hand_over };
    nerve_mapper_graph whole, halves, plain;
    cr_assert_eq(nerve_mapper_build_split(&whole, &x, &lens, &p, NULL, &all), 0, "%s", nerve_error());
    cr_assert_eq(nerve_mapper_build_split(&halves, &x, &lens, &p, NULL, &even), 0, "%s", nerve_error());
    cr_assert_eq(nerve_mapper_build(&plain, &x, &lens, &p, NULL), 0, "%s", nerve_error());
    int odd_with_clusters = 0;
    for (int64_t e = 1; e < k.n; e += 2)
        odd_with_clusters += k.n_clusters[e] > 0;
    cr_assert_gt(odd_with_clusters, 0, "no odd element has clusters: the test shows nothing");
    cr_assert_eq(k.odd_clustered_here, 0, "the even-only build clustered odd elements");
    const nerve_mapper_graph *g[2] = { &halves, &plain };
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(g[i]->n_nodes, whole.n_nodes);
        cr_assert_eq(g[i]->n_edges, whole.n_edges);
        cr_assert_eq(memcmp(g[i]->member_start, whole.member_start, (size_t)(whole.n_nodes + 1) * sizeof(int64_t)), 0);
        cr_assert_eq(memcmp(g[i]->members, whole.members,
                            (size_t)whole.member_start[whole.n_nodes] * sizeof *whole.members), 0);
    }
    nerve_mapper_graph_free(&whole);
    nerve_mapper_graph_free(&halves);
    nerve_mapper_graph_free(&plain);
    k.fail = 1;
    cr_assert_eq(nerve_mapper_build_split(&halves, &x, &lens, &p, NULL, &even), NERVE_EINTERNAL);
    cr_assert_null(halves.members);
    free(k.labels);
    free(k.n_clusters);
    nerve_lens_free(&lens);
    nerve_mat_free(&x);
}
