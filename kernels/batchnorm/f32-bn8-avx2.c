/*
 * kernels/batchnorm/f32-bn8-avx2.c: batch-norm microkernels on one block of
 * 8 channels, AVX2 + FMA: the 8 channels are the 8 lanes of a ymm register
 * (contracts in kernels/layers/layers-internal.h). Sums run in float over
 * runs of BN_RUN pixels (two accumulators each) and in double across runs.
 */
#include <immintrin.h>

#include "kernels/layers/layers-internal.h"

#define BN_RUN 128

/* acc[0..3] += low 4 lanes of v in double, acc[4..7] += high 4 lanes. */
static inline void add_to_f64(__m256d *acc, __m256 v)
{
    __m128 vlo = _mm256_castps256_ps128(v), vhi = _mm256_extractf128_ps(v, 1);
    acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(vlo));
    acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(vhi));
}

static inline void store_sums(double *sums, const __m256d *s1,
                              const __m256d *s2)
{
    _mm256_storeu_pd(sums, _mm256_add_pd(_mm256_loadu_pd(sums), s1[0]));
    _mm256_storeu_pd(sums + 4, _mm256_add_pd(_mm256_loadu_pd(sums + 4), s1[1]));
    _mm256_storeu_pd(sums + 8, _mm256_add_pd(_mm256_loadu_pd(sums + 8), s2[0]));
    _mm256_storeu_pd(sums + 12,
                     _mm256_add_pd(_mm256_loadu_pd(sums + 12), s2[1]));
}

