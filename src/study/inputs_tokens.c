/*
 * inputs_tokens.c — text inputs: an .npy of integer token ids (N, T), fed
 * to a model as int64, with an optional attention mask (N, T) of 0 and 1
 * (BERT's: 1 a token, 0 padding) for the model's second input. They have
 * no pixels: no sprite, no blank input, no feature visualisation.
 */
#include <stdlib.h>
#include <string.h>

#include "nerve/study.h"
#include "study_internal.h"

int inputs_tokens_sniff(const char *path)
{
    nerve_npy_header h;
    if (nerve_npy_read_header(&h, path) < 0)
        return 0;
    return h.ndim == 2 && !nerve_dtype_is_float(h.dtype) && h.dtype != NERVE_BOOL;
}

/* An integer (N, T) array read as int64, each value in [0, top] (top < 0: any
 * value not negative). */
static int read_ids(nerve_array *out, const char *path, const char *what, int64_t top)
{
    nerve_npy_header h;
    int rc = nerve_npy_read_header(&h, path);
    if (rc == 0 && (h.ndim != 2 || nerve_dtype_is_float(h.dtype) || h.dtype == NERVE_BOOL))
        rc = nerve_error_set(NERVE_EINPUT, "%s: %s must be integers (N, T), not %d-D %s", path, what, h.ndim,
                             nerve_dtype_name(h.dtype));
    if (rc == 0)
        rc = nerve_npy_read(out, NULL, path, NERVE_I64);
    const int64_t *v = rc == 0 ? out->data : NULL;
    for (int64_t i = 0; rc == 0 && i < nerve_array_count(out); i++)
        if (v[i] < 0 || (top >= 0 && v[i] > top))
            rc = nerve_error_set(NERVE_EINPUT, "%s: %s: value %lld at row %lld, column %lld (want %s)", path, what,
                                 (long long)v[i], (long long)(i / out->shape[1]), (long long)(i % out->shape[1]),
                                 top >= 0 ? "0 or 1" : "ids from 0");
    if (rc < 0)
        nerve_array_free(out);
    return rc;
}

int inputs_tokens_open(nerve_inputs *in, const char *path)
{
    int rc = read_ids(&in->data, path, "token ids", -1);
    if (rc < 0)
        return rc;
    in->token_ids = 1;
    in->count = in->data.shape[0];
    in->ndim = 1;
    in->shape[0] = in->data.shape[1];
    in->shape[1] = in->shape[2] = 1;
    in->scale = 1;
    if (!in->pp.attention_mask)
        return 0;
    if ((rc = read_ids(&in->mask, in->pp.attention_mask, "an attention mask", 1)) < 0)
        return rc;
    if (in->mask.shape[0] != in->count || in->mask.shape[1] != in->shape[0])
        return nerve_error_set(NERVE_EINPUT, "%s: the attention mask is %lld x %lld, the token ids %s %lld x %lld",
                               in->pp.attention_mask, (long long)in->mask.shape[0], (long long)in->mask.shape[1],
                               path, (long long)in->count, (long long)in->shape[0]);
    return 0;
}

/* Rows [start, start + n) of an (N, T) int64 array; ones without one. */
static int rows_of(const nerve_array *a, int64_t T, int64_t start, int64_t n, nerve_array *batch)
{
    int64_t shape[2] = { n, T };
    int rc = nerve_array_alloc_raw(batch, NERVE_I64, 2, shape);
    if (rc < 0)
        return rc;
    int64_t *dst = batch->data;
    if (a->data)
        memcpy(dst, (const int64_t *)a->data + start * T, (size_t)(n * T) * sizeof *dst);
    else
        for (int64_t i = 0; i < n * T; i++)
            dst[i] = 1;
    return 0;
}

int inputs_tokens_batch(const nerve_inputs *in, int64_t start, int64_t n, nerve_array *batch)
{
    return rows_of(&in->data, in->shape[0], start, n, batch);
}

int nerve_inputs_mask_batch(const nerve_inputs *in, int64_t start, int64_t n, nerve_array *batch)
{
    if (!in->token_ids)
        return nerve_error_set(NERVE_EINPUT, "%s: an attention mask goes with token ids", in->spec);
    if (start < 0 || n < 0 || start > in->count - n)
        return nerve_error_set(NERVE_EINPUT, "%s: inputs %lld..%lld are not among its %lld inputs", in->spec,
                               (long long)start, (long long)(start + n - 1), (long long)in->count);
    return rows_of(&in->mask, in->shape[0], start, n, batch);
}
