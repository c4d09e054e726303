/*
 * test_text.c — the small text encoder of tests/fixtures/text (token
 * embedding, torch.nn.TransformerEncoder with a padding mask, a head on the
 * first token), run by nerve on token ids and their attention mask: every
 * module's output that PyTorch's forward hooks recorded must match within
 * 1e-4 of the tensor's largest magnitude.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
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
        return 0;
    nerve_array want;
    cr_assert_eq(nerve_npz_read(&e->npz, member, NERVE_F32, &want, NULL), 0, "%s", nerve_error());
    cr_assert_eq(t->ndim, want.ndim, "%s: rank %d, PyTorch %d", name, t->ndim, want.ndim);
    for (int d = 0; d < t->ndim; d++)
        cr_assert_eq(t->shape[d], want.shape[d], "%s: dimension %d", name, d);
    double top = 0, worst = 0;
    int64_t n = nerve_array_count(&want);
    for (int64_t i = 0; i < n; i++) {
        double g = ((float *)t->data)[i], w = ((float *)want.data)[i];
        top = fmax(top, fabs(w));
        worst = isnan(g) ? INFINITY : fmax(worst, fabs(g - w));
    }
    cr_assert(top > 0, "%s: PyTorch's tensor is all zeros, which tests nothing", name);
    cr_assert(worst <= 1e-4 * top, "%s: largest difference %g of the largest magnitude %g", name, worst, top);
    nerve_array_free(&want);
    e->checked++;
    return 0;
}

/* The first n rows of an (N, T) int64 array. */
static nerve_array first_rows(const char *rel, int64_t n)
{
    nerve_array a;
    cr_assert_eq(nerve_npy_read(&a, NULL, fixture(rel), NERVE_I64), 0, "%s", nerve_error());
    cr_assert(a.ndim == 2 && a.shape[0] >= n);
    a.shape[0] = n;
    return a;
}

Test(text_parity, encoder_with_padding_mask_matches_pytorch_at_every_module)
{
    nerve_model m;
    cr_assert_eq(nerve_onnx_load(&m, fixture("text/encoder.onnx")), 0, "%s", nerve_error());
    cr_assert_eq(m.n_inputs, 2);
    nerve_array in[2] = { first_rows("text/ids.npy", 4), first_rows("text/mask.npy", 4) }, y;
    /* padding in the first four sequences, or the mask would test nothing */
    int64_t padded = 0;
    for (int64_t i = 0; i < nerve_array_count(&in[1]); i++)
        padded += ((int64_t *)in[1].data)[i] == 0;
    cr_assert_gt(padded, 0);
    expected e = { .checked = 0 };
    cr_assert_eq(nerve_npz_open(&e.npz, fixture("text/encoder.taps.npz")), 0, "%s", nerve_error());
    int *taps = malloc(sizeof *taps * (size_t)m.n_values);
    for (int v = 0; v < m.n_values; v++)
        taps[v] = v;
    nerve_run_options opts = { taps, m.n_values, compare_tap, &e };
    cr_assert_eq(nerve_nn_run(&m, in, 2, &y, 1, &opts), 0, "%s", nerve_error());
    cr_assert_eq(e.checked, e.npz.count, "%d of %lld taps compared", e.checked, (long long)e.npz.count);
    cr_assert_geq(e.checked, 10);
    nerve_array_free(&y);
    free(taps);
    nerve_npz_close(&e.npz);
    nerve_array_free(&in[0]);
    nerve_array_free(&in[1]);
    nerve_model_free(&m);
}
