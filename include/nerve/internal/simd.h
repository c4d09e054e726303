/*
 * nerve/internal/simd.h — the marker for a hot vectorised loop's function:
 * compiled twice, for AVX2 and for the baseline x86-64, the CPU choosing
 * at load time (GCC's target_clones). Elsewhere, and under clang (which
 * refuses target_clones together with noinline), it changes nothing.
 *
 * Not part of the public API.
 */
#ifndef NERVE_INTERNAL_SIMD_H
#define NERVE_INTERNAL_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NERVE_SIMD_CLONES __attribute__((target_clones("avx2", "default"), noinline))
#else
#define NERVE_SIMD_CLONES
#endif

#endif
