/*
 * kernels/gemm/f32-gemm-6x32-avx512.c: kern_f32_gemm_ukernel_6x32__avx512
 * (AVX-512; contract in kernels/gemm.h).
 *
 * The AVX2 6 x 16 tile at twice the width: 6 rows x 32 columns = 12 zmm
 * accumulators, and each step of k is 2 loads of B (one 128-byte row of the
 * packed panel), 6 broadcasts of A and 12 FMAs; 15 of the 32 zmm registers,
 * so gcc keeps the loop, unrolled by 4, free of spills with intrinsics.
 * With the operands in L1 this step runs at the zmm FMA peak (the same
 * shape as the convolution's 6 x 32 tile, kernels/README.md). A (packed,
 * MR = 6) is prefetched about 16 steps ahead. Column edges are stored
 * through lane masks; rows past mr are computed (the driver zeroes them)
 * and not stored.
 */
#include <immintrin.h>

#include "kernels/gemm.h"

#define INLINE static inline __attribute__((always_inline))

/* c[0:nr] = alpha * (lo, hi)[0:nr] + beta * c[0:nr]; beta == 0 does not
 * read c. */
INLINE void store_row(float *c, size_t nr, __m512 lo, __m512 hi,
                      __m512 valpha, float beta)
{
    __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32   ? 0xffff
                   : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1)
                             : 0;
    lo = _mm512_mul_ps(lo, valpha);
    hi = _mm512_mul_ps(hi, valpha);
    if (beta != 0.0f) {
        __m512 vbeta = _mm512_set1_ps(beta);
        lo = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m0, c), lo);
        hi = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m1, c + 16), hi);
    }
    _mm512_mask_storeu_ps(c, m0, lo);
    _mm512_mask_storeu_ps(c + 16, m1, hi);
}

#define STEP(p)                                                             \
    do {                                                                    \
        const __m512 vb0 = _mm512_loadu_ps(b + (p) * 32);                   \
        const __m512 vb1 = _mm512_loadu_ps(b + (p) * 32 + 16);              \
        _Pragma("GCC unroll 6") for (int r = 0; r < 6; r++)                 \
        {                                                                   \
            const __m512 va = _mm512_set1_ps(a[(p) * 6 + r]);               \
            acc0[r] = _mm512_fmadd_ps(va, vb0, acc0[r]);                    \
            acc1[r] = _mm512_fmadd_ps(va, vb1, acc1[r]);                    \
        }                                                                   \
    } while (0)

void kern_f32_gemm_ukernel_6x32__avx512(size_t mr, size_t nr, size_t kc,
                                        const float *restrict a,
                                        const float *restrict b,
                                        float *restrict c, size_t ldc,
                                        float alpha, float beta)
{
    KERN_ASSERT(mr >= 1 && mr <= 6);
    KERN_ASSERT(nr >= 1 && nr <= 32);
    KERN_ASSERT(kc >= 1);

    /* The C tile, fetched while the k loop runs (straight-line code: gcc
     * deletes a loop of prefetches as free of side effects). */
    _mm_prefetch((const char *)c, _MM_HINT_T0);
    _mm_prefetch((const char *)(c + 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + ldc + 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + 2 * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + 2 * ldc + 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + 3 * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + 3 * ldc + 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + 4 * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + 4 * ldc + 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + 5 * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + 5 * ldc + 16), _MM_HINT_T0);

    __m512 acc0[6], acc1[6];
    for (int r = 0; r < 6; r++)
        acc0[r] = acc1[r] = _mm512_setzero_ps();
    size_t k = kc;
    for (; k >= 4; k -= 4, a += 24, b += 128) {
        _mm_prefetch((const char *)(a + 96), _MM_HINT_T0);
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
    }
    for (; k > 0; k--, a += 6, b += 32)
        STEP(0);

    const __m512 valpha = _mm512_set1_ps(alpha);
    for (size_t r = 0; r < mr; r++)
        store_row(c + r * ldc, nr, acc0[r], acc1[r], valpha, beta);
}
