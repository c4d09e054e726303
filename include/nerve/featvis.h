/*
 * nerve/featvis.h — the featvis room: feature visualisation by
 * optimisation (Olah et al. 2017, "Feature Visualization", Distill): input
 * images made by gradient ascent through the tape so that a channel, a
 * neuron, a class logit or a direction in a layer responds strongly.
 *
 *     nerve_model m;
 *     int rc = nerve_onnx_load(&m, "model.onnx");      // takes (N, 1, 28, 28)
 *     int layer = -1;
 *     if (rc == 0)
 *         rc = nerve_featvis_find_layer(&m, "/relu2/Relu_output_0", &layer);
 *     nerve_featvis_objective obj[2] = { { 0 }, { 0 } };
 *     for (int i = 0; i < 2; i++) {
 *         obj[i].kind = NERVE_FEATVIS_CHANNEL;
 *         obj[i].value = layer;
 *         obj[i].channel = i;                          // channels 0 and 1, one image each
 *     }
 *     nerve_featvis_options o;
 *     nerve_featvis_defaults(&o, 1, 28, 28);           // Lucid's recipe, Adam, seed 0
 *     o.steps = 16;
 *     nerve_featvis_result r = { 0 };
 *     if (rc == 0)
 *         rc = nerve_featvis_render(&r, &m, obj, 2, &o);
 *     if (rc == 0)
 *         printf("channel 0: %.3f, channel 1: %.3f\n", r.value[0], r.value[1]);
 *     else
 *         fprintf(stderr, "nerve: error: %s\n", nerve_error());
 *     nerve_featvis_result_free(&r);
 *     nerve_model_free(&m);
 *     if (rc < 0)
 *         return nerve_exit_status(rc);
 *
 * Each image is a set of learnable Fourier coefficients (Lucid's fft_image:
 * the image is the inverse real DFT of coefficients scaled by
 * 1 / max(frequency, 1 / size)^decay, so that every frequency moves at the
 * same rate and high-frequency noise does not win), for three channels
 * decorrelated by ImageNet's colour correlation (Lucid's color.py; the
 * identity for one channel), then a sigmoid into [0, 1]. Every step each
 * image is moved by a random warp (Lucid's standard transforms: jitter,
 * scale, rotation, jitter; here one same-size bilinear warp whose outside
 * reads 0.5, so models with fixed input sizes take it), the model's
 * preprocessing is applied (range, mean and std, as torchvision's
 * Normalize), the tape runs forward to the objective's layer and back to
 * the input, and Adam moves the coefficients. Optional total-variation and
 * L2 penalties, and a diversity term between images of one group.
 *
 * Deterministic: image i's start and transforms come from the stream
 * (seed, i), every image is computed by one thread and the model's kernels
 * treat each image alone, so the result is the same at any thread count
 * and batch size.
 */
#ifndef NERVE_FEATVIS_H
#define NERVE_FEATVIS_H

#include "nerve/core.h"
#include "nerve/nn.h"

/* What an image should excite. Append-only. */
typedef enum nerve_featvis_kind {
    NERVE_FEATVIS_CHANNEL = 0,   /* a channel's mean over positions (a class logit: a channel of the logits) */
    NERVE_FEATVIS_NEURON,        /* a channel at one position */
    NERVE_FEATVIS_DIRECTION,     /* mean over positions of dot(a, v) x max(cos(a, v), 0.1)^cossim_pow */
    NERVE_FEATVIS_DIRECTION_AT,  /* the same at one position (Lucid's direction_neuron) */
} nerve_featvis_kind;

typedef struct nerve_featvis_objective {
    nerve_featvis_kind kind;
    int          value;          /* the model value (a layer's output) it reads */
    int64_t      channel;        /* CHANNEL, NEURON */
    int64_t      y, x;           /* NEURON, DIRECTION_AT: the position; negative: the centre */
    const float *direction;      /* DIRECTION(_AT): one entry per channel of the layer (the caller keeps it) */
    int64_t      length;         /* DIRECTION(_AT): entries in direction */
    double       cossim_pow;     /* DIRECTION(_AT): 0 is the plain dot product; Lucid uses 1 to 4 */
    int          group;          /* images of one group >= 0 in one batch repel each other (diversity) */
} nerve_featvis_objective;

