/*
 * rows.c — the inputs a Mapper graph is built from, as files give them:
 * per-input columns (labels, predictions, confidences) read and checked
 * against the points, and rows holding NaN or infinity dropped from the
 * points and the columns together.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mapper_internal.h"

/* Reads an optional per-input .npy column (path NULL: absent, left empty);
 * it must hold one value per point. */
static int read_column(nerve_array *a, const char *path, nerve_dtype want, int64_t n)
{
    *a = (nerve_array){ 0 };
    if (!path)
        return 0;
    nerve_npy_header h;
    int rc = nerve_npy_read(a, &h, path, want);
    if (rc == 0 && nerve_array_count(a) != n)
        rc = nerve_error_set(NERVE_EINPUT, "%s: %lld values, but the points have %lld rows", path,
                             (long long)nerve_array_count(a), (long long)n);
    return rc;
}

int nerve_mapper_columns_read(nerve_mapper_columns *out, const char *labels, const char *predictions,
                              const char *confidence, int64_t n)
{
    *out = (nerve_mapper_columns){ 0 };
    int rc = read_column(&out->labels, labels, NERVE_I64, n);
    if (rc == 0 && out->labels.data)
        rc = nerve_mapper_labels_check(NULL, out->labels.data, n, labels);
    if (rc == 0)
        rc = read_column(&out->predictions, predictions, NERVE_I64, n);
    if (rc == 0)
        rc = read_column(&out->confidence, confidence, NERVE_F32, n);
    if (rc < 0)
        nerve_mapper_columns_free(out);
    return rc;
}

void nerve_mapper_columns_free(nerve_mapper_columns *c)
{
    nerve_array_free(&c->labels);
    nerve_array_free(&c->predictions);
    nerve_array_free(&c->confidence);
}

nerve_mapper_meta nerve_mapper_columns_meta(const nerve_mapper_columns *c, uint64_t seed)
{
    return (nerve_mapper_meta){ .labels = c->labels.data, .predictions = c->predictions.data,
                                .confidence = c->confidence.data, .seed = seed };
}

static int row_is_finite(const nerve_mat *x, int64_t i)
{
    for (int64_t j = 0; j < x->cols; j++)
        if (!isfinite(x->data[i * x->cols + j]))
            return 0;
    return 1;
}

/* Keeps a column's entries kept[0..n) in fresh memory (a read may have
 * mapped the file). An absent column stays absent. */
static int keep_entries(nerve_array *a, const int64_t *kept, int64_t n)
{
    if (!a->data)
        return 0;
    nerve_array b;
    int rc = nerve_array_alloc(&b, a->dtype, 1, &n);
    if (rc < 0)
        return rc;
    size_t w = (size_t)nerve_dtype_size(a->dtype);
    for (int64_t i = 0; i < n; i++)
        memcpy((char *)b.data + (size_t)i * w, (const char *)a->data + (size_t)kept[i] * w, w);
    nerve_array_free(a);
    *a = b;
    return 0;
}

/* Replaces x by its rows kept[0..n) in fresh memory. */
static int keep_rows(nerve_mat *x, const int64_t *kept, int64_t n)
{
    nerve_mat y;
    int rc = nerve_mat_alloc(&y, n, x->cols);
    if (rc < 0)
        return rc;
    for (int64_t i = 0; i < n; i++)
        memcpy(y.data + i * x->cols, x->data + kept[i] * x->cols, (size_t)x->cols * sizeof *x->data);
    nerve_mat_free(x);
    *x = y;
    return 0;
}

int nerve_mapper_drop_nonfinite(nerve_mat *x, nerve_mapper_columns *c, int64_t **kept, int64_t *dropped,
                                const char *label)
{
    *kept = NULL;
    *dropped = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < x->rows; i++)
        n += row_is_finite(x, i);
    if (n == 0 && x->rows > 0)
        return nerve_error_set(NERVE_EINPUT, "%s: every one of its %lld rows holds NaN or infinity; nothing is "
                               "left to map", label, (long long)x->rows);
    *kept = malloc((size_t)n * sizeof **kept + 1);
    if (!*kept)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int64_t i = 0, at = 0; i < x->rows; i++)
        if (row_is_finite(x, i))
            (*kept)[at++] = i;
    *dropped = x->rows - n;
    int rc = keep_rows(x, *kept, n);
    if (rc == 0 && c && (rc = keep_entries(&c->labels, *kept, n)) == 0 &&
        (rc = keep_entries(&c->predictions, *kept, n)) == 0)
        rc = keep_entries(&c->confidence, *kept, n);
    if (rc < 0) {
        free(*kept);
        *kept = NULL;
    }
    return rc;
}
