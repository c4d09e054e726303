/*
 * nerve/embed.h — the embed room: low-dimensional pictures of a layer's
 * point cloud: t-SNE (exact, Barnes-Hut, FFT interpolation). PCA, which
 * several rooms use, is core's (nerve/core.h).
 *
 *     nerve_mat acts = { 0 };
 *     nerve_tsne_options o;
 *     nerve_tsne t = { 0 };
 *     nerve_tsne_defaults(&o);            // perplexity 30, 750 iterations, PCA start
 *     o.iters = 300;
 *     int rc = nerve_mat_read_npy(&acts, "acts.npy");     // N x d float32
 *     if (rc == 0)
 *         rc = nerve_tsne_fit(&t, &acts, &o, NULL);       // NULL: no progress bar
 *     if (rc == 0)   // t.y: N x 2
 *         printf("t-SNE of %lld points, KL divergence %.3f\n", (long long)t.n, t.kl);
 *     else
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *     nerve_tsne_free(&t);
 *     nerve_mat_free(&acts);
 *     if (rc < 0)
 *         return nerve_exit_status(rc);
 */
#ifndef NERVE_EMBED_H
#define NERVE_EMBED_H

#include "nerve/core.h"

/* ---- t-SNE -------------------------------------------------------------- */

typedef enum nerve_tsne_method {
    NERVE_TSNE_AUTO = 0,        /* exact below 500 points, Barnes-Hut below 300,000, else FFT */
    NERVE_TSNE_EXACT,           /* every pair, every iteration */
    NERVE_TSNE_BARNES_HUT,      /* a quadtree, cells summarised below angle theta */
    NERVE_TSNE_FFT,             /* interpolation on a grid, convolved by FFT (FIt-SNE) */
} nerve_tsne_method;

const char *nerve_tsne_method_name(nerve_tsne_method m);
int         nerve_tsne_method_parse(const char *s, nerve_tsne_method *m);

typedef struct nerve_tsne_options {
    double            perplexity;          /* 30 */
    double            early_exaggeration;  /* 12 */
    int64_t           early_iters;         /* 250 of them exaggerated */
    int64_t           iters;               /* 750 in all */
    double            learning_rate;       /* 0: max(N / 12, 200) */
    double            theta;               /* Barnes-Hut angle, 0.5 */
    nerve_tsne_method method;
    uint64_t          seed;                /* for approximate neighbours on large N */
} nerve_tsne_options;

typedef struct nerve_tsne {
    int64_t           n, iters;
    nerve_mat         y;                   /* N x 2 */
    double            kl;                  /* final KL(P || Q) */
    double            learning_rate;
    nerve_tsne_method method;              /* the one used */
} nerve_tsne;

void nerve_tsne_defaults(nerve_tsne_options *o);
/* Embeds points (N x d) in 2-D; bar (may be NULL) counts iterations. */
int  nerve_tsne_fit(nerve_tsne *t, const nerve_mat *points, const nerve_tsne_options *o, nerve_progress *bar);
void nerve_tsne_free(nerve_tsne *t);

#endif /* NERVE_EMBED_H */
