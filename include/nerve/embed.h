/*
 * nerve/embed.h — the embed room: low-dimensional pictures of a layer's
 * point cloud. PCA now; t-SNE is to come.
 *
 *     nerve_pca p;
 *     if ((rc = nerve_pca_fit(&p, &acts, 2)) < 0) ... nerve_error() ...
 *     // p.scores: N x 2, p.explained_ratio[0..1]
 *     nerve_pca_free(&p);
 */
#ifndef NERVE_EMBED_H
#define NERVE_EMBED_H

#include "nerve/core.h"

typedef struct nerve_pca {
    int64_t   n, d, k;
    nerve_mat scores;            /* N x k: the centred data on the components */
    double   *components;        /* k x d, unit rows */
    double   *explained;         /* k variances (divided by N - 1, as scikit-learn) */
    double   *explained_ratio;   /* k shares of the total variance */
    double   *mean;              /* d column means */
} nerve_pca;

/* The first k principal components of points (N x d, k <= min(N, d)). Signs
 * follow scikit-learn's svd_flip: each score column's entry of largest
 * magnitude is positive. */
int  nerve_pca_fit(nerve_pca *p, const nerve_mat *points, int64_t k);
void nerve_pca_free(nerve_pca *p);

#endif /* NERVE_EMBED_H */
