/*
 * fuzz_onnx.c — an ONNX model: loaded, then run on one input of each
 * graph input's declared shape, so that the operators meet whatever
 * attributes and initializers the mutation made (the seeds hold a model per
 * operator, onnx.dict the op and attribute names).
 */
#include <stdlib.h>
#include <string.h>

#include "nerve/nn.h"
#include "support.h"

/* An input larger than this is not run: the load was exercised, and a
 * fuzzer's time is better spent on many small runs than one large one. */
enum { RUN_MAX_ELEMENTS = 1 << 16, RUN_MAX_OUTPUTS = 8 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

/* A graph input of value v's declared shape (symbolic dims as 1) filled
 * with small varied values; -1 if its shape or type cannot be run. */
static int make_input(nerve_array *a, const nerve_value *v)
{
    if (v->ndim < 0 || v->ndim > NERVE_MAX_DIMS)
        return -1;
    int64_t shape[NERVE_MAX_DIMS], count = 1;
    for (int d = 0; d < v->ndim; d++) {
        shape[d] = v->shape[d] < 0 ? 1 : v->shape[d];
        if (shape[d] > RUN_MAX_ELEMENTS || (count *= shape[d]) > RUN_MAX_ELEMENTS)
            return -1;
    }
    int int64 = v->elem_type == 7;   /* TensorProto.INT64; anything else is fed float */
    if (nerve_array_alloc(a, int64 ? NERVE_I64 : NERVE_F32, v->ndim, shape) < 0)
        return -1;
    for (int64_t i = 0; i < count; i++) {
        if (int64)
            ((int64_t *)a->storage.base)[i] = i % 3;
        else
            ((float *)a->storage.base)[i] = (float)(i % 7) * 0.25f - 0.5f;
    }
    return 0;
}

static void run(nerve_model *m)
{
    nerve_array *in = calloc((size_t)m->n_inputs + 1, sizeof *in);
    nerve_array out[RUN_MAX_OUTPUTS];
    int n_in = 0, n_out = m->n_outputs < RUN_MAX_OUTPUTS ? m->n_outputs : RUN_MAX_OUTPUTS;
    while (in && n_in < m->n_inputs && make_input(&in[n_in], &m->values[m->inputs[n_in]]) == 0)
        n_in++;
    if (in && n_in == m->n_inputs && nerve_nn_run(m, in, n_in, out, n_out, NULL) == 0)
        for (int i = 0; i < n_out; i++)
            nerve_array_free(&out[i]);
    for (int i = 0; i < n_in; i++)
        nerve_array_free(&in[i]);
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nerve_model m;
    if (nerve_onnx_load_memory(&m, data, size, "fuzz.onnx") < 0)
        return 0;
    run(&m);
    nerve_model_free(&m);
    return 0;
}
