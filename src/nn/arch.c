/*
 * arch.c — the built-in architectures nerve trains on Fashion-MNIST, built
 * as ordinary models (the same nodes an ONNX file would give), drawn from
 * a seeded generator, with names that read well as layers: conv1, bn1,
 * relu1, pool1, ... fc1, fc2. Initialisation is PyTorch's default, except
 * that convolution weights take He's uniform bound sqrt(6 / fan_in), meant
 * for ReLU networks (measured: cnn-small's test accuracy after 3 epochs
 * 90.1% -> 91.1%).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "nn_internal.h"

const char NERVE_ARCH_NAMES[] = "cnn-small, mlp, resnet-mini";

const char *nerve_arch_name(nerve_arch a)
{
    return a == NERVE_ARCH_MLP ? "mlp" : a == NERVE_ARCH_RESNET_MINI ? "resnet-mini" : "cnn-small";
}

int nerve_arch_parse(const char *s, nerve_arch *a)
{
    for (int i = NERVE_ARCH_CNN_SMALL; i <= NERVE_ARCH_RESNET_MINI; i++)
        if (strcmp(s, nerve_arch_name((nerve_arch)i)) == 0) {
            *a = (nerve_arch)i;
            return 0;
        }
    return -1;
}

/* ---- a small graph builder ---------------------------------------------- */

typedef struct builder {
    nerve_model *m;
    int          cap_values, cap_nodes;
    int         *params, n_params;
    nerve_rng    rng;
    int          failed;
} builder;

static int new_value(builder *b, const char *name)
{
    nerve_model *m = b->m;
    if (b->failed)
        return -1;
    if (m->n_values == b->cap_values) {
        int cap = b->cap_values ? 2 * b->cap_values : 64;
        nerve_value *v = realloc(m->values, (size_t)cap * sizeof *v);
        if (!v) {
            b->failed = 1;
            return -1;
        }
        m->values = v;
        b->cap_values = cap;
    }
    nerve_value *v = &m->values[m->n_values];
    memset(v, 0, sizeof *v);
    v->name = strdup(name);
    v->producer = v->last_use = -1;
    v->ndim = -1;
    if (!v->name)
        b->failed = 1;
    return b->failed ? -1 : m->n_values++;
}

/* A parameter initialised uniformly in [-bound, bound] (PyTorch's default
 * for Conv2d and Linear weights and biases is bound = 1 / sqrt(fan_in)), or
 * to a constant when bound < 0 (fill = -bound - 1: BN's 0 and 1). */
static int param(builder *b, const char *name, int ndim, const int64_t *shape, double bound, int trainable)
{
    int v = new_value(b, name);
    if (v < 0)
        return -1;
    nerve_value *val = &b->m->values[v];
    val->constant = 1;
    if (nerve_array_alloc(&val->data, NERVE_F32, ndim, shape) < 0) {
        b->failed = 1;
        return -1;
    }
    float *d = val->data.data;
    for (int64_t i = 0; i < nerve_array_count(&val->data); i++)
        d[i] = bound >= 0 ? (float)((2 * nerve_rng_uniform(&b->rng) - 1) * bound) : (float)(-bound - 1);
    if (trainable)
        b->params[b->n_params++] = v;
    return v;
}

static nerve_attr attr_ints_of(const char *name, int n, const int64_t *v, int *failed)
{
    nerve_attr a = { .name = strdup(name), .type = NERVE_ATTR_INTS, .count = n, .ints = malloc((size_t)n * sizeof(int64_t)) };
    if (!a.name || !a.ints)
        *failed = 1;
    else
        memcpy(a.ints, v, (size_t)n * sizeof *v);
    return a;
}

static nerve_attr attr_int_of(const char *name, int64_t v, int *failed)
{
    nerve_attr a = { .name = strdup(name), .type = NERVE_ATTR_INT, .i = v };
    if (!a.name)
        *failed = 1;
    return a;
}

/* A node reading in[0..n_in) and writing one new value named out. */
static int node(builder *b, const char *op, const char *name, const int *in, int n_in, const char *out,
                nerve_attr *attrs, int n_attr)
{
    nerve_model *m = b->m;
    int y = new_value(b, out);
    if (y < 0)
        return -1;
    if (m->n_nodes == b->cap_nodes) {
        int cap = b->cap_nodes ? 2 * b->cap_nodes : 32;
        nerve_node *nn = realloc(m->nodes, (size_t)cap * sizeof *nn);
        if (!nn) {
            b->failed = 1;
            return -1;
        }
        m->nodes = nn;
        b->cap_nodes = cap;
    }
    nerve_node *n = &m->nodes[m->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = strdup(name);
    n->op = strdup(op);
    n->op_index = nn_op_find(op);
    n->in = malloc((size_t)n_in * sizeof *n->in);
    n->out = malloc(sizeof *n->out);
    n->attr = calloc((size_t)n_attr + 1, sizeof *n->attr);
    m->n_nodes++;
    if (!n->name || !n->op || !n->in || !n->out || !n->attr || n->op_index < 0) {
        b->failed = 1;
        return -1;
    }
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        n->in[i] = in[i];
        m->values[in[i]].last_use = m->n_nodes - 1;
    }
    n->n_out = 1;
    n->out[0] = y;
    m->values[y].producer = m->n_nodes - 1;
    n->n_attr = n_attr;
    if (n_attr > 0)
        memcpy(n->attr, attrs, (size_t)n_attr * sizeof *attrs);
    return y;
}

