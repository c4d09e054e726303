/*
 * test_mapper_hostile.c — label files shaped to hurt (issue 15, row 5): a
 * label of 2^62 wrapped the per-class table's size to a tiny allocation
 * (SIGSEGV), one of 10^7 asked for 14.5 GB. Labels are classes from 0 to
 * NERVE_MAPPER_MAX_CLASSES - 1, or the file is refused by name.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nerve/mapper.h"
#include "../support/support.h"

enum { N = 60 };

/* temp_path's buffers are reused (run_nerve takes two): each path made
 * here lives in a buffer of its own. */
static const char *own_temp_path(const char *name)
{
    static char paths[16][4200];
    static int slot;
    char *p = paths[slot++ % 16];
    snprintf(p, 4200, "%s", temp_path(name));
    return p;
}

/* N points on a circle, written to a temporary .npy. */
static const char *circle(nerve_mat *x)
{
    cr_assert_eq(nerve_mat_alloc(x, N, 2), 0);
    for (int i = 0; i < N; i++) {
        x->data[2 * i] = (float)cos(6.283185307179586 * i / N);
        x->data[2 * i + 1] = (float)sin(6.283185307179586 * i / N);
    }
    const char *path = own_temp_path("circle.npy");
    cr_assert_eq(nerve_mat_write_npy(path, x), 0);
    return path;
}

/* N labels, 0 and 1 alternating, with one of them `odd`. */
static const char *labels_with(const char *name, int64_t odd)
{
    nerve_array a;
    int64_t n = N;
    cr_assert_eq(nerve_array_alloc(&a, NERVE_I64, 1, &n), 0);
    int64_t *l = a.data;
    for (int i = 0; i < N; i++)
        l[i] = i % 2;
    l[7] = odd;
    const char *path = own_temp_path(name);
    cr_assert_eq(nerve_npy_write(path, &a), 0);
    nerve_array_free(&a);
    return path;
}

static int build_with_labels(const nerve_mat *x, const int64_t *labels, int n_classes)
{
    nerve_mapper_params p;
    nerve_mapper_defaults(&p);
    nerve_mapper_meta meta = { .labels = labels, .n_classes = n_classes };
    nerve_lens lens;
    cr_assert_eq(nerve_lens_compute(&lens, "coord:0", x, &meta), 0, "%s", nerve_error());
    nerve_mapper_graph g = { 0 };
    int rc = nerve_mapper_build(&g, x, &lens, &p, &meta);
    nerve_mapper_graph_free(&g);
    nerve_lens_free(&lens);
    return rc;
}

Test(mapper_hostile, huge_or_negative_labels_are_refused_by_file)
{
    nerve_mat x;
    const char *points = circle(&x);
    const int64_t bad[] = { (int64_t)1 << 62, 10000000, NERVE_MAPPER_MAX_CLASSES, -1, INT64_MIN };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char name[64];
        snprintf(name, sizeof name, "labels%zu.npy", i);
        const char *labels = labels_with(name, bad[i]);
        const char *out, *err;
        int status = run_nerve((const char *[]){ "mapper", "-q", "--labels", labels, "-o", temp_path("g.json"),
                                                 points, NULL },
                               &out, &err);
        cr_assert_eq(status, 2, "label %lld: status %d: %s", (long long)bad[i], status, err);
        cr_assert(strstr(err, labels) && strstr(err, "label") && strstr(err, "row 7"), "%s", err);
    }
    nerve_mat_free(&x);
}

Test(mapper_hostile, the_library_refuses_them_too)
{
    nerve_mat x;
    circle(&x);
    int64_t labels[N] = { 0 };
    labels[3] = (int64_t)1 << 62;
    cr_assert_eq(build_with_labels(&x, labels, 0), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "label"), "%s", nerve_error());
    labels[3] = 1;
    cr_assert_eq(build_with_labels(&x, labels, 1 << 30), NERVE_EINPUT);
    cr_assert(strstr(nerve_error(), "classes"), "%s", nerve_error());
    /* The largest class allowed still makes a graph. */
    labels[3] = NERVE_MAPPER_MAX_CLASSES - 1;
    cr_assert_eq(build_with_labels(&x, labels, 0), 0, "%s", nerve_error());
    nerve_mat_free(&x);
}

Test(mapper_hostile, a_label_file_of_another_length_is_named)
{
    nerve_mat x;
    const char *points = circle(&x);
    nerve_array a;
    int64_t n = N - 1;
    cr_assert_eq(nerve_array_alloc(&a, NERVE_I64, 1, &n), 0);
    memset(a.data, 0, (size_t)n * sizeof(int64_t));
    const char *labels = own_temp_path("short.npy");
    cr_assert_eq(nerve_npy_write(labels, &a), 0);
    nerve_array_free(&a);
    const char *out, *err;
    cr_assert_eq(run_nerve((const char *[]){ "mapper", "-q", "--labels", labels, "-o", temp_path("g.json"), points,
                                             NULL },
                           &out, &err),
                 2, "%s", err);
    cr_assert(strstr(err, labels) && strstr(err, "59 values"), "%s", err);
    nerve_mat_free(&x);
}
