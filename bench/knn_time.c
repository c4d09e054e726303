/*
 * knn_time.c — seconds nerve's exact kNN takes on the points of an .npy.
 *   build/bench/knn_time POINTS.npy K euclidean|cosine
 * Prints "<seconds>".
 */
#include <stdio.h>
#include <stdlib.h>

#include "nerve/knn.h"

int main(int argc, char **argv)
{
    nerve_metric metric;
    if (argc != 4 || nerve_metric_parse(argv[3], &metric) < 0) {
        fprintf(stderr, "usage: knn_time POINTS.npy K euclidean|cosine\n");
        return 2;
    }
    nerve_threads_init(0);
    nerve_mat m;
    nerve_knn nn;
    if (nerve_mat_read_npy(&m, argv[1]) < 0) {
        fprintf(stderr, "nerve: error: %s\n", nerve_error());
        return 2;
    }
    double t = nerve_now();
    if (nerve_knn_exact(&nn, &m, atol(argv[2]), metric) < 0) {
        fprintf(stderr, "nerve: error: %s\n", nerve_error());
        return 1;
    }
    printf("%.3f\n", nerve_now() - t);
    nerve_knn_free(&nn);
    nerve_mat_free(&m);
    return 0;
}
