/*
 * kernels/maxpool/f32-maxpool-avx2.c: max-pool 3x3/2/1 on one NCHW8c plane,
 * AVX2: one output pixel (8 channels) is one register; the window is clamped
 * to the image (= -inf padding). Backward walks each window in scan order
 * with a per-lane "not yet found" mask, so the first maximum takes the
 * gradient, in the same order of additions as the reference.
 */
#include <immintrin.h>

#include "kernels/layers/layers-internal.h"

void kern_f32_maxpool_fwd__avx2(size_t h, size_t w, float *out,
                                const float *inp)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    for (size_t oy = 0; oy < ho; oy++) {
        size_t y0 = oy ? 2 * oy - 1 : 0, y1 = KERN_MIN(h, 2 * oy + 2);
        for (size_t ox = 0; ox < wo; ox++) {
            size_t x0 = ox ? 2 * ox - 1 : 0, x1 = KERN_MIN(w, 2 * ox + 2);
            __m256 vmax = _mm256_set1_ps(-__builtin_inff());
            for (size_t iy = y0; iy < y1; iy++) {
                const float *row = inp + iy * w * 8;
                for (size_t ix = x0; ix < x1; ix++)
                    vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row + ix * 8));
            }
            _mm256_storeu_ps(out + (oy * wo + ox) * 8, vmax);
        }
    }
}

void kern_f32_maxpool_bwd__avx2(size_t h, size_t w, float *dinp,
                                const float *dout, const float *inp,
                                const float *out)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    const __m256 vzero = _mm256_setzero_ps();
    for (size_t i = 0; i < h * w; i++)
        _mm256_storeu_ps(dinp + i * 8, vzero);
    for (size_t oy = 0; oy < ho; oy++) {
        size_t y0 = oy ? 2 * oy - 1 : 0, y1 = KERN_MIN(h, 2 * oy + 2);
        for (size_t ox = 0; ox < wo; ox++) {
            size_t x0 = ox ? 2 * ox - 1 : 0, x1 = KERN_MIN(w, 2 * ox + 2);
            __m256 vy = _mm256_loadu_ps(out + (oy * wo + ox) * 8);
            __m256 vdy = _mm256_loadu_ps(dout + (oy * wo + ox) * 8);
            __m256 vtodo = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
            for (size_t iy = y0; iy < y1; iy++)
                for (size_t ix = x0; ix < x1; ix++) {
                    size_t i = (iy * w + ix) * 8;
                    __m256 veq = _mm256_and_ps(
                        vtodo, _mm256_cmp_ps(_mm256_loadu_ps(inp + i), vy,
                                             _CMP_EQ_OQ));
                    __m256 vdx = _mm256_loadu_ps(dinp + i);
                    vdx = _mm256_add_ps(vdx, _mm256_and_ps(veq, vdy));
                    _mm256_storeu_ps(dinp + i, vdx);
                    vtodo = _mm256_andnot_ps(veq, vtodo);
                }
        }
    }
}