void kern_f32_bn8_stats__avx2(size_t n, size_t hw, size_t stride,
                              const float *inp, const float *shift,
                              double *sums)
{
    const __m256 vshift = _mm256_loadu_ps(shift);
    __m256d s1[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
    __m256d s2[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
    for (size_t b = 0; b < n; b++) {
        const float *x = inp + b * stride;
        for (size_t p0 = 0; p0 < hw; p0 += BN_RUN) {
            size_t p = p0, p1 = KERN_MIN(hw, p0 + BN_RUN);
            __m256 va0 = _mm256_setzero_ps(), va1 = _mm256_setzero_ps();
            __m256 vq0 = _mm256_setzero_ps(), vq1 = _mm256_setzero_ps();
            for (; p + 2 <= p1; p += 2) {
                __m256 vd0 = _mm256_sub_ps(_mm256_loadu_ps(x + p * 8), vshift);
                __m256 vd1 =
                    _mm256_sub_ps(_mm256_loadu_ps(x + p * 8 + 8), vshift);
                va0 = _mm256_add_ps(va0, vd0);
                va1 = _mm256_add_ps(va1, vd1);
                vq0 = _mm256_fmadd_ps(vd0, vd0, vq0);
                vq1 = _mm256_fmadd_ps(vd1, vd1, vq1);
            }
            if (p < p1) {
                __m256 vd0 = _mm256_sub_ps(_mm256_loadu_ps(x + p * 8), vshift);
                va0 = _mm256_add_ps(va0, vd0);
                vq0 = _mm256_fmadd_ps(vd0, vd0, vq0);
            }
            add_to_f64(s1, _mm256_add_ps(va0, va1));
            add_to_f64(s2, _mm256_add_ps(vq0, vq1));
        }
    }
    store_sums(sums, s1, s2);
}

void kern_f32_bn8_apply__avx2(size_t n, size_t hw, size_t stride,
                              float *out, const float *inp,
                              const float *mean, const float *scale,
                              const float *beta, bool relu)
{
    const __m256 vmean = _mm256_loadu_ps(mean);
    const __m256 vscale = _mm256_loadu_ps(scale);
    const __m256 vbeta = _mm256_loadu_ps(beta);
    /* max(0, y) returns y when y is NaN, as the reference does */
    const __m256 vlo = relu ? _mm256_setzero_ps()
                            : _mm256_set1_ps(-__builtin_inff());
    for (size_t b = 0; b < n; b++) {
        const float *x = inp + b * stride;
        float *y = out + b * stride;
        size_t p = 0;
        for (; p + 2 <= hw; p += 2) {
            __m256 vx0 = _mm256_loadu_ps(x + p * 8);
            __m256 vx1 = _mm256_loadu_ps(x + p * 8 + 8);
            __m256 vy0 = _mm256_fmadd_ps(_mm256_sub_ps(vx0, vmean), vscale,
                                         vbeta);
            __m256 vy1 = _mm256_fmadd_ps(_mm256_sub_ps(vx1, vmean), vscale,
                                         vbeta);
            _mm256_storeu_ps(y + p * 8, _mm256_max_ps(vlo, vy0));
            _mm256_storeu_ps(y + p * 8 + 8, _mm256_max_ps(vlo, vy1));
        }
        if (p < hw) {
            __m256 vx0 = _mm256_loadu_ps(x + p * 8);
            __m256 vy0 = _mm256_fmadd_ps(_mm256_sub_ps(vx0, vmean), vscale,
                                         vbeta);
            _mm256_storeu_ps(y + p * 8, _mm256_max_ps(vlo, vy0));
        }
    }
}

/* dout masked by out > 0, or dout itself when there is no fused ReLU. */
static inline __m256 masked(const float *dout, const float *out, size_t i)
{
    __m256 vg = _mm256_loadu_ps(dout + i);
    if (!out)
        return vg;
    __m256 vpos = _mm256_cmp_ps(_mm256_loadu_ps(out + i),
                                _mm256_setzero_ps(), _CMP_GT_OQ);
    return _mm256_and_ps(vg, vpos);
}

void kern_f32_bn8_bwd_reduce__avx2(size_t n, size_t hw, size_t stride,
                                   const float *dout, const float *inp,
                                   const float *out, const float *mean,
                                   double *sums)
{
    const __m256 vmean = _mm256_loadu_ps(mean);
    __m256d s1[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
    __m256d s2[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
    for (size_t b = 0; b < n; b++) {
        size_t o = b * stride;
        for (size_t p0 = 0; p0 < hw; p0 += BN_RUN) {
            size_t p = p0, p1 = KERN_MIN(hw, p0 + BN_RUN);
            __m256 va0 = _mm256_setzero_ps(), va1 = _mm256_setzero_ps();
            __m256 vq0 = _mm256_setzero_ps(), vq1 = _mm256_setzero_ps();
            for (; p + 2 <= p1; p += 2) {
                size_t i = o + p * 8;
                __m256 vg0 = masked(dout, out, i);
                __m256 vg1 = masked(dout, out, i + 8);
                __m256 vd0 = _mm256_sub_ps(_mm256_loadu_ps(inp + i), vmean);
                __m256 vd1 =
                    _mm256_sub_ps(_mm256_loadu_ps(inp + i + 8), vmean);
                va0 = _mm256_add_ps(va0, vg0);
                va1 = _mm256_add_ps(va1, vg1);
                vq0 = _mm256_fmadd_ps(vg0, vd0, vq0);
                vq1 = _mm256_fmadd_ps(vg1, vd1, vq1);
            }
            if (p < p1) {
                size_t i = o + p * 8;
                __m256 vg0 = masked(dout, out, i);
                __m256 vd0 = _mm256_sub_ps(_mm256_loadu_ps(inp + i), vmean);
                va0 = _mm256_add_ps(va0, vg0);
                vq0 = _mm256_fmadd_ps(vg0, vd0, vq0);
            }
            add_to_f64(s1, _mm256_add_ps(va0, va1));
            add_to_f64(s2, _mm256_add_ps(vq0, vq1));
        }
    }
    store_sums(sums, s1, s2);
}

void kern_f32_bn8_bwd_apply__avx2(size_t n, size_t hw, size_t stride,
                                  float *dinp, const float *dout,
                                  const float *inp, const float *out,
                                  const float *mean, const float *a,
                                  const float *b, const float *k)
{
    const __m256 vmean = _mm256_loadu_ps(mean), va = _mm256_loadu_ps(a);
    const __m256 vb = _mm256_loadu_ps(b), vk = _mm256_loadu_ps(k);
    for (size_t bi = 0; bi < n; bi++) {
        size_t o = bi * stride;
        for (size_t p = 0; p < hw; p++) {
            size_t i = o + p * 8;
            __m256 vg = _mm256_sub_ps(masked(dout, out, i), vb);
            __m256 vd = _mm256_sub_ps(_mm256_loadu_ps(inp + i), vmean);
            _mm256_storeu_ps(dinp + i,
                             _mm256_mul_ps(va, _mm256_fnmadd_ps(vd, vk, vg)));
        }
    }
}
