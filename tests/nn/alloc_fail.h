/*
 * alloc_fail.h — a test's own allocation-failure sweep: runs nerve-failalloc
 * (make BUILD=... SAN=1 <build>/nerve-failalloc; tests/alloc/) with the
 * n-th allocation failed for every n through one small command. Shared by
 * tests/nn and tests/ph; it belongs in tests/support when that room takes
 * it.
 */
#ifndef NERVE_TEST_ALLOC_FAIL_H
#define NERVE_TEST_ALLOC_FAIL_H

/* Runs `nerve-failalloc args...` (found beside $NERVE_BIN) for n = 1, 2, ...
 * until a run makes fewer than n allocations; each run with a failure must
 * end with status 1 or 2 and "nerve: error: ...memory...", no sanitizer
 * report (leaks included) and no signal, the last one with status 0
 * (Criterion expectations). Returns how many n failed an allocation, or -1
 * when the binary was not built (the caller skips). */
int each_allocation_fails_cleanly(const char **args);

#endif