typedef struct nerve_featvis_options {
    int64_t  channels, height, width;  /* the model's input image */
    float    range;              /* pixel values the model takes: 1 for [0, 1] (ToTensor), 255 for 0..255 */
    int      n_mean;             /* Normalize's per-channel mean and std (0: none) */
    float    mean[4], std[4];
    int64_t  steps;              /* Adam steps (default 256) */
    double   lr;                 /* Adam's learning rate (default 0.05, Lucid's) */
    int64_t  batch;              /* images per tape pass (default 32) */
    uint64_t seed;
    int      pixels;             /* 1: plain pixel parameterisation instead of Fourier */
    int      no_decorrelate;     /* 1: no colour decorrelation */
    double   decay;              /* Fourier frequency scaling power (default 1) */
    double   init_sd;            /* the coefficients' start (default 0.01) */
    int      no_transforms;      /* 1: no random warp */
    double   jitter;             /* pixels, drawn twice (the second half as large); default width/28 */
    double   rotate;             /* degrees, uniform in [-rotate, rotate]; default 10 */
    double   scale;              /* uniform in [1 - scale, 1 + scale]; default 0.05 */
    double   tv, l2;             /* penalty weights on the [0, 1] image: mean |gradient|, mean (p - 0.5)^2 */
    double   diversity;          /* weight of Lucid's diversity between images of one group (default 0) */
    int      plain_relu;         /* 1: ReLU's own gradient, not Lucid's redirected one for images whose
                                    every ReLU unit is off where the objective looks */
} nerve_featvis_options;

/* Lucid's recipe for (channels, height, width) images taken in [0, 1]. */
void nerve_featvis_defaults(nerve_featvis_options *o, int64_t channels, int64_t height, int64_t width);

typedef struct nerve_featvis_result {
    int64_t     count;
    nerve_array images;          /* (count, C, H, W) float32 in [0, 1]: what the PNGs show */
    nerve_array inputs;          /* (count, C, H, W) float32: the same in the model's input space */
    double     *value;           /* per image: the objective on the image as it is (no warp) */
    double     *cosine;          /* per image, directions only (else NaN): cosine between the layer's
                                    activation (its mean over positions, or at the position) and the
                                    direction */
} nerve_featvis_result;

/* Optimises one image per objective (n of them). Objectives that read one
 * value share tape passes, `batch` at a time (one at a time for a model
 * that cannot run at a batch of 2). A layer of a transformer's tokens
 * (N, T, C) is read as C channels over its tokens: a ViT's patch tokens on
 * their grid (positions y, x; the class token left out), other sequences
 * as a row. NERVE_EINPUT naming the
 * layer for a channel, position or direction length the layer does not
 * have; NERVE_EUNSUPPORTED naming the node and operator when the model
 * has no backward step for an operator between the input and the layer. */
int  nerve_featvis_render(nerve_featvis_result *r, nerve_model *m, const nerve_featvis_objective *obj, int64_t n,
                          const nerve_featvis_options *o);
void nerve_featvis_result_free(nerve_featvis_result *r);

/* The value a layer name means: a value's name, else a node's name (its
 * first output). NERVE_EINPUT naming the model when there is none. */
int  nerve_featvis_find_layer(const nerve_model *m, const char *name, int *value);

/* Writes image i of r as DIR/<name>.png (8-bit, grey or RGB) and
 * DIR/<name>.npy ((C, H, W) float32, the model's input space), each
 * through a temporary file. */
int  nerve_featvis_write(const nerve_featvis_result *r, int64_t i, const char *dir, const char *name);

/* ---- the steps, exposed for tests and the benchmark's parity ---------- */

/* The pre-sigmoid image of one image's parameters: (C, H, W) from C x H x
 * (W/2 + 1) x 2 Fourier coefficients (or C x H x W pixels), decorrelated. */
int64_t nerve_featvis_param_count(const nerve_featvis_options *o);
/* Parameters -> [0, 1] image (C, H, W), and the gradient back (dparam is
 * overwritten). */
int  nerve_featvis_image(float *image, const float *param, const nerve_featvis_options *o);
int  nerve_featvis_image_backward(float *dparam, const float *param, const float *dimage,
                                  const nerve_featvis_options *o);
/* The random warp of image `id` at `step`: out = warp(image), and
 * dimage = warp^T(dout) (overwritten). */
void nerve_featvis_warp(float *out, const float *image, uint64_t id, int64_t step, const nerve_featvis_options *o);
void nerve_featvis_warp_backward(float *dimage, const float *dout, uint64_t id, int64_t step,
                                 const nerve_featvis_options *o);

#endif /* NERVE_FEATVIS_H */