/* ---- layers ------------------------------------------------------------- */

static int conv(builder *b, const char *name, int x, int64_t cin, int64_t cout, int64_t k, int64_t stride)
{
    char w[96], bias[96];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(bias, sizeof bias, "%s.bias", name);
    int64_t ws[4] = { cout, cin, k, k }, pad = k / 2, pads[4] = { pad, pad, pad, pad }, strides[2] = { stride, stride };
    int64_t kernel[2] = { k, k };
    double bound = 1 / sqrt((double)(cin * k * k));
    int in[3] = { x, param(b, w, 4, ws, sqrt(6.0) * bound, 1), param(b, bias, 1, &cout, bound, 1) };
    nerve_attr attrs[3] = { attr_ints_of("kernel_shape", 2, kernel, &b->failed), attr_ints_of("pads", 4, pads, &b->failed),
                            attr_ints_of("strides", 2, strides, &b->failed) };
    return node(b, "Conv", name, in, 3, name, attrs, 3);
}

static int batch_norm(builder *b, const char *name, int x, int64_t c)
{
    char s[96], bi[96], mean[96], var[96];
    snprintf(s, sizeof s, "%s.weight", name);
    snprintf(bi, sizeof bi, "%s.bias", name);
    snprintf(mean, sizeof mean, "%s.running_mean", name);
    snprintf(var, sizeof var, "%s.running_var", name);
    int in[5] = { x, param(b, s, 1, &c, -2, 1), param(b, bi, 1, &c, -1, 1), param(b, mean, 1, &c, -1, 0),
                  param(b, var, 1, &c, -2, 0) };
    return node(b, "BatchNormalization", name, in, 5, name, NULL, 0);
}

static int unary(builder *b, const char *op, const char *name, int x)
{
    return node(b, op, name, &x, 1, name, NULL, 0);
}

static int max_pool(builder *b, const char *name, int x)
{
    int64_t k[2] = { 2, 2 };
    nerve_attr attrs[2] = { attr_ints_of("kernel_shape", 2, k, &b->failed), attr_ints_of("strides", 2, k, &b->failed) };
    return node(b, "MaxPool", name, &x, 1, name, attrs, 2);
}

static int linear(builder *b, const char *name, int x, int64_t in_f, int64_t out_f)
{
    char w[96], bias[96];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(bias, sizeof bias, "%s.bias", name);
    int64_t ws[2] = { out_f, in_f };
    double bound = 1 / sqrt((double)in_f);
    int in[3] = { x, param(b, w, 2, ws, bound, 1), param(b, bias, 1, &out_f, bound, 1) };
    nerve_attr attrs[1] = { attr_int_of("transB", 1, &b->failed) };
    return node(b, "Gemm", name, in, 3, name, attrs, 1);
}

static int flatten(builder *b, const char *name, int x)
{
    nerve_attr attrs[1] = { attr_int_of("axis", 1, &b->failed) };
    return node(b, "Flatten", name, &x, 1, name, attrs, 1);
}

/* conv - bn - relu, named <prefix>conv<i>, <prefix>bn<i>, <prefix>relu<i>. */
static int conv_bn_relu(builder *b, const char *prefix, int i, int x, int64_t cin, int64_t cout, int64_t stride,
                        int relu)
{
    char c[64], n[64], r[64];
    snprintf(c, sizeof c, "%sconv%d", prefix, i);
    snprintf(n, sizeof n, "%sbn%d", prefix, i);
    snprintf(r, sizeof r, "%srelu%d", prefix, i);
    int y = batch_norm(b, n, conv(b, c, x, cin, cout, 3, stride), cout);
    return relu ? unary(b, "Relu", r, y) : y;
}

/* ---- architectures ------------------------------------------------------ */

/* Standardises [0, 1] pixels with Fashion-MNIST's training mean and
 * standard deviation inside the model, so it takes what `nerve extract`
 * feeds by default. */
