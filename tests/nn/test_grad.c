/*
 * test_grad.c — every operator's backward step against finite differences
 * of its forward pass: for a random output weighting dy, the gradient of
 * sum(dy * y) with respect to each input, at random coordinates.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "nerve/nn.h"
#include "../../src/nn/grad_internal.h"
#include "../support/support.h"

typedef struct op_case {
    const char *op;
    int64_t     opset;
    nerve_attr *attr;
    int         n_attr;
    int         n_in;
    nerve_array in[5];
    int         check[5];        /* inputs to check */
    float       step;            /* finite-difference step */
    float       away_from;       /* keep inputs this far from 0 (kinks of Relu and friends) */
    int         n_out;           /* outputs whose gradients come back (0: 1) */
} op_case;

enum { CASE_OUTPUTS = 3 };

static nerve_attr ints(const char *name, int64_t *v, int64_t n)
{
    return (nerve_attr){ .name = (char *)name, .type = NERVE_ATTR_INTS, .count = n, .ints = v };
}

static nerve_attr one_int(const char *name, int64_t v)
{
    return (nerve_attr){ .name = (char *)name, .type = NERVE_ATTR_INT, .i = v };
}

static nerve_attr one_float(const char *name, float v)
{
    return (nerve_attr){ .name = (char *)name, .type = NERVE_ATTR_FLOAT, .f = v };
}

static void random_tensor(nerve_array *a, int ndim, const int64_t *shape, nerve_rng *r, float away)
{
    cr_assert_eq(nerve_array_alloc(a, NERVE_F32, ndim, shape), 0);
    float *d = a->data;
    for (int64_t i = 0; i < nerve_array_count(a); i++) {
        float v = (float)nerve_rng_normal(r);
        if (away > 0 && fabsf(v) < away)
            v = v < 0 ? v - away : v + away;
        d[i] = v;
    }
}

static int forward(const op_case *t, nerve_node *node, nerve_array *out)
{
    nerve_model m = { .path = "(test)", .opset = t->opset };
    op_context c = { &m, node, t->opset, NULL };
    const nerve_array *in[5];
    for (int i = 0; i < t->n_in; i++)
        in[i] = &t->in[i];
    memset(out, 0, CASE_OUTPUTS * sizeof *out);
    return nn_op(nn_op_find(t->op))->run(&c, in, t->n_in, out, t->n_out ? t->n_out : 1);
}

/* sum over the outputs of sum(dy * y) */
static double weighted_sum(const nerve_array *y, const nerve_array *dy, int n_out)
{
    double s = 0;
    for (int k = 0; k < n_out; k++)
        for (int64_t i = 0; i < nerve_array_count(&y[k]); i++)
            s += (double)((const float *)y[k].data)[i] * ((const float *)dy[k].data)[i];
    return s;
}

/* Checks the analytic gradients of the case's inputs at up to 12 random
 * coordinates each; saved is handed to the backward step (BN statistics). */
static void check_case(op_case *t, const nerve_array *saved, nerve_rng *r)
{
    nerve_node node = { .name = (char *)"n", .op = (char *)t->op, .n_attr = t->n_attr, .attr = t->attr };
    nerve_array out[CASE_OUTPUTS], dy[CASE_OUTPUTS];
    const nerve_array *douts[CASE_OUTPUTS];
    int n_out = t->n_out ? t->n_out : 1;
    cr_assert_eq(forward(t, &node, out), 0, "%s: %s", t->op, nerve_error());
    for (int k = 0; k < n_out; k++) {
        random_tensor(&dy[k], out[k].ndim, out[k].shape, r, 0);
        douts[k] = &dy[k];
    }
    nerve_model m = { .path = "(test)", .opset = t->opset };
    op_context c = { &m, &node, t->opset, NULL };
    const nerve_array *in[5];
    nerve_array din[5];
    int need[5];
    memset(din, 0, sizeof din);
    for (int i = 0; i < t->n_in; i++) {
        in[i] = &t->in[i];
        need[i] = t->check[i];
    }
    grad_fn fn = nn_grad_find(t->op);
    cr_assert(fn, "%s has no gradient", t->op);
    grad_args a = { &c, in, t->n_in, out, &dy[0], need, din, saved, n_out, douts };
    cr_assert_eq(fn(&a), 0, "%s: %s", t->op, nerve_error());
    for (int i = 0; i < t->n_in; i++) {
        if (!t->check[i])
            continue;
        cr_assert(din[i].data, "%s: no gradient for input %d", t->op, i);
        float *x = t->in[i].data;
        int64_t n = nerve_array_count(&t->in[i]);
        for (int trial = 0; trial < 12 && trial < n; trial++) {
            int64_t at = (int64_t)nerve_rng_below(r, (uint64_t)n);
            float keep = x[at];
            nerve_array plus[CASE_OUTPUTS], minus[CASE_OUTPUTS];
            x[at] = keep + t->step;
            cr_assert_eq(forward(t, &node, plus), 0);
            x[at] = keep - t->step;
            cr_assert_eq(forward(t, &node, minus), 0);
            x[at] = keep;
            double num = (weighted_sum(plus, dy, n_out) - weighted_sum(minus, dy, n_out)) / (2.0 * t->step);
            double ana = ((float *)din[i].data)[at];
            cr_assert(fabs(num - ana) <= 2e-2 * fmax(1, fabs(num)), "%s: input %d [%lld]: numeric %g, analytic %g",
                      t->op, i, (long long)at, num, ana);
            for (int k = 0; k < CASE_OUTPUTS; k++) {
                nerve_array_free(&plus[k]);
                nerve_array_free(&minus[k]);
            }
        }
        nerve_array_free(&din[i]);
    }
    for (int k = 0; k < CASE_OUTPUTS; k++)
        nerve_array_free(&out[k]);
    for (int k = 0; k < n_out; k++)
        nerve_array_free(&dy[k]);
}

