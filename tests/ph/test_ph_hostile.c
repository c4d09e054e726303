/*
 * test_ph_hostile.c — diagram files shaped to hurt (issue 15, row 8): more
 * dimensions than nerve computes, pairs that are not pairs. The reader
 * refuses them with a message naming the file; ph-distance exits 2. And
 * allocation failures in the middle of a computation.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve/ph.h"
#include "../nn/alloc_fail.h"
#include "../support/support.h"

/* {"diagrams": [{"pairs": [[0, 1]]}, ... dims times]} */
static void write_dims(const char *path, int dims)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "{\"diagrams\": [");
    for (int d = 0; d < dims; d++)
        fprintf(f, "%s{\"dim\": %d, \"pairs\": [[0, 1], [0.5, null]]}", d ? ", " : "", d);
    fprintf(f, "]}\n");
    fclose(f);
}

static void assert_refused(const char *path, const char *says)
{
    nerve_diagram g[NERVE_PH_MAX_DIM + 1];
    int n = -1;
    cr_assert_eq(nerve_ph_read_diagrams(g, &n, path), NERVE_EINPUT, "%s", path);
    cr_assert_eq(n, 0);
    cr_assert(strstr(nerve_error(), path), "%s", nerve_error());
    cr_assert(strstr(nerve_error(), says), "%s", nerve_error());
    const char *out, *err;
    const char *args[] = { "ph-distance", path, path, NULL };
    cr_assert_eq(run_nerve(args, &out, &err), 2, "%s", err);
    cr_assert(strstr(err, path) && strstr(err, says), "%s", err);
}

Test(ph_hostile, too_many_dimensions_are_refused_not_overrun)
{
    /* temp_path's buffers are reused, run_nerve's among them: copies. */
    char five[4200], many[4200];
    snprintf(five, sizeof five, "%s", temp_path("five.json"));
    snprintf(many, sizeof many, "%s", temp_path("many.json"));
    write_dims(five, 5);
    write_dims(many, 5000);
    assert_refused(five, "5 dimensions");
    assert_refused(many, "5000 dimensions");
}

Test(ph_hostile, pairs_that_are_not_pairs_are_refused)
{
    char p[4200];
    snprintf(p, sizeof p, "%s", temp_path("bad.json"));
    write_literal(p, "{\"diagrams\": [{\"pairs\": [[0, 1]]}, {\"pairs\": [[0, 1, 2]]}]}");
    assert_refused(p, "dimension 1, point 0");
    write_literal(p, "{\"diagrams\": [{\"pairs\": [0, 1]}]}");
    assert_refused(p, "point 0");
    write_literal(p, "{\"diagrams\": [{\"pairs\": 3}]}");
    assert_refused(p, "no list of pairs");
    write_literal(p, "{\"diagrams\": [{\"pairs\": [[2, 1]]}]}");
    assert_refused(p, "before it is born");
}

Test(ph_hostile, every_dimension_nerve_computes_is_read)
{
    const char *p = temp_path("four.json");
    write_dims(p, NERVE_PH_MAX_DIM + 1);
    nerve_diagram g[NERVE_PH_MAX_DIM + 1];
    int n = 0;
    cr_assert_eq(nerve_ph_read_diagrams(g, &n, p), 0, "%s", nerve_error());
    cr_assert_eq(n, NERVE_PH_MAX_DIM + 1);
    cr_assert_eq(g[3].n, 2);
    cr_assert_eq(g[3].birth[1], 0.5);
    cr_assert(g[3].death[1] > 1e300);
    nerve_ph_diagrams_free(g, n);
}

/* Out of memory in the middle of the reduction (issue 15 point 5): when the
 * second of reduction_add's two reallocs failed, the first's block was
 * freed twice (rips.c reduce_dimension, allocation 31 of this command).
 * Every allocation failed in turn must be a clean error. Needs
 * nerve-failalloc beside $NERVE_BIN; skipped without. */
Test(ph_hostile, every_failed_allocation_of_ph_is_a_clean_error, .timeout = 600)
{
    const char *args[] = { "ph", "-q", "-o", temp_path("d.json"), fixture("ph/circle.npy"), NULL };
    int n = each_allocation_fails_cleanly(args);
    if (n < 0)
        cr_skip_test("nerve-failalloc is not built beside $NERVE_BIN");
    cr_expect_gt(n, 30, "only %d allocations: the sweep did not reach the reduction", n);
}
