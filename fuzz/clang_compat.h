/*
 * clang_compat.h — forced into every file of the fuzz build (-include).
 * core.h asks GCC for target_clones together with noinline, a pair clang 14
 * rejects ("multiversioning cannot be combined with noinline"); the fuzz
 * build needs no AVX2 clone, so the marker is emptied here.
 * TODO: drop this file once core.h leaves NERVE_SIMD_CLONES empty for clang.
 */
#include "nerve/core.h"
#undef NERVE_SIMD_CLONES
#define NERVE_SIMD_CLONES
