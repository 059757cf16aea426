/*
 * kernels/maxpool/f32-maxpool-avx2.c: max-pool 3x3/2/1 on one NCHW8c plane,
 * AVX2: one output pixel (8 channels) is one register. Windows inside the
 * image take nine unrolled loads; those on the edges are clamped to the
 * image (= -inf padding). Backward walks each window in scan order
 * with a per-lane "not yet found" mask, so the first maximum takes the
 * gradient, in the same order of additions as the reference.
 */
#include <immintrin.h>

#include "kernels/layers/layers-internal.h"

/* Max of the full 3x3 window whose top-left input pixel is x; rows are
 * `row` floats apart. Nine loads, no bounds. */
static inline __m256 window_max(const float *x, size_t row)
{
    __m256 v0 = _mm256_max_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8));
    __m256 v1 = _mm256_max_ps(_mm256_loadu_ps(x + row),
                              _mm256_loadu_ps(x + row + 8));
    __m256 v2 = _mm256_max_ps(_mm256_loadu_ps(x + 2 * row),
                              _mm256_loadu_ps(x + 2 * row + 8));
    v0 = _mm256_max_ps(v0, _mm256_loadu_ps(x + 16));
    v1 = _mm256_max_ps(v1, _mm256_loadu_ps(x + row + 16));
    v2 = _mm256_max_ps(v2, _mm256_loadu_ps(x + 2 * row + 16));
    return _mm256_max_ps(_mm256_max_ps(v0, v1), v2);
}

/* The window of output (oy, ox) clamped to the image (= -inf padding). */
static inline __m256 clamped_max(size_t h, size_t w, const float *inp,
                                 size_t oy, size_t ox)
{
    size_t y0 = oy ? 2 * oy - 1 : 0, y1 = KERN_MIN(h, 2 * oy + 2);
    size_t x0 = ox ? 2 * ox - 1 : 0, x1 = KERN_MIN(w, 2 * ox + 2);
    __m256 vmax = _mm256_set1_ps(-__builtin_inff());
    for (size_t iy = y0; iy < y1; iy++)
        for (size_t ix = x0; ix < x1; ix++)
            vmax = _mm256_max_ps(vmax,
                                 _mm256_loadu_ps(inp + (iy * w + ix) * 8));
    return vmax;
}

void kern_f32_maxpool_fwd__avx2(size_t h, size_t w, float *out,
                                const float *inp)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    /* columns 1 <= ox < wfull have all three window columns inside */
    size_t wfull = w >= 2 ? (w - 2) / 2 + 1 : 1;
    for (size_t oy = 0; oy < ho; oy++) {
        float *y = out + oy * wo * 8;
        size_t ox = 0;
        if (oy >= 1 && 2 * oy + 1 < h) {
            const float *x = inp + (2 * oy - 1) * w * 8;
            _mm256_storeu_ps(y, clamped_max(h, w, inp, oy, 0));
            for (ox = 1; ox < wfull; ox++)
                _mm256_storeu_ps(y + ox * 8,
                                 window_max(x + (2 * ox - 1) * 8, w * 8));
        }
        for (; ox < wo; ox++)
            _mm256_storeu_ps(y + ox * 8, clamped_max(h, w, inp, oy, ox));
    }
}

/* Adds vdy, lane by lane, to the first pixel equal to vy of the ny x nx
 * window at x (rows `row` floats apart), scanning it in order. */
static inline void window_bwd(float *dx, const float *x, size_t row,
                              size_t ny, size_t nx, __m256 vy, __m256 vdy)
{
    __m256 vtodo = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (size_t ky = 0; ky < ny; ky++)
        for (size_t kx = 0; kx < nx; kx++) {
            size_t i = ky * row + kx * 8;
            __m256 veq = _mm256_and_ps(
                vtodo, _mm256_cmp_ps(_mm256_loadu_ps(x + i), vy, _CMP_EQ_OQ));
            __m256 vdx = _mm256_loadu_ps(dx + i);
            _mm256_storeu_ps(dx + i,
                             _mm256_add_ps(vdx, _mm256_and_ps(veq, vdy)));
            vtodo = _mm256_andnot_ps(veq, vtodo);
        }
}

void kern_f32_maxpool_bwd__avx2(size_t h, size_t w, float *dinp,
                                const float *dout, const float *inp,
                                const float *out)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    size_t wfull = w >= 2 ? (w - 2) / 2 + 1 : 1;
    const __m256 vzero = _mm256_setzero_ps();
    for (size_t i = 0; i < h * w; i++)
        _mm256_storeu_ps(dinp + i * 8, vzero);
    for (size_t oy = 0; oy < ho; oy++) {
        size_t y0 = oy ? 2 * oy - 1 : 0, y1 = KERN_MIN(h, 2 * oy + 2);
        bool rows_full = oy >= 1 && 2 * oy + 1 < h;
        for (size_t ox = 0; ox < wo; ox++) {
            size_t x0 = ox ? 2 * ox - 1 : 0, x1 = KERN_MIN(w, 2 * ox + 2);
            size_t o = (oy * wo + ox) * 8, i = (y0 * w + x0) * 8;
            __m256 vy = _mm256_loadu_ps(out + o);
            __m256 vdy = _mm256_loadu_ps(dout + o);
            /* constant trip counts let the compiler unroll the inner case */
            if (rows_full && ox >= 1 && ox < wfull)
                window_bwd(dinp + i, inp + i, w * 8, 3, 3, vy, vdy);
            else
                window_bwd(dinp + i, inp + i, w * 8, y1 - y0, x1 - x0, vy,
                           vdy);
        }
    }
}
