/*
 * lens.c — filter functions: each maps every point to one or more numbers,
 * and a lens spec joins several with commas into one multi-dimensional lens.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapper_internal.h"

const char NERVE_LENS_NAMES[] =
    "l2norm, pca:K, coord:I, density:K, eccentricity, knn-distance:K, npy:FILE, meta:confidence, meta:label";

void nerve_lens_free(nerve_lens *lens)
{
    free(lens->values);
    memset(lens, 0, sizeof *lens);
}

/* One lens term's values: n x dims, written into a fresh array. */
typedef struct term {
    int64_t dims;
    double *values;
} term;

static int term_alloc(term *t, int64_t n, int64_t dims)
{
    t->dims = dims;
    t->values = malloc((size_t)(n * dims) * sizeof *t->values + 1);
    return t->values ? 0 : nerve_error_set(NERVE_ENOMEM, "lens: out of memory");
}

/* A positive integer argument after "name:". */
static int parse_count(int64_t *out, const char *arg, const char *name)
{
    char *end;
    long long v = arg ? strtoll(arg, &end, 10) : 0;
    if (!arg || *arg == '\0' || *end != '\0' || v < 1)
        return nerve_error_set(NERVE_EINPUT, "lens %s: needs a positive whole number (%s:K), got '%s'", name, name,
                               arg ? arg : "");
    *out = v;
    return 0;
}

static int lens_l2norm(term *t, const nerve_mat *x)
{
    int rc = term_alloc(t, x->rows, 1);
    if (rc < 0)
        return rc;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < x->rows; i++) {
        double s = 0;
        for (int64_t j = 0; j < x->cols; j++)
            s += (double)x->data[i * x->cols + j] * x->data[i * x->cols + j];
        t->values[i] = sqrt(s);
    }
    return 0;
}

static int lens_coord(term *t, const nerve_mat *x, const char *arg)
{
    char *end;
    long long c = arg ? strtoll(arg, &end, 10) : -1;
    if (!arg || *arg == '\0' || *end != '\0' || c < 0 || c >= x->cols)
        return nerve_error_set(NERVE_EINPUT, "lens coord: needs a column 0..%lld (coord:I), got '%s'",
                               (long long)x->cols - 1, arg ? arg : "");
    int rc = term_alloc(t, x->rows, 1);
    for (int64_t i = 0; rc == 0 && i < x->rows; i++)
        t->values[i] = x->data[i * x->cols + c];
    return rc;
}

static int lens_pca(term *t, const nerve_mat *x, const char *arg)
{
    int64_t k = 0;
    int rc = parse_count(&k, arg, "pca");
    if (rc < 0)
        return rc;
    if (k > x->cols || k > x->rows)
        return nerve_error_set(NERVE_EINPUT, "lens pca:%lld: the points have %lld dimensions and %lld rows", (long long)k,
                               (long long)x->cols, (long long)x->rows);
    nerve_pca p;
    if ((rc = nerve_pca_fit(&p, x, k)) < 0 || (rc = term_alloc(t, x->rows, k)) < 0) {
        nerve_pca_free(&p);
        return rc;
    }
    for (int64_t i = 0; i < x->rows * k; i++)
        t->values[i] = p.scores.data[i];
    nerve_pca_free(&p);
    return 0;
}

/* L2 eccentricity: the root mean squared distance to all points, from
 * |x - y|^2 = |x|^2 - 2 x.mean + mean(|y|^2), in O(N d). */
static int lens_eccentricity(term *t, const nerve_mat *x)
{
    int64_t n = x->rows, d = x->cols;
    int rc = term_alloc(t, n, 1);
    double *mean = calloc((size_t)d + 1, sizeof *mean);
    if (rc < 0 || !mean) {
        free(mean);
        return rc < 0 ? rc : nerve_error_set(NERVE_ENOMEM, "lens: out of memory");
    }
    double mean_sq = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double v = x->data[i * d + j];
            mean[j] += v / n;
            mean_sq += v * v / n;
        }
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double sq = 0, dot = 0;
        for (int64_t j = 0; j < d; j++) {
            double v = x->data[i * d + j];
            sq += v * v;
            dot += v * mean[j];
        }
        double e = sq - 2 * dot + mean_sq;
        t->values[i] = sqrt(e > 0 ? e : 0);
    }
    free(mean);
    return 0;
}

/* density:K = 1 / (mean distance to the K nearest neighbours);
 * knn-distance:K = the distance to the K-th. */
static int lens_knn(term *t, const nerve_mat *x, const char *arg, int density, const nerve_mapper_meta *meta)
{
    const char *name = density ? "density" : "knn-distance";
    int64_t k = 0;
    int rc = parse_count(&k, arg, name);
    if (rc < 0)
        return rc;
    if (k >= x->rows)
        return nerve_error_set(NERVE_EINPUT, "lens %s:%lld: needs more than %lld points, there are %lld", name,
                               (long long)k, (long long)k, (long long)x->rows);
    nerve_knn nn;
    if ((rc = nerve_knn_build(&nn, x, k, NERVE_METRIC_EUCLIDEAN, meta ? meta->seed : 0)) < 0)
        return rc;
    if ((rc = term_alloc(t, x->rows, 1)) == 0)
        for (int64_t i = 0; i < x->rows; i++) {
            const float *di = nn.dist + i * k;
            if (!density) {
                t->values[i] = di[k - 1];
                continue;
            }
            double s = 0;
            for (int64_t j = 0; j < k; j++)
                s += di[j];
            t->values[i] = s > 0 ? k / s : INFINITY;
        }
    nerve_knn_free(&nn);
    return rc;
}

