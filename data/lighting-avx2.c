/*
 * data/lighting-avx2.c: data_lighting__avx2, 8 values per step with SLEEF
 * (1.0-ulp logf/expf); the tail goes through the scalar version.
 */
#include <immintrin.h>

#include "data/lighting.h"

__m256 Sleef_logf8_u10avx2(__m256);
__m256 Sleef_expf8_u10avx2(__m256);

void data_lighting__avx2(float *v, size_t n, float add, float mul)
{
    const __m256 vlo = _mm256_set1_ps(1e-7f), vhi = _mm256_set1_ps(1 - 1e-7f);
    const __m256 vone = _mm256_set1_ps(1.0f), vadd = _mm256_set1_ps(add);
    const __m256 vnegmul = _mm256_set1_ps(-mul);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 vx = _mm256_loadu_ps(v + i);
        vx = _mm256_min_ps(_mm256_max_ps(vx, vlo), vhi);
        __m256 vq = Sleef_logf8_u10avx2(
            _mm256_div_ps(vx, _mm256_sub_ps(vone, vx)));
        /* exp(-(q + add) * mul) */
        __m256 ve = Sleef_expf8_u10avx2(
            _mm256_mul_ps(_mm256_add_ps(vq, vadd), vnegmul));
        _mm256_storeu_ps(v + i, _mm256_div_ps(vone, _mm256_add_ps(vone, ve)));
    }
    if (i < n)
        data_lighting__scalar(v + i, n - i, add, mul);
}
