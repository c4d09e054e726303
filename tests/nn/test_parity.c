/*
 * test_parity.c — nerve's activations against PyTorch's on models exported
 * with torch.onnx.export (tests/fixtures/nn/make_nn_fixtures.py): every
 * recorded tap within 1e-4 of the tensor's largest magnitude.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "nerve/nn.h"
#include "../support/support.h"

typedef struct expected {
    nerve_npz npz;
    int       checked;
} expected;

static int compare_tap(void *ctx, const nerve_model *m, int value, const nerve_array *t)
{
    expected *e = ctx;
    const char *name = m->values[value].name;
    char member[1024];
    snprintf(member, sizeof member, "%s.npy", name);
    int found = 0;
    for (int64_t i = 0; i < e->npz.count; i++)
        found |= strcmp(e->npz.names[i], member) == 0;
    if (!found)
        return 0;   /* a tap PyTorch's hooks did not see */
    nerve_array want;
    cr_assert_eq(nerve_npz_read(&e->npz, member, NERVE_F32, &want, NULL), 0, "%s", nerve_error());
    cr_assert_eq(t->ndim, want.ndim, "%s: rank %d, PyTorch %d", name, t->ndim, want.ndim);
    for (int d = 0; d < t->ndim; d++)
        cr_assert_eq(t->shape[d], want.shape[d], "%s: dimension %d", name, d);
    double top = 0, worst = 0;
    int64_t n = nerve_array_count(&want);
    for (int64_t i = 0; i < n; i++)
        top = fmax(top, fabs(((float *)want.data)[i]));
    for (int64_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(((float *)t->data)[i] - ((float *)want.data)[i]));
    cr_assert(worst <= 1e-4 * top, "%s: largest difference %g, %g of the largest magnitude %g", name,
              worst, worst / top, top);
    nerve_array_free(&want);
    e->checked++;
    return 0;
}

static void check_model(const char *name, int min_taps)
{
    char rel[256];
    snprintf(rel, sizeof rel, "nn/%s.onnx", name);
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture(rel)), 0, "%s", nerve_error());
    snprintf(rel, sizeof rel, "nn/%s.input.npy", name);
    nerve_array x;
    cr_assert_eq(nerve_npy_read(&x, NULL, fixture(rel), NERVE_F32), 0, "%s", nerve_error());
    expected e = { .checked = 0 };
    snprintf(rel, sizeof rel, "nn/%s.taps.npz", name);
    cr_assert_eq(nerve_npz_open(&e.npz, fixture(rel)), 0, "%s", nerve_error());

    int *taps = malloc(sizeof *taps * (size_t)m.n_values);
    for (int v = 0; v < m.n_values; v++)
        taps[v] = v;
    nerve_run_options opts = { taps, m.n_values, compare_tap, &e };
    nerve_array y;
    cr_assert_eq(nerve_nn_run(&m, &x, 1, &y, 1, &opts), 0, "%s", nerve_error());
    cr_assert_geq(e.checked, min_taps, "%s: only %d taps compared", name, e.checked);
    nerve_array_free(&y);
    free(taps);
    nerve_npz_close(&e.npz);
    nerve_array_free(&x);
    nerve_model_free(&m);
}

Test(pytorch_parity, small_cnn_with_batchnorm)
{
    check_model("small_cnn", 12);
}

Test(pytorch_parity, resnet_style_block)
{
    check_model("resnet_block", 13);
}

Test(pytorch_parity, inception_style_block_with_lrn)
{
    check_model("inception_block", 6);
}
