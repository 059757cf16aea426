/*
 * kernels/gemm/f32-gemm-6x32-avx512.c: kern_f32_gemm_ukernel_6x32__avx512
 * (AVX-512; contract in kernels/gemm.h).
 *
 * The AVX2 6 x 16 tile at twice the width: 6 rows x 32 columns = 12 zmm
 * accumulators, and each step of k is 2 loads of B (one 128-byte row of the
 * packed panel), 6 broadcasts of A and 12 FMAs. With the operands in L1
 * this step runs at the zmm FMA peak (the same shape as the convolution's
 * 6 x 32 tile, kernels/README.md). The k loop is GCC inline asm, unrolled
 * by 4, with 16 zmm registers fixed (12 accumulators, 2 halves of the B
 * row, 2 alternating broadcasts) and immediate offsets, as in the AVX2
 * kernel: written with intrinsics, gcc moved the accumulators through the
 * stack around the loop and rotated them between registers inside it
 * (1024^3 and 2048^3 on one thread +0-2%, in-process A/B). A (packed,
 * MR = 6) is prefetched 16 steps ahead, every line of it. Column edges are
 * stored through lane masks; rows past mr are computed (the driver zeroes
 * them) and not stored.
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

/* Step p of k in the asm loop: row p of the packed B panel (128 bytes) in
 * two zmm loads, then per row of A a broadcast of column p (two registers
 * alternate) and two FMAs. Offsets are immediates. */
#define ASM_STEP(p)                                                         \
    "vmovups " #p "*128(%[b]), %[vb0]\n\t"                                  \
    "vmovups " #p "*128+64(%[b]), %[vb1]\n\t"                               \
    "vbroadcastss " #p "*24(%[a]), %[va0]\n\t"                              \
    "vfmadd231ps %[vb0], %[va0], %[c00]\n\t"                                \
    "vfmadd231ps %[vb1], %[va0], %[c01]\n\t"                                \
    "vbroadcastss " #p "*24+4(%[a]), %[va1]\n\t"                            \
    "vfmadd231ps %[vb0], %[va1], %[c10]\n\t"                                \
    "vfmadd231ps %[vb1], %[va1], %[c11]\n\t"                                \
    "vbroadcastss " #p "*24+8(%[a]), %[va0]\n\t"                            \
    "vfmadd231ps %[vb0], %[va0], %[c20]\n\t"                                \
    "vfmadd231ps %[vb1], %[va0], %[c21]\n\t"                                \
    "vbroadcastss " #p "*24+12(%[a]), %[va1]\n\t"                           \
    "vfmadd231ps %[vb0], %[va1], %[c30]\n\t"                                \
    "vfmadd231ps %[vb1], %[va1], %[c31]\n\t"                                \
    "vbroadcastss " #p "*24+16(%[a]), %[va0]\n\t"                           \
    "vfmadd231ps %[vb0], %[va0], %[c40]\n\t"                                \
    "vfmadd231ps %[vb1], %[va0], %[c41]\n\t"                                \
    "vbroadcastss " #p "*24+20(%[a]), %[va1]\n\t"                           \
    "vfmadd231ps %[vb0], %[va1], %[c50]\n\t"                                \
    "vfmadd231ps %[vb1], %[va1], %[c51]\n\t"

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

    __m512 acc0[6], acc1[6], vb0, vb1, va0, va1;
    size_t k4 = kc / 4, k1 = kc % 4;
    __asm__ volatile(
        "vxorps %[c00], %[c00], %[c00]\n\t"
        "vxorps %[c01], %[c01], %[c01]\n\t"
        "vxorps %[c10], %[c10], %[c10]\n\t"
        "vxorps %[c11], %[c11], %[c11]\n\t"
        "vxorps %[c20], %[c20], %[c20]\n\t"
        "vxorps %[c21], %[c21], %[c21]\n\t"
        "vxorps %[c30], %[c30], %[c30]\n\t"
        "vxorps %[c31], %[c31], %[c31]\n\t"
        "vxorps %[c40], %[c40], %[c40]\n\t"
        "vxorps %[c41], %[c41], %[c41]\n\t"
        "vxorps %[c50], %[c50], %[c50]\n\t"
        "vxorps %[c51], %[c51], %[c51]\n\t"
        "test %[k4], %[k4]\n\t"
        "jz 2f\n\t"
        ".p2align 5\n"
        "1:\n\t"
        "prefetcht0 384(%[a])\n\t"
        "prefetcht0 384+64(%[a])\n\t"
        ASM_STEP(0) ASM_STEP(1) ASM_STEP(2) ASM_STEP(3)
        "add $96, %[a]\n\t"
        "add $512, %[b]\n\t"
        "dec %[k4]\n\t"
        "jnz 1b\n"
        "2:\n\t"
        "test %[k1], %[k1]\n\t"
        "jz 4f\n"
        "3:\n\t"
        ASM_STEP(0)
        "add $24, %[a]\n\t"
        "add $128, %[b]\n\t"
        "dec %[k1]\n\t"
        "jnz 3b\n"
        "4:\n\t"
        : [c00] "=&v"(acc0[0]), [c01] "=&v"(acc1[0]),
          [c10] "=&v"(acc0[1]), [c11] "=&v"(acc1[1]),
          [c20] "=&v"(acc0[2]), [c21] "=&v"(acc1[2]),
          [c30] "=&v"(acc0[3]), [c31] "=&v"(acc1[3]),
          [c40] "=&v"(acc0[4]), [c41] "=&v"(acc1[4]),
          [c50] "=&v"(acc0[5]), [c51] "=&v"(acc1[5]),
          [vb0] "=&v"(vb0), [vb1] "=&v"(vb1), [va0] "=&v"(va0),
          [va1] "=&v"(va1), [a] "+r"(a), [b] "+r"(b), [k4] "+r"(k4),
          [k1] "+r"(k1)
        :
        : "cc", "memory");
    (void)vb0, (void)vb1, (void)va0, (void)va1;

    const __m512 valpha = _mm512_set1_ps(alpha);
    for (size_t r = 0; r < mr; r++)
        store_row(c + r * ldc, nr, acc0[r], acc1[r], valpha, beta);
}
