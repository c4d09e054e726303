/* featvis_internal.h — what the featvis room's files share. */
#ifndef NERVE_FEATVIS_INTERNAL_H
#define NERVE_FEATVIS_INTERNAL_H

#include "nerve/featvis.h"

#define FEATVIS_PI 3.14159265358979323846

/* The stream of image id's draws: its start (step -1) and each step's
 * warp. Steps are below 2^24 (nerve_featvis_render refuses more). */
static inline uint64_t featvis_stream(uint64_t id, int64_t step)
{
    return (id << 24) | (uint64_t)(step < 0 ? 0xFFFFFF : step);
}

enum { FEATVIS_MAX_STEPS = 1000000 };

/* The naive twin of the separable inverse real DFT: the 2-D sum straight
 * from its definition (tests compare the two). coef: H x (W/2 + 1) x 2. */
void featvis_irdft2_naive(float *out, const float *coef, int64_t H, int64_t W);
int  featvis_irdft2(float *out, const float *coef, int64_t H, int64_t W);
int  featvis_irdft2_backward(float *dcoef, const float *dout, int64_t H, int64_t W);

/* One image's objective on its slice of the layer's tensor (C x P values,
 * P positions): returns the value and writes its gradient into dact (C x P,
 * overwritten). */
double featvis_objective(float *dact, const float *act, int64_t C, int64_t P, int64_t Wl,
                         const nerve_featvis_objective *o);
/* The cosine between a direction and the layer at position `at` (< 0:
 * the mean over positions). */
double featvis_cosine(const float *act, int64_t C, int64_t P, int64_t at, const float *v);
/* The position a NEURON or DIRECTION_AT objective reads. */
int64_t featvis_position(const nerve_featvis_objective *o, int64_t P, int64_t Wl);

/* Lucid's diversity between the n images of one group (objective.c). */
double featvis_diversity(float *const *dacts, const float *const *acts, int n, int64_t C, int64_t P, double weight,
                         double *G, double *norm);

/* Penalties on one [0, 1] image (C, H, W): adds their gradient to dimage
 * and returns their value. */
double featvis_penalties(float *dimage, const float *image, const nerve_featvis_options *o);

#endif /* NERVE_FEATVIS_INTERNAL_H */
