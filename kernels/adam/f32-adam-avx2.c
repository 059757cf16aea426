/*
 * kernels/adam/f32-adam-avx2.c: the Adam microkernel, AVX2 + FMA, one
 * vector of 8 parameters per iteration and a scalar tail.
 */
#include <immintrin.h>

#include "kernels/layers/layers-internal.h"

void kern_f32_adam__avx2(size_t len, float *param, float *exp_avg,
                         float *exp_avg_sq, const float *grad, float decay,
                         float step, float beta1, float beta2, float eps)
{
    const __m256 vb1 = _mm256_set1_ps(beta1), vb2 = _mm256_set1_ps(beta2);
    const __m256 vc1 = _mm256_set1_ps(1.0f - beta1);
    const __m256 vc2 = _mm256_set1_ps(1.0f - beta2);
    const __m256 vdecay = _mm256_set1_ps(decay), vstep = _mm256_set1_ps(step);
    const __m256 veps = _mm256_set1_ps(eps);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        __m256 vg = _mm256_loadu_ps(grad + i);
        __m256 vm = _mm256_fmadd_ps(vb1, _mm256_loadu_ps(exp_avg + i),
                                    _mm256_mul_ps(vc1, vg));
        __m256 vv = _mm256_fmadd_ps(vb2, _mm256_loadu_ps(exp_avg_sq + i),
                                    _mm256_mul_ps(vc2, _mm256_mul_ps(vg, vg)));
        __m256 vden = _mm256_add_ps(_mm256_sqrt_ps(vv), veps);
        __m256 vp = _mm256_mul_ps(_mm256_loadu_ps(param + i), vdecay);
        vp = _mm256_fnmadd_ps(vstep, _mm256_div_ps(vm, vden), vp);
        _mm256_storeu_ps(exp_avg + i, vm);
        _mm256_storeu_ps(exp_avg_sq + i, vv);
        _mm256_storeu_ps(param + i, vp);
    }
    if (i < len)
        kern_f32_adam__scalar(len - i, param + i, exp_avg + i,
                              exp_avg_sq + i, grad + i, decay, step, beta1,
                              beta2, eps);
}
