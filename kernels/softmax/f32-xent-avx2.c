/*
 * kernels/softmax/f32-xent-avx2.c: one row of softmax cross-entropy, AVX2,
 * with SLEEF's 1-ulp vector exp and log (prototypes declared here: the
 * kernels include no library headers). The row tail uses masked loads and
 * stores (no access past the row); masked lanes are forced to -inf (max) or
 * 0 (sums) before use.
 */
#include <immintrin.h>

#include "kernels/layers/layers-internal.h"

__m256 Sleef_expf8_u10avx2(__m256 x);
__m256 Sleef_logf8_u10avx2(__m256 x);

static inline __m256i tail_mask(size_t left)
{
    const __m256i vidx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)KERN_MIN(left, 8)),
                              vidx);
}

static inline float hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v),
                          _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
                          _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

float kern_f32_xent_row__avx2(size_t c, float *probs, float *dlogits,
                              const float *logits, int32_t label,
                              float inv_n)
{
    const __m256 vninf = _mm256_set1_ps(-__builtin_inff());
    __m256 vmax = vninf;
    for (size_t j = 0; j < c; j += 8) {
        __m256i vm = tail_mask(c - j);
        __m256 vx = _mm256_maskload_ps(logits + j, vm);
        __m256 vlive = _mm256_castsi256_ps(vm);
        vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(vninf, vx, vlive));
    }
    const float mx = hmax(vmax);
    const __m256 vmx = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    for (size_t j = 0; j < c; j += 8) {
        __m256i vm = tail_mask(c - j);
        __m256 vx = _mm256_maskload_ps(logits + j, vm);
        __m256 ve = Sleef_expf8_u10avx2(_mm256_sub_ps(vx, vmx));
        vsum = _mm256_add_ps(vsum, _mm256_and_ps(ve, _mm256_castsi256_ps(vm)));
    }
    const float sum = hsum(vsum);
    const __m256 vinv = _mm256_set1_ps(1.0f / sum);
    const __m256 vinvn = _mm256_set1_ps(inv_n);
    const __m256i vlabel = _mm256_set1_epi32(label);
    for (size_t j = 0; j < c && (probs || dlogits); j += 8) {
        __m256i vm = tail_mask(c - j);
        __m256 vx = _mm256_maskload_ps(logits + j, vm);
        __m256 vp = _mm256_mul_ps(Sleef_expf8_u10avx2(_mm256_sub_ps(vx, vmx)),
                                  vinv);
        if (probs)
            _mm256_maskstore_ps(probs + j, vm, vp);
        if (dlogits) {
            __m256i vidx = _mm256_add_epi32(
                _mm256_set1_epi32((int)j),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            __m256 vone = _mm256_and_ps(
                _mm256_castsi256_ps(_mm256_cmpeq_epi32(vidx, vlabel)),
                _mm256_set1_ps(1.0f));
            _mm256_maskstore_ps(dlogits + j, vm,
                                _mm256_mul_ps(_mm256_sub_ps(vp, vone), vinvn));
        }
    }
    if (label < 0)
        return 0.0f;
    float lg = _mm256_cvtss_f32(Sleef_logf8_u10avx2(_mm256_set1_ps(sum)));
    /* in double: mx and the label's logit may be large and nearly equal */
    return (float)((double)mx - (double)logits[label] + (double)lg);
}
