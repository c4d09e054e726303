/*
 * fuzz_diagram_json.c — a persistence diagram file as `nerve ph-distance`
 * reads it; small diagrams then go through the bottleneck and Wasserstein
 * distances, which meet whatever points the checks let through.
 */
#include "nerve/ph.h"
#include "support.h"

enum { DISTANCE_MAX_POINTS = 64 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nerve_diagram g[NERVE_PH_MAX_DIM + 1];
    int n_dims = 0;
    if (nerve_ph_read_diagrams(g, &n_dims, fuzz_file(data, size, ".json")) < 0) {
        nerve_ph_diagrams_free(g, n_dims);
        return 0;
    }
    /* The first dimension against the last (itself when there is one). */
    if (n_dims > 0 && g[0].n <= DISTANCE_MAX_POINTS && g[n_dims - 1].n <= DISTANCE_MAX_POINTS) {
        double d;
        nerve_diagram_bottleneck(&d, &g[0], &g[n_dims - 1]);
        nerve_diagram_wasserstein(&d, &g[0], &g[n_dims - 1], 2);
    }
    nerve_ph_diagrams_free(g, n_dims);
    return 0;
}
