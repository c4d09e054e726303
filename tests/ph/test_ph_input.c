/*
 * test_ph_input.c — the input file of `nerve ph` read by its format
 * (src/ph/input_file.c, moved out of cli/ph.c, issue 16): an .npy that is
 * square, symmetric, with a zero diagonal is a distance matrix under auto.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "nerve/ph.h"
#include "../support/support.h"

/* The distances of 3 points on a line at 0, 1, 3. */
static void distances(nerve_mat *m)
{
    const float d[9] = { 0, 1, 3, 1, 0, 2, 3, 2, 0 };
    cr_assert_eq(nerve_mat_alloc(m, 3, 3), 0);
    memcpy(m->data, d, sizeof d);
}

Test(ph_input, what_looks_like_distances)
{
    nerve_mat m;
    distances(&m);
    cr_assert(nerve_ph_looks_like_distances(&m));
    m.data[1] = 2;   /* no longer symmetric */
    cr_assert_not(nerve_ph_looks_like_distances(&m));
    m.data[1] = 1;
    m.data[4] = 0.5f;   /* a diagonal that is not zero */
    cr_assert_not(nerve_ph_looks_like_distances(&m));
    nerve_mat_free(&m);
    cr_assert_eq(nerve_mat_alloc(&m, 3, 2), 0);
    cr_assert_not(nerve_ph_looks_like_distances(&m), "not square");
    nerve_mat_free(&m);
}

Test(ph_input, auto_reads_a_distance_matrix_and_npy_points_a_cloud)
{
    nerve_mat m;
    distances(&m);
    char path[4200];
    snprintf(path, sizeof path, "%s", temp_path("line_distances.npy"));
    cr_assert_eq(nerve_mat_write_npy(path, &m), 0);
    nerve_mat_free(&m);
    nerve_ph_input in;
    cr_assert_eq(nerve_ph_input_read(&in, path, NERVE_PH_FORMAT_AUTO), 0, "%s", nerve_error());
    cr_assert_not_null(in.dist);
    cr_assert_eq(in.n, 3);
    cr_assert_float_eq(in.dist[2], 3.0, 0);
    nerve_ph_input_free(&in);
    cr_assert_eq(nerve_ph_input_read(&in, path, NERVE_PH_FORMAT_NPY_POINTS), 0, "%s", nerve_error());
    cr_assert_null(in.dist);
    cr_assert_eq(in.points.rows, 3);
    cr_assert_eq(in.points.cols, 3);
    nerve_ph_input_free(&in);
}

Test(ph_input, a_distance_matrix_that_is_not_one_is_refused_by_name)
{
    nerve_mat m;
    cr_assert_eq(nerve_mat_alloc(&m, 4, 2), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s", temp_path("oblong.npy"));
    cr_assert_eq(nerve_mat_write_npy(path, &m), 0);
    nerve_mat_free(&m);
    nerve_ph_input in;
    cr_assert_eq(nerve_ph_input_read(&in, path, NERVE_PH_FORMAT_NPY_DISTANCE), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "oblong.npy: a distance matrix must be square, not 4 x 2"), "%s", nerve_error());
    cr_assert_null(in.dist);

    distances(&m);
    m.data[1] = -1;   /* negative distances are checked before anything is computed */
    m.data[3] = -1;
    cr_assert_eq(nerve_mat_write_npy(path, &m), 0);
    nerve_mat_free(&m);
    cr_assert_eq(nerve_ph_input_read(&in, path, NERVE_PH_FORMAT_NPY_DISTANCE), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "oblong.npy"), "%s", nerve_error());
}

Test(ph_input, formats_by_name)
{
    nerve_ph_format f;
    cr_assert_eq(nerve_ph_format_parse("lower-distance", &f), 0);
    cr_assert_eq(f, NERVE_PH_FORMAT_LOWER_DISTANCE);
    cr_assert_str_eq(nerve_ph_format_name(NERVE_PH_FORMAT_NPY_POINTS), "npy-points");
    cr_assert_eq(nerve_ph_format_parse("csv", &f), -1);
}