static void free_case(op_case *t)
{
    for (int i = 0; i < t->n_in; i++)
        nerve_array_free(&t->in[i]);
}

/* A case with inputs of the given shapes (ndim 0 ends the list). */
static op_case make_case(const char *op, int64_t opset, nerve_rng *r, float away, int n_in,
                         const int64_t shapes[][5], const int *ndims, const int *check)
{
    op_case t = { .op = op, .opset = opset, .n_in = n_in, .step = 1e-2f, .away_from = away };
    for (int i = 0; i < n_in; i++) {
        random_tensor(&t.in[i], ndims[i], shapes[i], r, away);
        t.check[i] = check[i];
    }
    return t;
}

Test(grad, pointwise_activations)
{
    nerve_rng r;
    nerve_rng_seed(&r, 1);
    const char *ops[] = { "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Identity" };
    const int64_t shapes[][5] = { { 3, 4, 5 } };
    int ndims[] = { 3 }, check[] = { 1 };
    for (int k = 0; k < 5; k++) {
        op_case t = make_case(ops[k], 13, &r, 0.05f, 1, shapes, ndims, check);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

/* The pointwise operators of issue 19's models (MobileNetV3's hard
 * activations, GELU's Erf, a decomposed LayerNorm's Sqrt...); Sqrt, Log and
 * Reciprocal on inputs kept positive and away from 0. */
Test(grad, pointwise_operators_of_modern_models)
{
    nerve_rng r;
    nerve_rng_seed(&r, 19);
    const char *ops[] = { "HardSigmoid", "HardSwish", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal",
                          "Softplus", "Elu" };
    const int64_t shapes[][5] = { { 3, 4, 5 } };
    int ndims[] = { 3 }, check[] = { 1 };
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
        op_case t = make_case(ops[k], 17, &r, 0.1f, 1, shapes, ndims, check);
        int positive = strcmp(ops[k], "Sqrt") == 0 || strcmp(ops[k], "Log") == 0 || strcmp(ops[k], "Reciprocal") == 0;
        float *x = t.in[0].data;
        for (int64_t i = 0; i < nerve_array_count(&t.in[0]); i++) {
            if (positive)
                x[i] = fabsf(x[i]) + 0.5f;
            if (strcmp(ops[k], "HardSwish") == 0 && fabsf(fabsf(x[i]) - 3) < 0.05f)
                x[i] += 0.1f;   /* off its kinks at -3 and 3 */
        }
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

Test(grad, broadcasting_add_sub_mul)
{
    nerve_rng r;
    nerve_rng_seed(&r, 2);
    const char *ops[] = { "Add", "Sub", "Mul" };
    const int64_t shapes[][5] = { { 2, 3, 4 }, { 3, 1 } };
    int ndims[] = { 3, 2 }, check[] = { 1, 1 };
    for (int k = 0; k < 3; k++) {
        op_case t = make_case(ops[k], 13, &r, 0, 2, shapes, ndims, check);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

Test(grad, gemm_every_transpose_and_matmul)
{
    nerve_rng r;
    nerve_rng_seed(&r, 3);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int64_t shapes[][5] = { { ta ? 5 : 4, ta ? 4 : 5 }, { tb ? 3 : 5, tb ? 5 : 3 }, { 3 } };
            int ndims[] = { 2, 2, 1 }, check[] = { 1, 1, 1 };
            op_case t = make_case("Gemm", 13, &r, 0, 3, shapes, ndims, check);
            nerve_attr attrs[] = { one_int("transA", ta), one_int("transB", tb), one_float("alpha", 0.7f),
                                   one_float("beta", 1.3f) };
            t.attr = attrs;
            t.n_attr = 4;
            check_case(&t, NULL, &r);
            free_case(&t);
        }
    const int64_t shapes[][5] = { { 2, 3, 4 }, { 4, 5 } };
    int ndims[] = { 3, 2 }, check[] = { 1, 1 };
    op_case t = make_case("MatMul", 13, &r, 0, 2, shapes, ndims, check);
    check_case(&t, NULL, &r);
    free_case(&t);
}

Test(grad, conv_with_stride_pads_dilation_and_groups)
{
    nerve_rng r;
    nerve_rng_seed(&r, 4);
    int64_t cases[][7] = {   /* C, M, groups, kernel, stride, dilation, pad */
        { 3, 4, 1, 3, 1, 1, 1 }, { 4, 6, 2, 3, 2, 1, 0 }, { 2, 3, 1, 2, 1, 2, 1 }, { 16, 16, 1, 3, 1, 1, 1 },
    };
    for (int k = 0; k < 4; k++) {
        int64_t *p = cases[k];
        const int64_t shapes[][5] = { { 2, p[0], 9, 8 }, { p[1], p[0] / p[2], p[3], p[3] }, { p[1] } };
        int ndims[] = { 4, 4, 1 }, check[] = { 1, 1, 1 };
        op_case t = make_case("Conv", 13, &r, 0, 3, shapes, ndims, check);
        int64_t strides[] = { p[4], p[4] }, dil[] = { p[5], p[5] }, pads[] = { p[6], p[6], p[6], p[6] };
        nerve_attr attrs[] = { ints("strides", strides, 2), ints("dilations", dil, 2), ints("pads", pads, 4),
                               one_int("group", p[2]) };
        t.attr = attrs;
        t.n_attr = 4;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

Test(grad, pooling)
{
    nerve_rng r;
    nerve_rng_seed(&r, 5);
    const char *ops[] = { "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool" };
    for (int k = 0; k < 4; k++) {
        const int64_t shapes[][5] = { { 2, 3, 7, 6 } };
        int ndims[] = { 4 }, check[] = { 1 };
        op_case t = make_case(ops[k], 13, &r, 0, 1, shapes, ndims, check);
        int64_t kernel[] = { 3, 2 }, strides[] = { 2, 2 }, pads[] = { 1, 0, 1, 1 };
        nerve_attr attrs[] = { ints("kernel_shape", kernel, 2), ints("strides", strides, 2), ints("pads", pads, 4),
                               one_int("count_include_pad", 1) };
        t.attr = attrs;
        t.n_attr = k < 2 ? 4 : 0;
        t.step = 1e-3f;   /* small enough that no maximum changes place */
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

Test(grad, max_pool_two_by_two)
{
    nerve_rng r;
    nerve_rng_seed(&r, 9);
    const int64_t shapes[][5] = { { 2, 3, 8, 9 } };
    int ndims[] = { 4 }, check[] = { 1 };
    op_case t = make_case("MaxPool", 13, &r, 0, 1, shapes, ndims, check);
    int64_t kernel[] = { 2, 2 };
    nerve_attr attrs[] = { ints("kernel_shape", kernel, 2), ints("strides", kernel, 2) };
    t.attr = attrs;
    t.n_attr = 2;
    t.step = 1e-3f;
    check_case(&t, NULL, &r);
    free_case(&t);
}

Test(grad, batch_norm_training_and_inference)
{
    nerve_rng r;
    nerve_rng_seed(&r, 6);
    for (int training = 0; training < 2; training++) {
        const int64_t shapes[][5] = { { 4, 3, 2, 2 }, { 3 }, { 3 }, { 3 }, { 3 } };
        int ndims[] = { 4, 1, 1, 1, 1 }, check[] = { 1, 1, 1, 0, 0 };
        op_case t = make_case("BatchNormalization", 14, &r, 0, 5, shapes, ndims, check);
        float *var = t.in[4].data;
        for (int c = 0; c < 3; c++)
            var[c] = fabsf(var[c]) + 0.5f;
        nerve_attr attrs[] = { one_int("training_mode", training) };
        t.attr = attrs;
        t.n_attr = 1;
        /* Training: the statistics the forward pass normalised with. */
        nerve_array saved = { 0 };
        if (training) {
            int64_t two_c = 6;
            cr_assert_eq(nerve_array_alloc(&saved, NERVE_F32, 1, &two_c), 0);
            const float *x = t.in[0].data;
            for (int c = 0; c < 3; c++) {
                double s = 0, q = 0;
                for (int n = 0; n < 4; n++)
                    for (int i = 0; i < 4; i++)
                        s += x[(n * 3 + c) * 4 + i];
                double mean = s / 16;
                for (int n = 0; n < 4; n++)
                    for (int i = 0; i < 4; i++)
                        q += (x[(n * 3 + c) * 4 + i] - mean) * (x[(n * 3 + c) * 4 + i] - mean);
                ((float *)saved.data)[c] = (float)mean;
                ((float *)saved.data)[3 + c] = (float)(1 / sqrt(q / 16 + 1e-5));
            }
        }
        check_case(&t, training ? &saved : NULL, &r);
        nerve_array_free(&saved);
        free_case(&t);
    }
}

Test(grad, lrn_softmax_concat_reshape)
{
    nerve_rng r;
    nerve_rng_seed(&r, 7);
    {
        const int64_t shapes[][5] = { { 2, 5, 3, 2 } };
        int ndims[] = { 4 }, check[] = { 1 };
        op_case t = make_case("LRN", 13, &r, 0, 1, shapes, ndims, check);
        nerve_attr attrs[] = { one_int("size", 3), one_float("alpha", 0.5f), one_float("beta", 0.75f),
                               one_float("bias", 1.0f) };
        t.attr = attrs;
        t.n_attr = 4;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    const char *soft[] = { "Softmax", "LogSoftmax" };
    for (int k = 0; k < 2; k++) {
        const int64_t shapes[][5] = { { 3, 4, 5 } };
        int ndims[] = { 3 }, check[] = { 1 };
        op_case t = make_case(soft[k], 13, &r, 0, 1, shapes, ndims, check);
        nerve_attr attrs[] = { one_int("axis", 1) };
        t.attr = attrs;
        t.n_attr = 1;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {
        const int64_t shapes[][5] = { { 2, 3, 4 }, { 2, 2, 4 } };
        int ndims[] = { 3, 3 }, check[] = { 1, 1 };
        op_case t = make_case("Concat", 13, &r, 0, 2, shapes, ndims, check);
        nerve_attr attrs[] = { one_int("axis", 1) };
        t.attr = attrs;
        t.n_attr = 1;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {
        const int64_t shapes[][5] = { { 2, 3, 4 } };
        int ndims[] = { 3 }, check[] = { 1 };
        op_case t = make_case("Flatten", 13, &r, 0, 1, shapes, ndims, check);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

Test(grad, softmax_cross_entropy)
{
    nerve_rng r;
    nerve_rng_seed(&r, 8);
    int64_t shape[2] = { 5, 4 }, labels[5] = { 0, 3, 1, 1, 2 };
    nerve_array z, dz;
    random_tensor(&z, 2, shape, &r, 0);
    double loss;
    cr_assert_eq(nerve_nn_cross_entropy(&loss, &dz, NULL, &z, labels), 0);
    float *zd = z.data;
    for (int at = 0; at < 20; at += 3) {
        float keep = zd[at];
        double lp, lm;
        zd[at] = keep + 1e-2f;
        nerve_nn_cross_entropy(&lp, NULL, NULL, &z, labels);
        zd[at] = keep - 1e-2f;
        nerve_nn_cross_entropy(&lm, NULL, NULL, &z, labels);
        zd[at] = keep;
        double num = (lp - lm) / 2e-2;
        cr_assert(fabs(num - ((float *)dz.data)[at]) < 1e-3, "[%d]: numeric %g, analytic %g", at, num,
                  ((float *)dz.data)[at]);
    }
    nerve_array_free(&z);
    nerve_array_free(&dz);
}

Test(grad, reshape_with_a_shape_input)
{
    nerve_rng r;
    nerve_rng_seed(&r, 10);
    op_case t = { .op = "Reshape", .opset = 13, .n_in = 2, .step = 1e-2f, .check = { 1, 0 } };
    int64_t xs[3] = { 2, 3, 4 }, two = 2;
    random_tensor(&t.in[0], 3, xs, &r, 0);
    cr_assert_eq(nerve_array_alloc(&t.in[1], NERVE_I64, 1, &two), 0);
    ((int64_t *)t.in[1].data)[0] = 4;
    ((int64_t *)t.in[1].data)[1] = -1;
    check_case(&t, NULL, &r);
    free_case(&t);
}

Test(grad, dropout_in_training_passes_the_mask)
{
    nerve_rng r;
    nerve_rng_seed(&r, 11);
    int64_t shape[2] = { 4, 6 };
    nerve_array x, y, dy, mask;
    random_tensor(&x, 2, shape, &r, 0);
    random_tensor(&dy, 2, shape, &r, 0);
    cr_assert_eq(nerve_array_alloc(&mask, NERVE_F32, 2, shape), 0);
    for (int i = 0; i < 24; i++)
        ((float *)mask.data)[i] = nerve_rng_uniform(&r) < 0.5 ? 0 : 2;   /* ratio 0.5: kept ones scaled by 2 */
    cr_assert_eq(nerve_array_alloc(&y, NERVE_F32, 2, shape), 0);
    for (int i = 0; i < 24; i++)
        ((float *)y.data)[i] = ((float *)x.data)[i] * ((float *)mask.data)[i];
    nerve_node node = { .name = (char *)"d", .op = (char *)"Dropout" };
    nerve_model m = { .path = "(test)", .opset = 13 };
    op_context c = { &m, &node, 13, NULL };
    const nerve_array *in[1] = { &x };
    nerve_array din[1] = { { 0 } };
    int need[1] = { 1 };
    const nerve_array *douts[1] = { &dy };
    grad_args a = { &c, in, 1, &y, &dy, need, din, &mask, 1, douts };
    cr_assert_eq(nn_grad_find("Dropout")(&a), 0);
    /* y = x * mask is linear in x: its exact derivative is dy * mask. */
    for (int i = 0; i < 24; i++)
        cr_assert_eq(((float *)din[0].data)[i], ((float *)dy.data)[i] * ((float *)mask.data)[i]);
    nerve_array_free(&din[0]);
    nerve_array_free(&x);
    nerve_array_free(&y);
    nerve_array_free(&dy);
    nerve_array_free(&mask);
}

/* The whole chain: the gradient of one logit of a built-in network with
 * respect to input pixels (what feature visualisation follows), against
 * finite differences of the network's forward pass. */
Test(grad, tape_input_gradient_through_a_whole_network)
{
    nerve_model m;
    int *params, n_params;
    cr_assert_eq(nerve_arch_build(&m, NERVE_ARCH_RESNET_MINI, 3, &params, &n_params), 0, "%s", nerve_error());
    free(params);
    nerve_rng r;
    nerve_rng_seed(&r, 12);
    int64_t xs[4] = { 2, 1, 28, 28 }, ys[2] = { 2, 10 };
    nerve_array x, dy;
    random_tensor(&x, 4, xs, &r, 0);
    cr_assert_eq(nerve_array_alloc(&dy, NERVE_F32, 2, ys), 0);
    ((float *)dy.data)[3] = 1;   /* d logit 3 of image 0 */
    nerve_tape t;
    cr_assert_eq(nerve_tape_init(&t, &m, 0, 0), 0);
    t.input_grads = 1;
    cr_assert_eq(nerve_tape_forward(&t, &x, 1), 0, "%s", nerve_error());
    int out = m.outputs[0], in = m.inputs[0];
    cr_assert_eq(nerve_tape_backward(&t, out, &dy), 0, "%s", nerve_error());
    cr_assert(t.grad[in].data, "no input gradient");
    float *px = x.data;
    for (int trial = 0; trial < 8; trial++) {
        int64_t at = (int64_t)nerve_rng_below(&r, 784);
        float keep = px[at];
        nerve_array yp, ym;
        px[at] = keep + 2e-3f;
        cr_assert_eq(nerve_nn_run(&m, &x, 1, &yp, 1, NULL), 0);
        px[at] = keep - 2e-3f;
        cr_assert_eq(nerve_nn_run(&m, &x, 1, &ym, 1, NULL), 0);
        px[at] = keep;
        double num = (((float *)yp.data)[3] - ((float *)ym.data)[3]) / 4e-3;
        double ana = ((float *)t.grad[in].data)[at];
        /* A small step keeps ReLU kinks out of most differences; float32
         * logits leave ~1e-4 of noise in the quotient. */
        cr_assert(fabs(num - ana) <= 0.05 * fabs(num) + 2.5e-4, "pixel %lld: numeric %g, analytic %g",
                  (long long)at, num, ana);
        nerve_array_free(&yp);
        nerve_array_free(&ym);
    }
    nerve_tape_free(&t);
    nerve_array_free(&x);
    nerve_array_free(&dy);
    nerve_model_free(&m);
}

/* ---- the operators of transformers (issue 19) ----------------------------- */

/* Input i of a case becomes the int64 values v of the given shape (indices,
 * axes, pads, conditions), not checked. */
static void int_input(op_case *t, int i, int ndim, const int64_t *shape, const int64_t *v)
{
    nerve_array_free(&t->in[i]);
    cr_assert_eq(nerve_array_alloc(&t->in[i], NERVE_I64, ndim, shape), 0);
    memcpy(t->in[i].data, v, (size_t)nerve_array_count(&t->in[i]) * sizeof *v);
    t->check[i] = 0;
}

static nerve_attr one_string(const char *name, const char *v)
{
    return (nerve_attr){ .name = (char *)name, .type = NERVE_ATTR_STRING, .s = (char *)v };
}

/* One float input of the given shape, checked, and n_int int64 inputs. */
static op_case mover_case(const char *op, nerve_rng *r, int ndim, const int64_t *shape, int n_int)
{
    op_case t = { .op = op, .opset = 13, .n_in = 1 + n_int, .step = 1e-2f };
    random_tensor(&t.in[0], ndim, shape, r, 0);
    t.check[0] = 1;
    return t;
}

Test(grad, element_movers_by_their_index_maps)
{
    nerve_rng r;
    nerve_rng_seed(&r, 21);
    {
        int64_t shape[] = { 2, 3, 4 }, perm[] = { 2, 0, 1 };
        op_case t = mover_case("Transpose", &r, 3, shape, 0);
        nerve_attr attrs[] = { ints("perm", perm, 3) };
        t.attr = attrs;
        t.n_attr = 1;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    for (int axis = 0; axis < 2; axis++) {   /* a repeated and a negative index */
        int64_t shape[] = { 4, 3 }, n = 3, idx[] = { 1, -1, 1 };
        op_case t = mover_case("Gather", &r, 2, shape, 1);
        int_input(&t, 1, 1, &n, idx);
        nerve_attr attrs[] = { one_int("axis", axis) };
        t.attr = attrs;
        t.n_attr = 1;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {   /* backwards with a step on one axis, every other on the next */
        int64_t shape[] = { 5, 6 }, two = 2, starts[] = { 4, 0 }, ends[] = { 0, 6 }, axes[] = { 0, 1 },
                steps[] = { -2, 2 };
        op_case t = mover_case("Slice", &r, 2, shape, 4);
        int_input(&t, 1, 1, &two, starts);
        int_input(&t, 2, 1, &two, ends);
        int_input(&t, 3, 1, &two, axes);
        int_input(&t, 4, 1, &two, steps);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {   /* both outputs carry gradients */
        int64_t shape[] = { 2, 6 }, two = 2, split[] = { 2, 4 };
        op_case t = mover_case("Split", &r, 2, shape, 1);
        int_input(&t, 1, 1, &two, split);
        t.n_out = 2;
        nerve_attr attrs[] = { one_int("axis", 1) };
        t.attr = attrs;
        t.n_attr = 1;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {
        int64_t shape[] = { 3, 1 }, three = 3, to[] = { 2, 3, 4 };
        op_case t = mover_case("Expand", &r, 2, shape, 1);
        int_input(&t, 1, 1, &three, to);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {
        int64_t shape[] = { 2, 3 }, two = 2, reps[] = { 2, 2 };
        op_case t = mover_case("Tile", &r, 2, shape, 1);
        int_input(&t, 1, 1, &two, reps);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    const char *modes[] = { "constant", "reflect", "edge" };
    for (int k = 0; k < 3; k++) {
        int64_t shape[] = { 3, 4 }, four = 4, pads[] = { 1, 2, 1, 0 };
        op_case t = mover_case("Pad", &r, 2, shape, 1);
        int_input(&t, 1, 1, &four, pads);
        if (k == 0) {   /* a constant of its own */
            cr_assert_eq(nerve_array_alloc(&t.in[2], NERVE_F32, 0, NULL), 0);
            *(float *)t.in[2].data = 0.5f;
            t.n_in = 3;
        }
        nerve_attr attrs[] = { one_string("mode", modes[k]) };
        t.attr = attrs;
        t.n_attr = 1;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

Test(grad, div_pow_where_cast_clip)
{
    nerve_rng r;
    nerve_rng_seed(&r, 22);
    {
        const int64_t shapes[][5] = { { 2, 3 }, { 3 } };
        int ndims[] = { 2, 1 }, check[] = { 1, 1 };
        op_case t = make_case("Div", 13, &r, 0.5f, 2, shapes, ndims, check);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {   /* a positive base and exponents of their own, and a constant 3 */
        const int64_t shapes[][5] = { { 2, 3 }, { 2, 3 } };
        int ndims[] = { 2, 2 }, check[] = { 1, 1 };
        op_case t = make_case("Pow", 13, &r, 0.5f, 2, shapes, ndims, check);
        float *x = t.in[0].data;
        for (int i = 0; i < 6; i++)
            x[i] = fabsf(x[i]);
        check_case(&t, NULL, &r);
        nerve_array_free(&t.in[1]);
        cr_assert_eq(nerve_array_alloc(&t.in[1], NERVE_F32, 0, NULL), 0);
        *(float *)t.in[1].data = 3;
        t.check[1] = 0;
        for (int i = 0; i < 6; i++)
            x[i] = i % 2 ? -x[i] : x[i];
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {
        const int64_t shapes[][5] = { { 2, 3 }, { 2, 3 }, { 3 } };
        int ndims[] = { 2, 2, 1 }, check[] = { 0, 1, 1 };
        op_case t = make_case("Where", 13, &r, 0, 3, shapes, ndims, check);
        int64_t shape[] = { 2, 3 }, cond[] = { 1, 0, 1, 0, 0, 1 };
        int_input(&t, 0, 2, shape, cond);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {
        const int64_t shapes[][5] = { { 2, 3 } };
        int ndims[] = { 2 }, check[] = { 1 };
        op_case t = make_case("Cast", 13, &r, 0, 1, shapes, ndims, check);
        nerve_attr attrs[] = { one_int("to", 1) };
        t.attr = attrs;
        t.n_attr = 1;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    {   /* bounds as inputs (opset 11 on); inputs kept off them */
        const int64_t shapes[][5] = { { 4, 5 }, { 1 }, { 1 } };
        int ndims[] = { 2, 0, 0 }, check[] = { 1, 0, 0 };
        op_case t = make_case("Clip", 13, &r, 0, 3, shapes, ndims, check);
        *(float *)t.in[1].data = -0.55f;
        *(float *)t.in[2].data = 0.45f;
        float *x = t.in[0].data;
        for (int i = 0; i < 20; i++)
            if (fabsf(x[i] + 0.55f) < 0.05f || fabsf(x[i] - 0.45f) < 0.05f)
                x[i] += 0.2f;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

Test(grad, reductions_and_layer_norm)
{
    nerve_rng r;
    nerve_rng_seed(&r, 23);
    const char *ops[] = { "ReduceMean", "ReduceL2" };
    for (int k = 0; k < 2; k++)
        for (int keep = 0; keep < 2; keep++) {
            const int64_t shapes[][5] = { { 2, 3, 4 } };
            int ndims[] = { 3 }, check[] = { 1 };
            op_case t = make_case(ops[k], 13, &r, 0, 1, shapes, ndims, check);
            int64_t axes[] = { 1, -1 };
            nerve_attr attrs[] = { ints("axes", axes, 2), one_int("keepdims", keep) };
            t.attr = attrs;
            t.n_attr = 2;
            check_case(&t, NULL, &r);
            free_case(&t);
        }
    {   /* opset 13: the axes as an input */
        int64_t shape[] = { 2, 3, 4 }, one = 1, axes[] = { -1 };
        op_case t = mover_case("ReduceSum", &r, 3, shape, 1);
        int_input(&t, 1, 1, &one, axes);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    for (int axis = -1; axis >= -2; axis--) {
        const int64_t shapes[][5] = { { 2, 3, 4 }, { 3, 4 }, { 3, 4 } };
        int ndims[] = { 3, 2, 2 }, check[] = { 1, 1, 1 };
        int64_t inner = axis == -1 ? 4 : 12;
        op_case t = make_case("LayerNormalization", 17, &r, 0, 3, shapes, ndims, check);
        for (int i = 1; i < 3; i++) {   /* Scale and B hold the normalised axes' elements */
            t.in[i].ndim = 1;
            t.in[i].shape[0] = inner;
        }
        nerve_attr attrs[] = { one_int("axis", axis), one_float("epsilon", 1e-5f) };
        t.attr = attrs;
        t.n_attr = 2;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

Test(grad, matmul_of_two_computed_batches)
{
    nerve_rng r;
    nerve_rng_seed(&r, 24);
    /* attention's (heads, T, d) x (heads, d, T); batch axes broadcast both
     * ways; a 1-D operand */
    const int64_t cases[][2][5] = { { { 2, 3, 4, 5 }, { 3, 5, 2 } }, { { 4, 5 }, { 2, 5, 3 } },
                                    { { 5 }, { 2, 5, 3 } }, { { 2, 3, 4 }, { 4 } } };
    const int ndims[][2] = { { 4, 3 }, { 2, 3 }, { 1, 3 }, { 3, 1 } };
    for (int k = 0; k < 4; k++) {
        int check[] = { 1, 1 };
        op_case t = make_case("MatMul", 13, &r, 0, 2, cases[k], ndims[k], check);
        check_case(&t, NULL, &r);
        free_case(&t);
    }
}

/* The input gradient of output element 0 of a fixture model, against
 * finite differences at the pixels of largest gradient and at random ones. */
static void check_model_input_gradient(const char *model, const char *input)
{
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture(model)), 0, "%s", nerve_error());
    nerve_array file, x, dy;   /* x: a copy to nudge (a read may map the file read-only) */
    cr_assert_eq(nerve_npy_read(&file, NULL, input, NERVE_F32), 0, "%s", nerve_error());
    cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, file.ndim, file.shape), 0);
    memcpy(x.data, file.data, (size_t)nerve_array_count(&x) * sizeof(float));
    nerve_array_free(&file);
    nerve_tape t;
    cr_assert_eq(nerve_tape_init(&t, &m, 0, 0), 0);
    t.input_grads = 1;
    t.frozen = 1;
    cr_assert_eq(nerve_tape_forward(&t, &x, 1), 0, "%s: %s", model, nerve_error());
    int out = m.outputs[0], in = m.inputs[0];
    cr_assert_eq(nerve_array_alloc(&dy, NERVE_F32, t.val[out]->ndim, t.val[out]->shape), 0);
    ((float *)dy.data)[0] = 1;
    cr_assert_eq(nerve_tape_backward(&t, out, &dy), 0, "%s: %s", model, nerve_error());
    const float *g = t.grad[in].data;
    cr_assert(g, "%s: no input gradient", model);
    int64_t n = nerve_array_count(&x), top = 0;
    for (int64_t i = 1; i < n; i++)
        top = fabsf(g[i]) > fabsf(g[top]) ? i : top;
    cr_assert(fabsf(g[top]) > 1e-3f, "%s: the largest input gradient is %g", model, g[top]);
    nerve_rng r;
    nerve_rng_seed(&r, 25);
    float *px = x.data;
    for (int trial = 0; trial < 8; trial++) {
        int64_t at = trial == 0 ? top : (int64_t)nerve_rng_below(&r, (uint64_t)n);
        float keep = px[at];
        nerve_array yp, ym;
        px[at] = keep + 2e-3f;
        cr_assert_eq(nerve_nn_run(&m, &x, 1, &yp, 1, NULL), 0);
        px[at] = keep - 2e-3f;
        cr_assert_eq(nerve_nn_run(&m, &x, 1, &ym, 1, NULL), 0);
        px[at] = keep;
        double num = (((float *)yp.data)[0] - ((float *)ym.data)[0]) / 4e-3;
        cr_assert(fabs(num - g[at]) <= 0.05 * fabs(num) + 2.5e-4, "%s: input [%lld]: numeric %g, analytic %g",
                  model, (long long)at, num, g[at]);
        nerve_array_free(&yp);
        nerve_array_free(&ym);
    }
    nerve_tape_free(&t);
    nerve_array_free(&x);
    nerve_array_free(&dy);
    nerve_model_free(&m);
}

Test(grad, input_gradients_through_a_vit_a_convnext_and_a_swin)
{
    const char *models[] = { "zoo/vit_two_layers.13", "zoo/vit_two_layers.17", "zoo/convnext_block.13",
                             "zoo/convnext_block.17", "zoo/swin_tiny.17" };
    for (int i = 0; i < 5; i++) {
        char onnx[256], input[512];
        snprintf(onnx, sizeof onnx, "%s.onnx", models[i]);
        char rel[256];
        snprintf(rel, sizeof rel, "%s.input.npy", models[i]);
        snprintf(input, sizeof input, "%s", fixture(rel));
        check_model_input_gradient(onnx, input);
    }
}

Test(grad, einsum_of_attention_and_three_operands)
{
    nerve_rng r;
    nerve_rng_seed(&r, 26);
    const char *equations[] = { "bhid,bhjd->bhij", "b h i j, b h j d -> b h i d", "ij,jk,kl->il" };
    const int64_t shapes[][3][5] = { { { 2, 3, 4, 5 }, { 2, 3, 6, 5 } }, { { 2, 3, 4, 6 }, { 2, 3, 6, 5 } },
                                     { { 2, 3 }, { 3, 4 }, { 4, 2 } } };
    const int ndims[][3] = { { 4, 4 }, { 4, 4 }, { 2, 2, 2 } }, n_in[] = { 2, 2, 3 };
    for (int k = 0; k < 3; k++) {
        int check[] = { 1, 1, 1 };
        op_case t = make_case("Einsum", 13, &r, 0, n_in[k], shapes[k], ndims[k], check);
        nerve_attr attrs[] = { one_string("equation", equations[k]) };
        t.attr = attrs;
        t.n_attr = 1;
        check_case(&t, NULL, &r);
        free_case(&t);
    }
    /* a letter summed in one operand alone has no Einsum for its gradient */
    nerve_attr sum = one_string("equation", "ij->i");
    nerve_node node = { .name = (char *)"n", .op = (char *)"Einsum", .n_attr = 1, .attr = &sum };
    nerve_model m = { .path = "(test)", .opset = 13 };
    op_context c = { &m, &node, 13, NULL };
    int64_t shape[] = { 2, 3 }, two = 2;
    nerve_array x, y, dy, din[1] = { { 0 } };
    cr_assert_eq(nerve_array_alloc(&x, NERVE_F32, 2, shape), 0);
    cr_assert_eq(nerve_array_alloc(&y, NERVE_F32, 1, &two), 0);
    cr_assert_eq(nerve_array_alloc(&dy, NERVE_F32, 1, &two), 0);
    const nerve_array *in[1] = { &x }, *douts[1] = { &dy };
    int need[1] = { 1 };
    grad_args a = { &c, in, 1, &y, &dy, need, din, NULL, 1, douts };
    cr_assert_eq(nn_grad_find("Einsum")(&a), NERVE_EUNSUPPORTED);
    cr_assert(strstr(nerve_error(), "summed in that operand alone"), "%s", nerve_error());
    nerve_array_free(&x);
    nerve_array_free(&y);
    nerve_array_free(&dy);
}
