/*
 * input_file.c — the file `nerve ph` reads, by its format: an .npy point
 * cloud or distance matrix (told apart by looking, under auto), or one of
 * ripser's text formats. Distances are checked before anything is
 * computed from them.
 */
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"

static const char *const format_names[] = { "auto", "npy-points", "npy-distance", "point-cloud", "lower-distance" };
enum { FORMAT_COUNT = sizeof format_names / sizeof format_names[0] };

const char *nerve_ph_format_name(nerve_ph_format f)
{
    return (unsigned)f < FORMAT_COUNT ? format_names[f] : "?";
}

int nerve_ph_format_parse(const char *s, nerve_ph_format *out)
{
    for (int i = 0; i < FORMAT_COUNT; i++)
        if (strcmp(s, format_names[i]) == 0) {
            *out = (nerve_ph_format)i;
            return 0;
        }
    return -1;
}

int nerve_ph_looks_like_distances(const nerve_mat *m)
{
    if (m->rows != m->cols)
        return 0;
    for (int64_t i = 0; i < m->rows; i++)
        for (int64_t j = 0; j <= i; j++)
            if ((i == j && m->data[i * m->cols + j] != 0) || m->data[i * m->cols + j] != m->data[j * m->cols + i])
                return 0;
    return 1;
}

static int is_npy(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".npy") == 0;
}

/* The n x n float matrix m as checked double distances. */
static int take_distances(nerve_ph_input *in, const nerve_mat *m, const char *path)
{
    if (m->rows != m->cols)
        return nerve_error_set(NERVE_EINPUT, "%s: a distance matrix must be square, not %lld x %lld", path,
                               (long long)m->rows, (long long)m->cols);
    int64_t n = m->rows;
    in->dist = malloc((size_t)(n * n) * sizeof *in->dist + 1);
    if (!in->dist)
        return nerve_error_set(NERVE_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n * n; i++)
        in->dist[i] = m->data[i];
    in->n = n;
    return nerve_ph_check_distances(in->dist, n, path);
}

static int read_npy(nerve_ph_input *in, const char *path, nerve_ph_format format)
{
    nerve_mat x;
    int rc = nerve_mat_read_npy(&x, path);
    if (rc < 0)
        return rc;
    int distances = format == NERVE_PH_FORMAT_NPY_DISTANCE ||
                    (format == NERVE_PH_FORMAT_AUTO && nerve_ph_looks_like_distances(&x));
    if (distances) {
        rc = take_distances(in, &x, path);
        nerve_mat_free(&x);
        return rc;
    }
    in->points = x;
    in->n = x.rows;
    return 0;
}

int nerve_ph_input_read(nerve_ph_input *out, const char *path, nerve_ph_format format)
{
    *out = (nerve_ph_input){ 0 };
    if (format == NERVE_PH_FORMAT_AUTO && !is_npy(path))
        format = NERVE_PH_FORMAT_LOWER_DISTANCE;
    int rc;
    switch (format) {
    case NERVE_PH_FORMAT_LOWER_DISTANCE:
        rc = nerve_ph_read_lower_distance(&out->dist, &out->n, path);
        if (rc == 0)
            rc = nerve_ph_check_distances(out->dist, out->n, path);
        break;
    case NERVE_PH_FORMAT_POINT_CLOUD:
        rc = nerve_ph_read_points_text(&out->points, path);
        out->n = out->points.rows;
        break;
    default: rc = read_npy(out, path, format); break;
    }
    if (rc < 0)
        nerve_ph_input_free(out);
    return rc;
}

void nerve_ph_input_free(nerve_ph_input *in)
{
    free(in->dist);
    nerve_mat_free(&in->points);
    *in = (nerve_ph_input){ 0 };
}