static int standardise(builder *b, int x)
{
    int64_t one = 1;
    int mean = param(b, "pixel_mean", 1, &one, 0, 0), scale = param(b, "pixel_scale", 1, &one, 0, 0);
    if (mean >= 0 && scale >= 0) {
        ((float *)b->m->values[mean].data.data)[0] = 0.2860f;
        ((float *)b->m->values[scale].data.data)[0] = 1 / 0.3530f;
    }
    int in1[2] = { x, mean };
    int centred = node(b, "Sub", "centre", in1, 2, "centre", NULL, 0);
    int in2[2] = { centred, scale };
    return node(b, "Mul", "standardise", in2, 2, "standardise", NULL, 0);
}

static int cnn_small(builder *b, int x)
{
    x = standardise(b, x);
    x = max_pool(b, "pool1", conv_bn_relu(b, "", 1, x, 1, 32, 1, 1));
    x = max_pool(b, "pool2", conv_bn_relu(b, "", 2, x, 32, 64, 1, 1));
    x = unary(b, "Relu", "relu3", conv(b, "conv3", x, 64, 256, 3, 1));
    x = flatten(b, "flatten", unary(b, "GlobalAveragePool", "gap", x));
    x = unary(b, "Relu", "relu4", linear(b, "fc1", x, 256, 128));
    return linear(b, "fc2", x, 128, 10);
}

static int mlp(builder *b, int x)
{
    x = flatten(b, "flatten", x);
    x = unary(b, "Relu", "relu1", linear(b, "fc1", x, 784, 256));
    x = unary(b, "Relu", "relu2", linear(b, "fc2", x, 256, 128));
    return linear(b, "fc3", x, 128, 10);
}

/* A residual block: conv-bn-relu-conv-bn plus the input (projected by a
 * 1 x 1 convolution when the shape changes), then relu. */
static int residual(builder *b, int i, int x, int64_t cin, int64_t cout, int64_t stride)
{
    char prefix[32], proj[48], add[48], relu[48];
    snprintf(prefix, sizeof prefix, "block%d.", i);
    snprintf(proj, sizeof proj, "block%d.shortcut", i);
    snprintf(add, sizeof add, "block%d.add", i);
    snprintf(relu, sizeof relu, "block%d.relu", i);
    int y = conv_bn_relu(b, prefix, 1, x, cin, cout, stride, 1);
    y = conv_bn_relu(b, prefix, 2, y, cout, cout, 1, 0);
    int shortcut = cin == cout && stride == 1 ? x : conv(b, proj, x, cin, cout, 1, stride);
    int in[2] = { y, shortcut };
    return unary(b, "Relu", relu, node(b, "Add", add, in, 2, add, NULL, 0));
}

static int resnet_mini(builder *b, int x)
{
    x = conv_bn_relu(b, "", 1, x, 1, 32, 1, 1);
    x = residual(b, 1, x, 32, 32, 1);
    x = residual(b, 2, x, 32, 64, 2);
    x = residual(b, 3, x, 64, 128, 2);
    x = flatten(b, "flatten", unary(b, "GlobalAveragePool", "gap", x));
    return linear(b, "fc", x, 128, 10);
}

int nerve_arch_build(nerve_model *m, nerve_arch arch, uint64_t seed, int **params, int *n_params)
{
    memset(m, 0, sizeof *m);
    builder b = { .m = m, .params = malloc(256 * sizeof(int)) };
    nerve_rng_seed(&b.rng, seed);
    m->path = strdup(nerve_arch_name(arch));
    m->producer = strdup("nerve");
    m->opset = 13;
    m->ir_version = 8;
    m->inputs = malloc(sizeof *m->inputs);
    m->outputs = malloc(sizeof *m->outputs);
    if (!b.params || !m->path || !m->producer || !m->inputs || !m->outputs)
        b.failed = 1;
    int x = new_value(&b, "input");
    if (x >= 0) {
        nerve_value *in = &m->values[x];
        in->elem_type = 1;
        in->ndim = 4;
        int64_t shape[4] = { -1, 1, 28, 28 };
        memcpy(in->shape, shape, sizeof shape);
    }
    int y = arch == NERVE_ARCH_MLP ? mlp(&b, x) : arch == NERVE_ARCH_RESNET_MINI ? resnet_mini(&b, x) : cnn_small(&b, x);
    if (b.failed || y < 0) {
        free(b.params);
        nerve_model_free(m);
        return nerve_error_set(NERVE_ENOMEM, "out of memory building %s", nerve_arch_name(arch));
    }
    m->n_inputs = m->n_outputs = 1;
    m->inputs[0] = x;
    m->outputs[0] = y;
    m->values[y].last_use = m->n_nodes;   /* the output outlives every node */
    m->values[y].elem_type = 1;            /* declared (batch, 10) float logits */
    m->values[y].ndim = 2;
    m->values[y].shape[0] = -1;
    m->values[y].shape[1] = 10;
    *params = b.params;
    *n_params = b.n_params;
    return 0;
}