static int lens_npy(term *t, const nerve_mat *x, const char *path)
{
    nerve_mat m;
    int rc = nerve_mat_read_npy(&m, path);
    if (rc < 0)
        return rc;
    if (m.rows != x->rows) {
        nerve_mat_free(&m);
        return nerve_error_set(NERVE_EINPUT, "%s: the lens has %lld rows, the points %lld", path, (long long)m.rows,
                               (long long)x->rows);
    }
    if ((rc = term_alloc(t, m.rows, m.cols)) == 0)
        for (int64_t i = 0; i < m.rows * m.cols; i++)
            t->values[i] = m.data[i];
    nerve_mat_free(&m);
    return rc;
}

static int lens_meta(term *t, const nerve_mat *x, const char *arg, const nerve_mapper_meta *meta)
{
    int want_label = arg && strcmp(arg, "label") == 0;
    if (!arg || (!want_label && strcmp(arg, "confidence") != 0))
        return nerve_error_set(NERVE_EINPUT, "lens meta: meta:confidence or meta:label, not meta:%s", arg ? arg : "");
    if (want_label ? !meta || !meta->labels : !meta || !meta->confidence)
        return nerve_error_set(NERVE_EINPUT, "lens meta:%s: the inputs' %s are not known (--%s, or --study)", arg,
                               want_label ? "labels" : "confidences", want_label ? "labels" : "confidence");
    int rc = term_alloc(t, x->rows, 1);
    for (int64_t i = 0; rc == 0 && i < x->rows; i++)
        t->values[i] = want_label ? (double)meta->labels[i] : meta->confidence[i];
    return rc;
}

/* One comma-free term "name[:arg]". */
static int lens_term(term *t, char *spec, const nerve_mat *x, const nerve_mapper_meta *meta)
{
    char *arg = strchr(spec, ':');
    if (arg)
        *arg++ = '\0';
    if (strcmp(spec, "l2norm") == 0 && !arg)
        return lens_l2norm(t, x);
    if (strcmp(spec, "eccentricity") == 0 && !arg)
        return lens_eccentricity(t, x);
    if (strcmp(spec, "coord") == 0)
        return lens_coord(t, x, arg);
    if (strcmp(spec, "pca") == 0)
        return lens_pca(t, x, arg);
    if (strcmp(spec, "density") == 0 || strcmp(spec, "knn-distance") == 0)
        return lens_knn(t, x, arg, spec[0] == 'd', meta);
    if (strcmp(spec, "npy") == 0)
        return lens_npy(t, x, arg);
    if (strcmp(spec, "meta") == 0)
        return lens_meta(t, x, arg, meta);
    return nerve_error_set(NERVE_EINPUT, "unknown lens '%s%s%s' (valid: %s)", spec, arg ? ":" : "", arg ? arg : "",
                           NERVE_LENS_NAMES);
}

/* Appends a term's columns to the lens. */
static int lens_append(nerve_lens *out, const term *t)
{
    int64_t n = out->n, dims = out->dims + t->dims;
    double *v = malloc((size_t)(n * dims) * sizeof *v + 1);
    if (!v)
        return nerve_error_set(NERVE_ENOMEM, "lens: out of memory");
    for (int64_t i = 0; i < n; i++) {
        if (out->dims > 0)
            memcpy(v + i * dims, out->values + i * out->dims, (size_t)out->dims * sizeof *v);
        memcpy(v + i * dims + out->dims, t->values + i * t->dims, (size_t)t->dims * sizeof *v);
    }
    free(out->values);
    out->values = v;
    out->dims = dims;
    return 0;
}

static int check_finite(const nerve_lens *l)
{
    for (int64_t i = 0; i < l->n * l->dims; i++)
        if (!isfinite(l->values[i]))
            return nerve_error_set(NERVE_EINPUT, "lens %s: the value of row %lld, dimension %lld is %g", l->spec,
                                   (long long)(i / l->dims), (long long)(i % l->dims), l->values[i]);
    return 0;
}

int nerve_lens_compute(nerve_lens *out, const char *spec, const nerve_mat *points, const nerve_mapper_meta *meta)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec)
        return nerve_error_set(NERVE_EINPUT, "lens: empty (valid: %s)", NERVE_LENS_NAMES);
    snprintf(out->spec, sizeof out->spec, "%s", spec);
    out->n = points->rows;
    char *copy = strdup(spec), *save = NULL;
    if (!copy)
        return nerve_error_set(NERVE_ENOMEM, "lens: out of memory");
    int rc = 0;
    for (char *s = strtok_r(copy, ",", &save); s && rc == 0; s = strtok_r(NULL, ",", &save)) {
        term t = { 0 };
        if ((rc = lens_term(&t, s, points, meta)) == 0)
            rc = lens_append(out, &t);
        free(t.values);
    }
    free(copy);
    if (rc == 0)
        rc = check_finite(out);
    if (rc < 0)
        nerve_lens_free(out);
    return rc;
}
