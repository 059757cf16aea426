/*
 * bench/support/fma-peak-avx512.c: the FMA peak probe's inner loop on zmm
 * registers, for CPUs that run the avx512 kernels: 12 independent chains
 * of 16-lane FMAs (bench.c picks it when the active ISA is avx512).
 */
#include <immintrin.h>

#include "bench/support/bench.h"

float bench_fma_chains__avx512(size_t iters)
{
    __m512 v[12];
    for (int i = 0; i < 12; i++)
        v[i] = _mm512_set1_ps(0.1f * (float)i);
    const __m512 vx = _mm512_set1_ps(0.999999f), vy = _mm512_set1_ps(1e-7f);
    for (size_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
        for (int j = 0; j < 12; j++)
            v[j] = _mm512_fmadd_ps(v[j], vx, vy);
    }
    __m512 s = v[0];
    for (int i = 1; i < 12; i++)
        s = _mm512_add_ps(s, v[i]);
    return _mm512_reduce_add_ps(s);
}
