/*
 * sim_dft_time.c — seconds nerve_sim_svcca_dft takes on synthetic maps:
 * N inputs of C1 x S1 x S1 against C2 x S2 x S2 (issue 18: 5,000 of
 * 256 x 14 x 14 against 512 x 7 x 7 in under 10 s).
 *   build/bench/sim_dft_time [N C1 S1 C2 S2]
 * Prints "<seconds> <mean> <coefficients>".
 */
#include <stdio.h>
#include <stdlib.h>

#include "nerve/sim.h"

/* Uniform noise, with b partly a function of a's top-left corner so the
 * correlations are not all chance. */
static int synthetic(nerve_array *a, nerve_array *b, int64_t n, int64_t c1, int64_t s1, int64_t c2, int64_t s2)
{
    int64_t sa[4] = { n, c1, s1, s1 }, sb[4] = { n, c2, s2, s2 };
    if (nerve_array_alloc_raw(a, NERVE_F32, 4, sa) < 0 || nerve_array_alloc_raw(b, NERVE_F32, 4, sb) < 0)
        return -1;
    float *x = a->data, *y = b->data;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        nerve_rng r;
        nerve_rng_stream(&r, 0, (uint64_t)i);
        for (int64_t j = 0; j < c1 * s1 * s1; j++)
            x[i * c1 * s1 * s1 + j] = (float)nerve_rng_uniform(&r);
        for (int64_t j = 0; j < c2 * s2 * s2; j++)
            y[i * c2 * s2 * s2 + j] = (float)nerve_rng_uniform(&r) + 0.5f * x[i * c1 * s1 * s1 + j % (c1 * s1 * s1)];
    }
    return 0;
}

int main(int argc, char **argv)
{
    int64_t n = 5000, c1 = 256, s1 = 14, c2 = 512, s2 = 7;
    if (argc == 6) {
        n = atoll(argv[1]), c1 = atoll(argv[2]), s1 = atoll(argv[3]), c2 = atoll(argv[4]), s2 = atoll(argv[5]);
    } else if (argc != 1) {
        fprintf(stderr, "usage: sim_dft_time [N C1 S1 C2 S2]\n");
        return 2;
    }
    if (nerve_threads_init(0) < 0)
        return 2;
    nerve_array a, b;
    if (synthetic(&a, &b, n, c1, s1, c2, s2) < 0) {
        fprintf(stderr, "nerve: error: %s\n", nerve_error());
        return 1;
    }
    nerve_sim_options o;
    nerve_sim_defaults(&o);
    nerve_cca c;
    double t0 = nerve_now();
    if (nerve_sim_svcca_dft(&c, &a, &b, &o) < 0) {
        fprintf(stderr, "nerve: error: %s\n", nerve_error());
        return 1;
    }
    printf("%.2f %.6f %lld\n", nerve_now() - t0, c.mean, (long long)c.k);
    nerve_cca_free(&c);
    nerve_array_free(&a);
    nerve_array_free(&b);
    return 0;
}
