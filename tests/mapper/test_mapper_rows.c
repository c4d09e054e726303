/*
 * test_mapper_rows.c — the rows Mapper is built from (src/mapper/rows.c,
 * moved out of cli/mapper.c, issue 16): per-input columns read against the
 * points, and rows with NaN or infinity dropped from both together.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nerve/mapper.h"
#include "../support/support.h"

/* 5 x 2 points; rows 1 and 3 hold NaN and infinity. */
static void points_with_holes(nerve_mat *x)
{
    cr_assert_eq(nerve_mat_alloc(x, 5, 2), 0);
    for (int i = 0; i < 10; i++)
        x->data[i] = (float)i;
    x->data[3] = NAN;
    x->data[6] = INFINITY;
}

Test(mapper_rows, nonfinite_rows_leave_with_their_labels)
{
    nerve_mat x;
    points_with_holes(&x);
    int64_t labels[5] = { 10, 11, 12, 13, 14 }, n = 5;
    nerve_mapper_columns c = { 0 };
    cr_assert_eq(nerve_array_alloc(&c.labels, NERVE_I64, 1, &n), 0);
    memcpy(c.labels.data, labels, sizeof labels);
    int64_t *kept, dropped;
    cr_assert_eq(nerve_mapper_drop_nonfinite(&x, &c, &kept, &dropped, "x.npy"), 0, "%s", nerve_error());
    cr_assert_eq(dropped, 2);
    cr_assert_eq(x.rows, 3);
    cr_assert_eq(kept[0], 0);
    cr_assert_eq(kept[1], 2);
    cr_assert_eq(kept[2], 4);
    cr_assert_float_eq(x.data[2], 4.0f, 0);
    cr_assert_float_eq(x.data[5], 9.0f, 0);
    const int64_t *l = c.labels.data;
    cr_assert(l[0] == 10 && l[1] == 12 && l[2] == 14);
    cr_assert_null(c.predictions.data, "a column not given stays absent");
    nerve_mapper_meta meta = nerve_mapper_columns_meta(&c, 7);
    cr_assert_eq(meta.labels, c.labels.data);
    cr_assert_eq(meta.seed, 7);
    free(kept);
    nerve_mapper_columns_free(&c);
    nerve_mat_free(&x);
}

Test(mapper_rows, a_column_of_the_wrong_length_is_refused_by_name)
{
    nerve_array a;
    int64_t n = 3;
    cr_assert_eq(nerve_array_alloc(&a, NERVE_I64, 1, &n), 0);
    const char *path = temp_path("short_labels.npy");
    cr_assert_eq(nerve_npy_write(path, &a), 0);
    nerve_array_free(&a);
    nerve_mapper_columns c;
    cr_assert_eq(nerve_mapper_columns_read(&c, path, NULL, NULL, 5), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "short_labels.npy: 3 values, but the points have 5 rows"), "%s", nerve_error());
    cr_assert_null(c.labels.data, "nothing to free after a failure");
}

/* Before the rows moved into the mapper room, an input whose every row
 * held NaN reached the graph builder as 0 points, and the message named
 * neither the file nor the reason. */
Test(mapper_rows, an_input_with_no_finite_row_is_refused_by_name)
{
    nerve_mat x;
    cr_assert_eq(nerve_mat_alloc(&x, 4, 3), 0);
    for (int i = 0; i < 12; i++)
        x.data[i] = NAN;
    char path[4200];
    snprintf(path, sizeof path, "%s", temp_path("all_nan.npy"));
    cr_assert_eq(nerve_mat_write_npy(path, &x), 0);
    nerve_mat_free(&x);
    const char *args[] = { "mapper", "--drop-nonfinite", "-o", temp_path("all_nan.json"), path, NULL }, *out, *err;
    cr_assert_eq(run_nerve(args, &out, &err), 2, "%s", err);
    cr_assert(strstr(err, "all_nan.npy: every one of its 4 rows holds NaN or infinity"), "%s", err);
}
