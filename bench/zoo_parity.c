/*
 * zoo_parity.c — one model of bench/zoo_parity.sh: runs MODEL.onnx on
 * INPUT.npy, compares every tap that TAPS.npz holds (PyTorch's forward-hook
 * outputs keyed by ONNX value name) and times the forward pass; given
 * GRAD.npy (PyTorch's gradient of element 0 of VALUE, default the output,
 * with respect to the input), also the tape's input gradient against it.
 *   build/bench/zoo_parity MODEL.onnx INPUT.npy TAPS.npz [RUNS [GRAD.npy [VALUE]]]
 * Prints "taps <compared> <shape mismatches> worst <relative error> <worst tap> seconds <best run>"
 * and then " grad <relative error>" or " grad-error <message>" on one line of
 * stdout (ZOO_VERBOSE=1: each tap's error on stderr), or "error <message>"
 * and exits 1 (2 for usage).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"

typedef struct compare {
    nerve_npz npz;
    int       compared, mismatched;
    double    worst;
    char      worst_name[256];
} compare;

static int has_member(const nerve_npz *z, const char *member)
{
    for (int64_t i = 0; i < z->count; i++)
        if (strcmp(z->names[i], member) == 0)
            return 1;
    return 0;
}

/* Largest difference over the largest magnitude of PyTorch's tensor. */
static double relative_error(const nerve_array *got, const nerve_array *want)
{
    double top = 0, worst = 0;
    int64_t n = nerve_array_count(want);
    for (int64_t i = 0; i < n; i++) {
        double w = ((const float *)want->data)[i], g = ((const float *)got->data)[i];
        top = fmax(top, fabs(w));
        worst = isnan(g) != isnan(w) ? INFINITY : fmax(worst, fabs(g - w));
    }
    return top > 0 ? worst / top : worst;
}

static int compare_tap(void *ctx, const nerve_model *m, int value, const nerve_array *t)
{
    compare *c = ctx;
    char member[1024];
    snprintf(member, sizeof member, "%s.npy", m->values[value].name);
    if (!has_member(&c->npz, member))
        return 0;
    nerve_array want, got = { 0 };
    if (nerve_npz_read(&c->npz, member, NERVE_F32, &want, NULL) < 0)
        return -1;
    int same = t->ndim == want.ndim;
    for (int d = 0; same && d < t->ndim; d++)
        same = t->shape[d] == want.shape[d];
    if (!same) {
        c->mismatched++;
    } else {
        int rc = 0;
        const nerve_array *g = t;
        if (t->dtype != NERVE_F32) {   /* an integer tap (argmax, a mask) compared as float */
            rc = nerve_array_alloc(&got, NERVE_F32, t->ndim, t->shape);
            for (int64_t i = 0; rc == 0 && i < nerve_array_count(t); i++)
                ((float *)got.data)[i] = (float)((const int64_t *)t->data)[i];
            g = &got;
        }
        double e = rc == 0 ? relative_error(g, &want) : INFINITY;
        c->compared++;
        if (getenv("ZOO_VERBOSE"))
            fprintf(stderr, "%-80s %.3g\n", m->values[value].name, e);
        if (!(e <= c->worst)) {
            c->worst = e;
            snprintf(c->worst_name, sizeof c->worst_name, "%s", m->values[value].name);
        }
        nerve_array_free(&got);
    }
    nerve_array_free(&want);
    return 0;
}

static int value_named(const nerve_model *m, const char *name)
{
    for (int v = 0; v < m->n_values; v++)
        if (strcmp(m->values[v].name, name) == 0)
            return v;
    return -1;
}

/* The tape's gradient of element 0 of value `of` ("output": the first
 * output) with respect to the input, against PyTorch's: printed as
 * " grad E" or " grad-error MESSAGE". */
static void compare_gradient(nerve_model *m, const nerve_array *x, const char *path, const char *of)
{
    nerve_array want, dy = { 0 };
    nerve_tape t;
    int rc = nerve_npy_read(&want, NULL, path, NERVE_F32);
    if (rc == 0 && (rc = nerve_tape_init(&t, m, 0, 0)) == 0) {
        t.input_grads = 1;
        t.frozen = 1;
        int out = strcmp(of, "output") == 0 ? m->outputs[0] : value_named(m, of);
        if (out < 0)
            rc = nerve_error_set(NERVE_EINPUT, "no value named %s", of);
        else if ((rc = nerve_tape_forward(&t, x, 1)) == 0 &&
            (rc = nerve_array_alloc(&dy, NERVE_F32, t.val[out]->ndim, t.val[out]->shape)) == 0) {
            ((float *)dy.data)[0] = 1;
            rc = nerve_tape_backward(&t, out, &dy);
        }
        const nerve_array *got = &t.grad[m->inputs[0]];
        if (rc == 0 && (!got->data || nerve_array_count(got) != nerve_array_count(&want)))
            rc = nerve_error_set(NERVE_EINTERNAL, "no input gradient of the input's size");
        if (rc == 0)
            printf(" grad %.3g", relative_error(got, &want));
        nerve_tape_free(&t);
        nerve_array_free(&want);
    }
    if (rc < 0) {
        printf(" grad-error ");
        for (const char *p = nerve_error(); *p; p++)   /* one word for the table's parser */
            putchar(*p == ' ' ? '_' : *p);
    }
    nerve_array_free(&dy);
}

static int fail(void)
{
    printf("error %s\n", nerve_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: zoo_parity MODEL.onnx INPUT.npy TAPS.npz [RUNS [GRAD.npy [VALUE]]]\n");
        return 2;
    }
    int runs = argc > 4 ? atoi(argv[4]) : 3;
    nerve_threads_init(0);
    nerve_model m;
    nerve_array x, y;
    compare c = { .worst = 0, .worst_name = "-" };
    if (nerve_onnx_load(&m, argv[1]) < 0 || nerve_npy_read(&x, NULL, argv[2], NERVE_F32) < 0 ||
        nerve_npz_open(&c.npz, argv[3]) < 0)
        return fail();
    int *taps = malloc(sizeof *taps * (size_t)m.n_values);
    if (!taps)
        return 1;
    for (int v = 0; v < m.n_values; v++)
        taps[v] = v;
    nerve_run_options opts = { taps, m.n_values, compare_tap, &c };
    if (nerve_nn_run(&m, &x, 1, &y, 1, &opts) < 0)
        return fail();
    nerve_array_free(&y);
    double best = INFINITY;
    for (int k = 0; k < runs; k++) {
        double t0 = nerve_now();
        if (nerve_nn_run(&m, &x, 1, &y, 1, NULL) < 0)
            return fail();
        best = fmin(best, nerve_now() - t0);
        nerve_array_free(&y);
    }
    printf("taps %d %d worst %.3g %s seconds %.4f", c.compared, c.mismatched, c.worst, c.worst_name, best);
    if (argc > 5)
        compare_gradient(&m, &x, argv[5], argc > 6 ? argv[6] : "output");
    printf("\n");
    free(taps);
    nerve_npz_close(&c.npz);
    nerve_array_free(&x);
    nerve_model_free(&m);
    return 0;
}
