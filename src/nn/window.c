/*
 * window.c — the sliding-window geometry Conv and the pools share: kernel,
 * strides, dilations, explicit or automatic padding and ceil mode, for 1 to
 * 3 spatial dimensions, always expressed in 3-D (leading sizes of 1).
 */
#include <stdint.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* An INTS attribute of per_axis values per spatial axis, or absent; each
 * value in [lo, hi]. */
static int window_ints(const op_context *c, const char *name, int per_axis, int nsp, int64_t lo, int64_t hi,
                       const int64_t **v)
{
    int64_t n;
    *v = attr_ints(c->node, name, &n);
    if (!*v)
        return 0;
    if (n != per_axis * nsp)
        return node_error(c, NERVE_EINPUT, "%s has %lld values for %d spatial axes", name, (long long)n, nsp);
    for (int64_t i = 0; i < n; i++)
        if ((*v)[i] < lo || (*v)[i] > hi)
            return node_error(c, NERVE_EINPUT, "%s[%lld] is %lld; it must be in [%lld, %lld]", name,
                              (long long)i, (long long)(*v)[i], (long long)lo, (long long)hi);
    return 0;
}

/* Attribute values are bounded so that sums and products of a few of them
 * (a window's span, an axis plus its pads) stay far inside int64; anything
 * near the bound is refused later by the tensor limit anyway. */
enum { WINDOW_VALUE_MAX = INT32_MAX };

int nn_window_attributes(const op_context *c, int nsp, const int64_t *kernel)
{
    if (nsp < 1 || nsp > 3)
        return node_error(c, NERVE_EUNSUPPORTED, "input has %d dimensions; nerve runs 1-D, 2-D and "
                          "3-D windows on (N, C, ...) tensors", nsp + 2);
    const int64_t *strides, *dil, *pads;
    int rc;
    if ((rc = window_ints(c, "strides", 1, nsp, 1, WINDOW_VALUE_MAX, &strides)) < 0 ||
        (rc = window_ints(c, "dilations", 1, nsp, 1, WINDOW_VALUE_MAX, &dil)) < 0 ||
        (rc = window_ints(c, "pads", 2, nsp, 0, WINDOW_VALUE_MAX, &pads)) < 0)
        return rc;
    for (int i = 0; kernel && i < nsp; i++)
        if (kernel[i] < 1 || kernel[i] > WINDOW_VALUE_MAX)
            return node_error(c, NERVE_EINPUT, "kernel_shape[%d] is %lld; it must be in [1, %d]", i,
                              (long long)kernel[i], WINDOW_VALUE_MAX);
    const char *auto_pad = attr_string(c->node, "auto_pad", "NOTSET");
    if (strcmp(auto_pad, "NOTSET") && strcmp(auto_pad, "SAME_UPPER") && strcmp(auto_pad, "SAME_LOWER") &&
        strcmp(auto_pad, "VALID"))
        return node_error(c, NERVE_EINPUT, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", auto_pad);
    return 0;
}

int nn_window(const op_context *c, const nerve_array *x, const int64_t *kernel, int ceil_mode, nn_geometry *g)
{
    memset(g, 0, sizeof *g);
    int nsp = x->ndim - 2;
    int rc = nn_window_attributes(c, nsp, kernel);
    if (rc < 0)
        return rc;
    int64_t n;
    const int64_t *strides = attr_ints(c->node, "strides", &n), *dil = attr_ints(c->node, "dilations", &n);
    const int64_t *pads = attr_ints(c->node, "pads", &n);
    const char *auto_pad = attr_string(c->node, "auto_pad", "NOTSET");
    int same = strcmp(auto_pad, "SAME_UPPER") == 0 ? 1 : strcmp(auto_pad, "SAME_LOWER") == 0 ? 2 : 0;
    int valid = strcmp(auto_pad, "VALID") == 0;

    g->spatial = nsp;
    g->batch = x->shape[0];
    g->channels = x->shape[1];
    for (int i = 0; i < 3; i++) {
        int a = i - (3 - nsp);   /* the real axis, or < 0 for a padding axis */
        g->in[i] = a >= 0 ? x->shape[2 + a] : 1;
        g->k[i] = a >= 0 ? kernel[a] : 1;
        g->s[i] = a >= 0 && strides ? strides[a] : 1;
        g->d[i] = a >= 0 && dil ? dil[a] : 1;
        int64_t span = (g->k[i] - 1) * g->d[i] + 1;
        if (same && a >= 0) {
            g->out[i] = ceil_div(g->in[i], g->s[i]);
            int64_t total = (g->out[i] - 1) * g->s[i] + span - g->in[i];
            total = total < 0 ? 0 : total;
            g->pb[i] = same == 1 ? total / 2 : total - total / 2;
            g->pe[i] = total - g->pb[i];
            continue;
        }
        g->pb[i] = a >= 0 && pads && !valid ? pads[a] : 0;
        g->pe[i] = a >= 0 && pads && !valid ? pads[a + nsp] : 0;
        int64_t room = g->in[i] + g->pb[i] + g->pe[i] - span;
        if (room < 0)
            return node_error(c, NERVE_EINPUT, "the window (%lld) is larger than the padded input (%lld)",
                              (long long)span, (long long)(g->in[i] + g->pb[i] + g->pe[i]));
        g->out[i] = (ceil_mode ? ceil_div(room, g->s[i]) : room / g->s[i]) + 1;
        /* As PyTorch: the last window must start inside the input or its left padding. */
        if (ceil_mode && (g->out[i] - 1) * g->s[i] >= g->in[i] + g->pb[i])
            g->out[i]--;
    }
    return 0;
}

int nn_window_output(const op_context *c, nerve_array *out, const nn_geometry *g, int64_t channels)
{
    int64_t shape[5] = { g->batch, channels };
    for (int i = 0; i < g->spatial; i++)
        shape[2 + i] = g->out[3 - g->spatial + i];
    return nn_alloc_raw(c, out, NERVE_F32, 2 + g->spatial, shape);
}
