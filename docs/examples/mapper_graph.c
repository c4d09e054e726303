/*
 * mapper_graph.c — nerve as a C library: the Mapper graph of a layer's
 * activations, as `nerve mapper ACTS.npy` makes it, in a few calls.
 *
 *     cc -std=c17 -Iinclude docs/examples/mapper_graph.c build/libnerve.a \
 *        $(pkg-config --libs jansson stb zlib libprotobuf-c) -fopenmp -lm -o mapper_graph
 *     ./mapper_graph study/acts/relu3.npy graph.json
 */
#include <stdio.h>

#include "nerve/mapper.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s ACTS.npy GRAPH.json\n", argv[0]);
        return 2;
    }
    nerve_mat acts = { 0 };         /* N x C float32, one row per input */
    nerve_lens lens = { 0 };
    nerve_mapper_params p;
    nerve_mapper_graph g = { 0 };
    nerve_mapper_defaults(&p);      /* kmapper cover, 15 intervals, 40%, DBSCAN */

    int rc = nerve_mat_read_npy(&acts, argv[1]);
    if (rc == 0)
        rc = nerve_lens_compute(&lens, "l2norm", &acts, NULL);
    if (rc == 0)
        rc = nerve_mapper_build(&g, &acts, &lens, &p, NULL);
    if (rc == 0)
        rc = nerve_mapper_write(argv[2], NERVE_GRAPH_JSON, &g, &p, &lens);
    if (rc == 0)
        printf("%lld nodes, %lld edges\n", (long long)g.n_nodes, (long long)g.n_edges);
    else
        fprintf(stderr, "nerve: error: %s\n", nerve_error());

    nerve_mapper_graph_free(&g);
    nerve_lens_free(&lens);
    nerve_mat_free(&acts);
    return nerve_exit_status(rc);
}
