/*
 * nn_throughput.c — images per second of nerve's forward pass on an ONNX
 * model: random inputs of the given shape (or INPUT.npy), a warm-up run,
 * then timed runs. With EXPECTED.npy (the peer's output for INPUT.npy) it
 * also prints the largest difference relative to the largest magnitude.
 *   build/bench/nn_throughput MODEL.onnx N,C,H,W [RUNS [INPUT.npy EXPECTED.npy]]
 * Prints "<model> <batch> <images/s> [<relative difference>]".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nerve/nn.h"
#include "nerve/internal/alloc.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: nn_throughput MODEL.onnx N,C,H,W [RUNS]\n");
        return 2;
    }
    int64_t shape[4];
    if (sscanf(argv[2], "%ld,%ld,%ld,%ld", &shape[0], &shape[1], &shape[2], &shape[3]) != 4) {
        fprintf(stderr, "nn_throughput: bad shape '%s'\n", argv[2]);
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 3;
    nerve_threads_init(0);
    /* As nerve's commands do (extract, train, featvis): the tensors each
     * run allocates again stay on the heap instead of being mapped afresh
     * (and faulted in page by page) every time. */
    nerve_alloc_keep_heap(256u << 20);
    nerve_model m;
    if (nerve_onnx_load(&m, argv[1]) < 0) {
        fprintf(stderr, "nerve: error: %s\n", nerve_error());
        return 2;
    }
    nerve_array x, y, expected = { 0 };
    if (argc > 5) {
        if (nerve_npy_read(&x, NULL, argv[4], NERVE_F32) < 0 || nerve_npy_read(&expected, NULL, argv[5], NERVE_F32) < 0) {
            fprintf(stderr, "nerve: error: %s\n", nerve_error());
            return 2;
        }
    } else {
        nerve_array_alloc(&x, NERVE_F32, 4, shape);
        nerve_rng r;
        nerve_rng_seed(&r, 0);
        for (int64_t i = 0; i < nerve_array_count(&x); i++)
            ((float *)x.data)[i] = (float)nerve_rng_normal(&r);
    }
    double best = 1e30;
    for (int k = 0; k <= runs; k++) {
        double t0 = nerve_now();
        if (nerve_nn_run(&m, &x, 1, &y, 1, NULL) < 0) {
            fprintf(stderr, "nerve: error: %s\n", nerve_error());
            return 1;
        }
        double t = nerve_now() - t0;
        if (k == runs && expected.data) {
            double top = 0, worst = 0;
            for (int64_t i = 0; i < nerve_array_count(&expected); i++) {
                double e = ((float *)expected.data)[i];
                top = fabs(e) > top ? fabs(e) : top;
                double d = fabs(((float *)y.data)[i] - e);
                worst = d > worst ? d : worst;
            }
            printf("%s %lld %.2f %.3g\n", argv[1], (long long)shape[0], (double)shape[0] / (best < t ? best : t),
                   worst / top);
        }
        nerve_array_free(&y);
        if (k > 0 && t < best)   /* run 0 warms up */
            best = t;
    }
    if (!expected.data)
        printf("%s %lld %.2f\n", argv[1], (long long)shape[0], (double)shape[0] / best);
    nerve_array_free(&expected);
    nerve_array_free(&x);
    nerve_model_free(&m);
    return 0;
}
