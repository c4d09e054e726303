/*
 * input.c — what persistence reads: ripser's text formats (a point cloud
 * with one point per line, or the lower triangle of a distance matrix),
 * and landmark subsampling of large clouds (max-min, or uniform), seeded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"
#include "nerve/internal/alloc.h"

/* ---- ripser's text formats ---------------------------------------------- */

/* The numbers of a file, as they are read: a growable array of doubles. */
typedef nerve_vec numbers;

static void numbers_init(numbers *s)
{
    nerve_vec_init(s, sizeof(double), "numbers of a text file");
}

static int numbers_push(numbers *s, double x)
{
    return nerve_vec_append(s, &x, 1);
}

static int64_t numbers_count(const numbers *s)
{
    return (int64_t)s->len;
}

static const double *numbers_at(const numbers *s)
{
    return s->data;
}

/* Every number of a line (separated by commas, spaces or tabs). */
static int parse_line(numbers *s, char *line, const char *path, int64_t lineno)
{
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            return 0;
        char *end;
        double x = strtod(p, &end);
        if (end == p)
            return nerve_error_set(NERVE_EINPUT, "%s: line %lld: '%.20s' is not a number", path, (long long)lineno, p);
        if (!isfinite(x))
            return nerve_error_set(NERVE_EINPUT, "%s: line %lld holds %g", path, (long long)lineno, x);
        if (numbers_push(s, x) < 0)
            return nerve_error_set(NERVE_ENOMEM, "out of memory reading %s", path);
        p = end;
    }
}

int nerve_ph_read_points_text(nerve_mat *out, const char *path)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot open", path);
    numbers s;
    numbers_init(&s);
    char *line = NULL;
    size_t cap = 0;
    int64_t rows = 0, cols = -1, lineno = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        int64_t before = numbers_count(&s);
        if ((rc = parse_line(&s, line, path, lineno)) < 0 || numbers_count(&s) == before)
            continue;
        if (cols >= 0 && numbers_count(&s) - before != cols)
            rc = nerve_error_set(NERVE_EINPUT, "%s: line %lld has %lld coordinates, the first point %lld", path,
                                 (long long)lineno, (long long)(numbers_count(&s) - before), (long long)cols);
        cols = numbers_count(&s) - before;
        rows++;
    }
    free(line);
    fclose(f);
    if (rc == 0 && rows == 0)
        rc = nerve_error_set(NERVE_EINPUT, "%s: no points", path);
    if (rc == 0 && (rc = nerve_mat_alloc(out, rows, cols)) == 0)
        for (int64_t i = 0; i < rows * cols; i++)
            out->data[i] = (float)numbers_at(&s)[i];
    nerve_vec_free(&s);
    return rc;
}

int nerve_ph_read_lower_distance(double **out, int64_t *n, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return nerve_error_set(NERVE_EINPUT, "%s: cannot open", path);
    numbers s;
    numbers_init(&s);
    char *line = NULL;
    size_t cap = 0;
    int64_t lineno = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0)
        rc = parse_line(&s, line, path, ++lineno);
    free(line);
    fclose(f);
    /* m = n (n - 1) / 2 entries: the rows below the diagonal, one after another. */
    int64_t size = (int64_t)llround((1 + sqrt(1 + 8.0 * (double)numbers_count(&s))) / 2);
    if (rc == 0 && size * (size - 1) / 2 != numbers_count(&s))
        rc = nerve_error_set(NERVE_EINPUT, "%s: %lld numbers are not the lower triangle of a square matrix", path,
                             (long long)numbers_count(&s));
    if (rc == 0 && !(*out = calloc((size_t)(size * size), sizeof **out)))
        rc = nerve_error_set(NERVE_ENOMEM, "out of memory reading %s", path);
    for (int64_t i = 1, at = 0; rc == 0 && i < size; i++)
        for (int64_t j = 0; j < i; j++, at++) {
            if (numbers_at(&s)[at] < 0)
                rc = nerve_error_set(NERVE_EINPUT, "%s: the distance of %lld and %lld is negative (%g)", path,
                                     (long long)i, (long long)j, numbers_at(&s)[at]);
            (*out)[i * size + j] = (*out)[j * size + i] = numbers_at(&s)[at];
        }
    nerve_vec_free(&s);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    *n = size;
    return rc;
}

/* ---- subsampling -------------------------------------------------------- */

const char *nerve_subsample_name(nerve_subsample s)
{
    return s == NERVE_SUBSAMPLE_RANDOM ? "random" : "maxmin";
}

int nerve_subsample_parse(const char *s, nerve_subsample *out)
{
    if (strcmp(s, "maxmin") == 0)
        *out = NERVE_SUBSAMPLE_MAXMIN;
    else if (strcmp(s, "random") == 0)
        *out = NERVE_SUBSAMPLE_RANDOM;
    else
        return -1;
    return 0;
}

/* Max-min landmarks: a seeded first point, then again and again the point
 * farthest from those chosen. */
static void maxmin(int64_t *pick, const nerve_mat *x, int64_t m, nerve_metric metric, nerve_rng *r)
{
    int64_t n = x->rows, d = x->cols;
    double *near = malloc((size_t)n * sizeof *near);
    pick[0] = (int64_t)nerve_rng_below(r, (uint64_t)n);
    for (int64_t i = 0; i < n; i++)
        near[i] = INFINITY;
    for (int64_t k = 1; k < m; k++) {
        const float *last = x->data + pick[k - 1] * d;
        #pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++)
            near[i] = fmin(near[i], nerve_knn_distance(x->data + i * d, last, d, metric));
        int64_t far = 0;
        for (int64_t i = 1; i < n; i++)
            far = near[i] > near[far] ? i : far;
        pick[k] = far;
    }
    free(near);
}

int nerve_ph_subsample(nerve_mat *out, int64_t *picked, const nerve_mat *x, int64_t m, nerve_subsample how,
                       nerve_metric metric, uint64_t seed)
{
    int64_t n = x->rows, d = x->cols;
    m = m < n ? m : n;
    int64_t *pick = picked ? picked : malloc((size_t)m * sizeof *pick);
    int rc = pick ? nerve_mat_alloc(out, m, d) : nerve_error_set(NERVE_ENOMEM, "out of memory");
    if (rc < 0) {
        if (!picked)
            free(pick);
        return rc;
    }
    nerve_rng r;
    nerve_rng_seed(&r, seed);
    if (how == NERVE_SUBSAMPLE_MAXMIN && m > 0) {
        maxmin(pick, x, m, metric, &r);
    } else {
        int64_t *all = malloc((size_t)n * sizeof *all);
        if (!all) {
            nerve_mat_free(out);
            if (!picked)
                free(pick);
            return nerve_error_set(NERVE_ENOMEM, "out of memory");
        }
        for (int64_t i = 0; i < n; i++)
            all[i] = i;
        for (int64_t i = 0; i < m; i++) {
            int64_t j = i + (int64_t)nerve_rng_below(&r, (uint64_t)(n - i)), t = all[i];
            all[i] = all[j];
            all[j] = t;
            pick[i] = all[i];
        }
        free(all);
    }
    for (int64_t i = 0; i < m; i++)
        memcpy(out->data + i * d, x->data + pick[i] * d, (size_t)d * sizeof *x->data);
    if (!picked)
        free(pick);
    return 0;
}
