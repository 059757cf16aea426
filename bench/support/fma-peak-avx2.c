/*
 * bench/support/fma-peak-avx2.c: the inner loop of the FMA peak probe.
 *
 * 12 independent accumulator chains of 8-lane FMAs: more chains than FMA
 * latency (4 cycles) times FMA pipes (2) on current x86 cores, so the pipes,
 * not the dependencies, bound the rate. Only called after the CPU was checked
 * for AVX2+FMA (bench.c).
 */
#include <immintrin.h>

#include "bench/support/bench.h"

float bench_fma_chains__avx2(size_t iters)
{
    __m256 v0 = _mm256_set1_ps(0.0f), v1 = _mm256_set1_ps(0.1f);
    __m256 v2 = _mm256_set1_ps(0.2f), v3 = _mm256_set1_ps(0.3f);
    __m256 v4 = _mm256_set1_ps(0.4f), v5 = _mm256_set1_ps(0.5f);
    __m256 v6 = _mm256_set1_ps(0.6f), v7 = _mm256_set1_ps(0.7f);
    __m256 v8 = _mm256_set1_ps(0.8f), v9 = _mm256_set1_ps(0.9f);
    __m256 v10 = _mm256_set1_ps(1.0f), v11 = _mm256_set1_ps(1.1f);
    const __m256 vx = _mm256_set1_ps(0.999999f), vy = _mm256_set1_ps(1e-7f);
    for (size_t i = 0; i < iters; i++) {
        v0 = _mm256_fmadd_ps(v0, vx, vy);
        v1 = _mm256_fmadd_ps(v1, vx, vy);
        v2 = _mm256_fmadd_ps(v2, vx, vy);
        v3 = _mm256_fmadd_ps(v3, vx, vy);
        v4 = _mm256_fmadd_ps(v4, vx, vy);
        v5 = _mm256_fmadd_ps(v5, vx, vy);
        v6 = _mm256_fmadd_ps(v6, vx, vy);
        v7 = _mm256_fmadd_ps(v7, vx, vy);
        v8 = _mm256_fmadd_ps(v8, vx, vy);
        v9 = _mm256_fmadd_ps(v9, vx, vy);
        v10 = _mm256_fmadd_ps(v10, vx, vy);
        v11 = _mm256_fmadd_ps(v11, vx, vy);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(v0, v1),
                                           _mm256_add_ps(v2, v3)),
                             _mm256_add_ps(_mm256_add_ps(v4, v5),
                                           _mm256_add_ps(v6, v7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(v8, v9),
                                       _mm256_add_ps(v10, v11)));
    return _mm256_cvtss_f32(s);
}
