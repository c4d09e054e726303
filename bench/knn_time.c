/*
 * knn_time.c — seconds nerve's kNN takes on the points of an .npy.
 *   build/bench/knn_time POINTS.npy K euclidean|cosine [exact|descent]
 * Prints "<seconds>"; for descent "<seconds> <recall>", the recall
 * measured against the exact neighbours (computed after the timing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/knn.h"

/* The share of the exact neighbours the approximate lists found. */
static double recall(const nerve_knn *approx, const nerve_knn *exact)
{
    int64_t hit = 0;
    for (int64_t i = 0; i < exact->n; i++)
        for (int64_t a = 0; a < exact->k; a++)
            for (int64_t b = 0; b < approx->k; b++)
                if (approx->index[i * approx->k + b] == exact->index[i * exact->k + a]) {
                    hit++;
                    break;
                }
    return (double)hit / (double)(exact->n * exact->k);
}

int main(int argc, char **argv)
{
    nerve_metric metric;
    int descent = argc == 5 && strcmp(argv[4], "descent") == 0;
    if (argc < 4 || argc > 5 || nerve_metric_parse(argv[3], &metric) < 0) {
        fprintf(stderr, "usage: knn_time POINTS.npy K euclidean|cosine [exact|descent]\n");
        return 2;
    }
    nerve_threads_init(0);
    nerve_mat m;
    nerve_knn nn;
    if (nerve_mat_read_npy(&m, argv[1]) < 0) {
        fprintf(stderr, "nerve: error: %s\n", nerve_error());
        return 2;
    }
    int64_t k = atol(argv[2]);
    double t = nerve_now();
    if ((descent ? nerve_knn_descent(&nn, &m, k, metric, 1) : nerve_knn_exact(&nn, &m, k, metric)) < 0) {
        fprintf(stderr, "nerve: error: %s\n", nerve_error());
        return 1;
    }
    t = nerve_now() - t;
    if (!descent) {
        printf("%.3f\n", t);
    } else {
        nerve_knn ex;
        if (nerve_knn_exact(&ex, &m, k, metric) < 0) {
            fprintf(stderr, "nerve: error: %s\n", nerve_error());
            return 1;
        }
        printf("%.3f %.4f\n", t, recall(&nn, &ex));
        nerve_knn_free(&ex);
    }
    nerve_knn_free(&nn);
    nerve_mat_free(&m);
    return 0;
}
