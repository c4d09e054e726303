/*
 * objective.c — what an image should excite, as a value and its gradient
 * on one image's slice of the layer's tensor (channels x positions), and
 * Lucid's diversity term between images of one group.
 */
#include <math.h>
#include <string.h>

#include "featvis_internal.h"

/* Lucid's direction objective with its cosine power: dot x cos^k rewards
 * the direction over the mere size of the activation. The cosine is held
 * at 0.1 or more: a power of a negative cosine would reward pointing away. */
static double direction(float *dact, const float *act, int64_t C, int64_t P, int every, const float *v, double k)
{
    double vv = 0, total = 0;
    for (int64_t c = 0; c < C; c++)
        vv += (double)v[c] * v[c];
    double vn = sqrt(vv);
    int64_t positions = every ? P : 1;   /* one: act and dact start at the position, rows P apart */
    for (int64_t p = 0; p < positions; p++) {
        double dot = 0, aa = 0;
        for (int64_t c = 0; c < C; c++) {
            dot += (double)act[c * P + p] * v[c];
            aa += (double)act[c * P + p] * act[c * P + p];
        }
        double an = sqrt(aa), cos = an > 0 && vn > 0 ? dot / (an * vn) : 0;
        double cc = fmax(cos, 0.1), ck = k > 0 ? pow(cc, k) : 1;
        total += dot * ck;
        /* d(dot cc^k) = cc^k v + dot k cc^(k-1) dcos, dcos = v / (|a||v|) - cos a / |a|^2 */
        double g = k > 0 && cos > 0.1 && an > 0 ? dot * k * pow(cc, k - 1) : 0;
        for (int64_t c = 0; c < C; c++) {
            double dcos = g != 0 ? v[c] / (an * vn) - cos * act[c * P + p] / aa : 0;
            dact[c * P + p] = (float)((ck * v[c] + g * dcos) / (double)positions);
        }
    }
    return total / (double)positions;
}

int64_t featvis_position(const nerve_featvis_objective *o, int64_t P, int64_t Wl)
{
    int64_t Hl = P / Wl, y = o->y < 0 ? Hl / 2 : o->y, x = o->x < 0 ? Wl / 2 : o->x;
    return y * Wl + x;
}

double featvis_objective(float *dact, const float *act, int64_t C, int64_t P, int64_t Wl,
                         const nerve_featvis_objective *o)
{
    memset(dact, 0, sizeof(float) * (size_t)(C * P));
    if (o->kind == NERVE_FEATVIS_DIRECTION)
        return direction(dact, act, C, P, 1, o->direction, o->cossim_pow);
    if (o->kind == NERVE_FEATVIS_DIRECTION_AT) {
        int64_t at = featvis_position(o, P, Wl);
        return direction(dact + at, act + at, C, P, 0, o->direction, o->cossim_pow);
    }
    const float *a = act + o->channel * P;
    float *d = dact + o->channel * P;
    if (o->kind == NERVE_FEATVIS_NEURON) {
        int64_t at = featvis_position(o, P, Wl);
        d[at] = 1;
        return a[at];
    }
    double s = 0;
    for (int64_t p = 0; p < P; p++) {
        s += a[p];
        d[p] = 1.0f / (float)P;
    }
    return s / (double)P;
}

double featvis_cosine(const float *act, int64_t C, int64_t P, int64_t at, const float *v)
{
    double dot = 0, mm = 0, vv = 0;
    for (int64_t c = 0; c < C; c++) {
        double m = 0;
        for (int64_t p = at < 0 ? 0 : at; p < (at < 0 ? P : at + 1); p++)
            m += act[c * P + p];
        m /= at < 0 ? (double)P : 1;
        dot += m * v[c];
        mm += m * m;
        vv += (double)v[c] * v[c];
    }
    return mm > 0 && vv > 0 ? dot / sqrt(mm * vv) : 0;
}

/* Gram matrix of one image's slice, C x C, divided by P. */
static void gram(double *G, const float *act, int64_t C, int64_t P)
{
    for (int64_t i = 0; i < C; i++)
        for (int64_t j = 0; j <= i; j++) {
            double s = 0;
            for (int64_t p = 0; p < P; p++)
                s += (double)act[i * P + p] * act[j * P + p];
            G[i * C + j] = G[j * C + i] = s / (double)P;
        }
}

/* Lucid's diversity: minus the mean cosine similarity between the Gram
 * matrices of every pair of images in the group (n images, each C x P at
 * acts[k]). Adds weight x its gradient to dacts[k] (the objective is
 * maximised) and returns weight x its value. Scratch: G (n + 1) x C x C,
 * norm n. */
double featvis_diversity(float *const *dacts, const float *const *acts, int n, int64_t C, int64_t P, double weight,
                         double *G, double *norm)
{
    if (n < 2)
        return 0;
    int64_t CC = C * C;
    for (int k = 0; k < n; k++) {
        gram(G + k * CC, acts[k], C, P);
        double s = 0;
        for (int64_t i = 0; i < CC; i++)
            s += G[k * CC + i] * G[k * CC + i];
        norm[k] = sqrt(s) + 1e-12;
    }
    double total = 0;
    for (int a = 0; a < n; a++) {
        /* dvalue/dG_a = -(1/n) sum_b (G_b / (|a||b|) - cos_ab G_a / |a|^2), both orders of each pair */
        double dG_scale_self = 0;
        for (int b = 0; b < n; b++) {
            if (b == a)
                continue;
            double dot = 0;
            for (int64_t i = 0; i < CC; i++)
                dot += G[a * CC + i] * G[b * CC + i];
            double cos = dot / (norm[a] * norm[b]);
            total -= cos / n;
            dG_scale_self += 2 * cos / (norm[a] * norm[a]);
        }
        double *dG = G + n * CC;   /* dvalue/dG_a times n */
        for (int64_t i = 0; i < CC; i++) {
            dG[i] = dG_scale_self * G[a * CC + i];
            for (int b = 0; b < n; b++)
                if (b != a)
                    dG[i] -= 2 * G[b * CC + i] / (norm[a] * norm[b]);
        }
        /* G = A A^T / P and dG symmetric: dA = 2 dG A / P */
        for (int64_t i = 0; i < C; i++)
            for (int64_t p = 0; p < P; p++) {
                double g = 0;
                for (int64_t j = 0; j < C; j++)
                    g += dG[i * C + j] * acts[a][j * P + p];
                dacts[a][i * P + p] += (float)(weight * 2 * g / ((double)n * (double)P));
            }
    }
    return weight * total;
}
