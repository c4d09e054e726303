/*
 * test_model_alloc.c — a load that runs out of memory frees what it made
 * (issue 15 point 5): nerve layers with each allocation failed in turn must
 * end with a clean error and, in the sanitizer build, no leak (copy_graph's
 * name map and copy_node's strings and arrays leaked when a later
 * allocation of the load failed). Needs nerve-failalloc beside $NERVE_BIN
 * (make BUILD=build/san SAN=1 build/san/nerve-failalloc); skipped without.
 */
#include <criterion/criterion.h>

#include "alloc_fail.h"
#include "../support/support.h"

Test(model_alloc, every_failed_allocation_of_a_load_is_a_clean_error, .timeout = 600)
{
    const char *args[] = { "layers", fixture("hostile/nn/small_graph.onnx"), NULL };
    int n = each_allocation_fails_cleanly(args);
    if (n < 0)
        cr_skip_test("nerve-failalloc is not built beside $NERVE_BIN");
    cr_expect_gt(n, 20, "only %d allocations: the sweep did not reach the load", n);
}
