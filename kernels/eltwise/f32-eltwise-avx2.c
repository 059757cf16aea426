/*
 * kernels/eltwise/f32-eltwise-avx2.c: elementwise microkernels, AVX2, two
 * vectors per iteration and a scalar tail (contracts in kernels/layers.h;
 * outputs may alias inputs: every element is loaded before it is stored).
 */
#include <immintrin.h>

#include "kernels/layers/layers-internal.h"

void kern_f32_relu__avx2(size_t len, float *out, const float *inp)
{
    const __m256 vzero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        /* max(x, 0) returns 0 for NaN and -0: the reference's x > 0 ? x : 0 */
        __m256 v0 = _mm256_max_ps(_mm256_loadu_ps(inp + i), vzero);
        __m256 v1 = _mm256_max_ps(_mm256_loadu_ps(inp + i + 8), vzero);
        _mm256_storeu_ps(out + i, v0);
        _mm256_storeu_ps(out + i + 8, v1);
    }
    for (; i < len; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void kern_f32_relu_bwd__avx2(size_t len, float *dinp, const float *dout,
                             const float *out)
{
    const __m256 vzero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        __m256 vm0 = _mm256_cmp_ps(_mm256_loadu_ps(out + i), vzero,
                                   _CMP_GT_OQ);
        __m256 vm1 = _mm256_cmp_ps(_mm256_loadu_ps(out + i + 8), vzero,
                                   _CMP_GT_OQ);
        __m256 v0 = _mm256_and_ps(vm0, _mm256_loadu_ps(dout + i));
        __m256 v1 = _mm256_and_ps(vm1, _mm256_loadu_ps(dout + i + 8));
        _mm256_storeu_ps(dinp + i, v0);
        _mm256_storeu_ps(dinp + i + 8, v1);
    }
    for (; i < len; i++)
        dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void kern_f32_add_relu__avx2(size_t len, float *out, const float *a,
                             const float *b)
{
    const __m256 vzero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        __m256 v0 = _mm256_add_ps(_mm256_loadu_ps(a + i),
                                  _mm256_loadu_ps(b + i));
        __m256 v1 = _mm256_add_ps(_mm256_loadu_ps(a + i + 8),
                                  _mm256_loadu_ps(b + i + 8));
        _mm256_storeu_ps(out + i, _mm256_max_ps(v0, vzero));
        _mm256_storeu_ps(out + i + 8, _mm256_max_ps(v1, vzero));
    }
    for (; i < len; i++) {
        float s = a[i] + b[i];
        out[i] = s > 0.0f ? s : 0.0f;
    }
}

void kern_f32_add_relu_bwd__avx2(size_t len, float *da, float *db_acc,
                                 const float *dout, const float *out)
{
    const __m256 vzero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        __m256 vm = _mm256_cmp_ps(_mm256_loadu_ps(out + i), vzero,
                                  _CMP_GT_OQ);
        __m256 vg = _mm256_and_ps(vm, _mm256_loadu_ps(dout + i));
        if (db_acc)
            _mm256_storeu_ps(db_acc + i,
                             _mm256_add_ps(_mm256_loadu_ps(db_acc + i), vg));
        _mm256_storeu_ps(da + i, vg);
    }
    for (; i < len; i++) {
        float g = out[i] > 0.0f ? dout[i] : 0.0f;
        if (db_acc)
            db_acc[i] += g;
        da[i] = g;
    }
}

void kern_f32_add__avx2(size_t len, float *out, const float *a,
                        const float *b)
{
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        __m256 v0 = _mm256_add_ps(_mm256_loadu_ps(a + i),
                                  _mm256_loadu_ps(b + i));
        __m256 v1 = _mm256_add_ps(_mm256_loadu_ps(a + i + 8),
                                  _mm256_loadu_ps(b + i + 8));
        _mm256_storeu_ps(out + i, v0);
        _mm256_storeu_ps(out + i + 8, v1);
    }
    for (; i < len; i++)
        out[i] = a[i] + b[i];
}

void kern_f32_fill__avx2(size_t len, float *out, float value)
{
    const __m256 v = _mm256_set1_ps(value);
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        _mm256_storeu_ps(out + i, v);
        _mm256_storeu_ps(out + i + 8, v);
    }
    for (; i < len; i++)
        out[i] = value;
}
