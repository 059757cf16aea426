/*
 * kernels/gemm/f32-gemm-6x16-avx2.c: kern_f32_gemm_ukernel_6x16__avx2 and
 * kern_f32_gemm_ukernel_6x16_sa__avx2 (AVX2 + FMA; contracts in
 * kernels/gemm.h).
 *
 * 6 rows x 16 columns = 12 ymm accumulators, plus 2 for the row of B and
 * one for the broadcast of A: 15 of the 16 ymm registers. Each step of k is
 * 2 loads of B, 6 broadcasts of A and 12 FMAs, so the two FMA pipes stay
 * busy while the loads fit in the load ports (the shape BLIS's Haswell sgemm
 * kernel and XNNPACK's f32-gemm-6x16-fma3-broadcast use). A and B are both
 * packed, k-major, so each step reads 24 contiguous bytes of A and 64 of B:
 * two sequential streams the hardware prefetchers follow, plus a software
 * prefetch of A (from L2) about 20 steps ahead. The packed kernel's k loop
 * is GCC inline asm, unrolled by 4, with the registers fixed (see there);
 * the strided-A variant uses the same loop on full tiles.
 * Edge tiles: rows past mr are computed (the driver zeroes them), not
 * stored; a column tail is stored in halves 8, 4, 2, 1.
 * The _sa variant reads A in place through six row pointers (rows past mr
 * clamped to row mr - 1), for the driver's small-N path.
 */
#include <immintrin.h>

#include "kernels/gemm.h"

/* c[0:nr] = alpha * (vlo, vhi)[0:nr] + beta * c[0:nr], beta == 0 not
 * reading c. */
static inline void store_row(float *c, size_t nr, __m256 vlo, __m256 vhi,
                             __m256 valpha, float beta)
{
    vlo = _mm256_mul_ps(vlo, valpha);
    vhi = _mm256_mul_ps(vhi, valpha);
    if (nr == 16) {
        if (beta != 0.0f) {
            __m256 vbeta = _mm256_set1_ps(beta);
            vlo = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c), vlo);
            vhi = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c + 8), vhi);
        }
        _mm256_storeu_ps(c, vlo);
        _mm256_storeu_ps(c + 8, vhi);
        return;
    }
    if (nr & 8) {
        if (beta != 0.0f)
            vlo = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(c),
                                  vlo);
        _mm256_storeu_ps(c, vlo);
        vlo = vhi;
        c += 8;
    }
    __m128 v = _mm256_castps256_ps128(vlo);
    __m128 vbeta = _mm_set1_ps(beta);
    if (nr & 4) {
        if (beta != 0.0f)
            v = _mm_fmadd_ps(vbeta, _mm_loadu_ps(c), v);
        _mm_storeu_ps(c, v);
        v = _mm256_extractf128_ps(vlo, 1);
        c += 4;
    }
    if (nr & 2) {
        __m128 w = v;
        if (beta != 0.0f)
            w = _mm_fmadd_ps(vbeta, _mm_castsi128_ps(_mm_loadu_si64(c)), w);
        _mm_storeu_si64(c, _mm_castps_si128(w));
        v = _mm_movehl_ps(v, v);
        c += 2;
    }
    if (nr & 1) {
        if (beta != 0.0f)
            v = _mm_fmadd_ss(vbeta, _mm_load_ss(c), v);
        _mm_store_ss(c, v);
    }
}

/* One step of k: row p of B times column p of the six rows of A. */
#define STEP(p)                                                               \
    do {                                                                      \
        const __m256 vb01234567 = _mm256_loadu_ps(b + (p) * 16);              \
        const __m256 vb89ABCDEF = _mm256_loadu_ps(b + (p) * 16 + 8);          \
        __m256 va = _mm256_broadcast_ss(A_AT(0, p));                          \
        vacc0x01234567 = _mm256_fmadd_ps(va, vb01234567, vacc0x01234567);     \
        vacc0x89ABCDEF = _mm256_fmadd_ps(va, vb89ABCDEF, vacc0x89ABCDEF);     \
        va = _mm256_broadcast_ss(A_AT(1, p));                                \
        vacc1x01234567 = _mm256_fmadd_ps(va, vb01234567, vacc1x01234567);     \
        vacc1x89ABCDEF = _mm256_fmadd_ps(va, vb89ABCDEF, vacc1x89ABCDEF);     \
        va = _mm256_broadcast_ss(A_AT(2, p));                                \
        vacc2x01234567 = _mm256_fmadd_ps(va, vb01234567, vacc2x01234567);     \
        vacc2x89ABCDEF = _mm256_fmadd_ps(va, vb89ABCDEF, vacc2x89ABCDEF);     \
        va = _mm256_broadcast_ss(A_AT(3, p));                                \
        vacc3x01234567 = _mm256_fmadd_ps(va, vb01234567, vacc3x01234567);     \
        vacc3x89ABCDEF = _mm256_fmadd_ps(va, vb89ABCDEF, vacc3x89ABCDEF);     \
        va = _mm256_broadcast_ss(A_AT(4, p));                                \
        vacc4x01234567 = _mm256_fmadd_ps(va, vb01234567, vacc4x01234567);     \
        vacc4x89ABCDEF = _mm256_fmadd_ps(va, vb89ABCDEF, vacc4x89ABCDEF);     \
        va = _mm256_broadcast_ss(A_AT(5, p));                                \
        vacc5x01234567 = _mm256_fmadd_ps(va, vb01234567, vacc5x01234567);     \
        vacc5x89ABCDEF = _mm256_fmadd_ps(va, vb89ABCDEF, vacc5x89ABCDEF);     \
    } while (0)

#define DECLARE_ACCUMULATORS()                                                \
    __m256 vacc0x01234567 = _mm256_setzero_ps();                              \
    __m256 vacc0x89ABCDEF = _mm256_setzero_ps();                              \
    __m256 vacc1x01234567 = _mm256_setzero_ps();                              \
    __m256 vacc1x89ABCDEF = _mm256_setzero_ps();                              \
    __m256 vacc2x01234567 = _mm256_setzero_ps();                              \
    __m256 vacc2x89ABCDEF = _mm256_setzero_ps();                              \
    __m256 vacc3x01234567 = _mm256_setzero_ps();                              \
    __m256 vacc3x89ABCDEF = _mm256_setzero_ps();                              \
    __m256 vacc4x01234567 = _mm256_setzero_ps();                              \
    __m256 vacc4x89ABCDEF = _mm256_setzero_ps();                              \
    __m256 vacc5x01234567 = _mm256_setzero_ps();                              \
    __m256 vacc5x89ABCDEF = _mm256_setzero_ps()

#define STORE_TILE()                                                          \
    do {                                                                      \
        const __m256 valpha = _mm256_set1_ps(alpha);                          \
        store_row(c, nr, vacc0x01234567, vacc0x89ABCDEF, valpha, beta);       \
        if (mr > 1)                                                           \
            store_row(c + ldc, nr, vacc1x01234567, vacc1x89ABCDEF, valpha,    \
                      beta);                                                  \
        if (mr > 2)                                                           \
            store_row(c + 2 * ldc, nr, vacc2x01234567, vacc2x89ABCDEF,        \
                      valpha, beta);                                          \
        if (mr > 3)                                                           \
            store_row(c + 3 * ldc, nr, vacc3x01234567, vacc3x89ABCDEF,        \
                      valpha, beta);                                          \
        if (mr > 4)                                                           \
            store_row(c + 4 * ldc, nr, vacc4x01234567, vacc4x89ABCDEF,        \
                      valpha, beta);                                          \
        if (mr > 5)                                                           \
            store_row(c + 5 * ldc, nr, vacc5x01234567, vacc5x89ABCDEF,        \
                      valpha, beta);                                          \
    } while (0)

/* Fetch the C tile now so that its misses overlap the k loop instead of
 * stalling the loads and stores at the end (BLIS's Haswell kernel does the
 * same), for beta == 0 too (the stores need the lines). A macro of
 * straight-line prefetches: gcc deletes a loop of prefetches, or a call to
 * a helper holding them, as free of side effects. Rows past mr fetch row
 * mr - 1 again. */
#define PREFETCH_C()                                                          \
    do {                                                                      \
        const float *c1_ = mr > 1 ? c + ldc : c;                              \
        const float *c2_ = mr > 2 ? c1_ + ldc : c1_;                          \
        const float *c3_ = mr > 3 ? c2_ + ldc : c2_;                          \
        const float *c4_ = mr > 4 ? c3_ + ldc : c3_;                          \
        const float *c5_ = mr > 5 ? c4_ + ldc : c4_;                          \
        _mm_prefetch((const char *)c, _MM_HINT_T0);                           \
        _mm_prefetch((const char *)(c + nr - 1), _MM_HINT_T0);                \
        _mm_prefetch((const char *)c1_, _MM_HINT_T0);                         \
        _mm_prefetch((const char *)(c1_ + nr - 1), _MM_HINT_T0);              \
        _mm_prefetch((const char *)c2_, _MM_HINT_T0);                         \
        _mm_prefetch((const char *)(c2_ + nr - 1), _MM_HINT_T0);              \
        _mm_prefetch((const char *)c3_, _MM_HINT_T0);                         \
        _mm_prefetch((const char *)(c3_ + nr - 1), _MM_HINT_T0);              \
        _mm_prefetch((const char *)c4_, _MM_HINT_T0);                         \
        _mm_prefetch((const char *)(c4_ + nr - 1), _MM_HINT_T0);              \
        _mm_prefetch((const char *)c5_, _MM_HINT_T0);                         \
        _mm_prefetch((const char *)(c5_ + nr - 1), _MM_HINT_T0);              \
    } while (0)

/* One step of k in the asm loops below: two 8-wide loads of the B row at
 * byte offset bofs, then per row of A a broadcast from address a<r> and two
 * FMAs (two broadcast registers alternate). Offsets are immediates. */
#define ASM_STEP_AT(bofs, a0, a1, a2, a3, a4, a5)                             \
    "vmovups " bofs "(%[b]), %[vb0]\n\t"                                     \
    "vmovups " bofs "+32(%[b]), %[vb1]\n\t"                                  \
    "vbroadcastss " a0 ", %[va0]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va0], %[c00]\n\t"                                  \
    "vfmadd231ps %[vb1], %[va0], %[c01]\n\t"                                  \
    "vbroadcastss " a1 ", %[va1]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va1], %[c10]\n\t"                                  \
    "vfmadd231ps %[vb1], %[va1], %[c11]\n\t"                                  \
    "vbroadcastss " a2 ", %[va0]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va0], %[c20]\n\t"                                  \
    "vfmadd231ps %[vb1], %[va0], %[c21]\n\t"                                  \
    "vbroadcastss " a3 ", %[va1]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va1], %[c30]\n\t"                                  \
    "vfmadd231ps %[vb1], %[va1], %[c31]\n\t"                                  \
    "vbroadcastss " a4 ", %[va0]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va0], %[c40]\n\t"                                  \
    "vfmadd231ps %[vb1], %[va0], %[c41]\n\t"                                  \
    "vbroadcastss " a5 ", %[va1]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va1], %[c50]\n\t"                                  \
    "vfmadd231ps %[vb1], %[va1], %[c51]\n\t"

/* The same step on the left half of the B row only (nr <= 8): 6 FMAs. */
#define ASM_STEP8_AT(bofs, a0, a1, a2, a3, a4, a5)                            \
    "vmovups " bofs "(%[b]), %[vb0]\n\t"                                     \
    "vbroadcastss " a0 ", %[va0]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va0], %[c00]\n\t"                                  \
    "vbroadcastss " a1 ", %[va1]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va1], %[c10]\n\t"                                  \
    "vbroadcastss " a2 ", %[va0]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va0], %[c20]\n\t"                                  \
    "vbroadcastss " a3 ", %[va1]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va1], %[c30]\n\t"                                  \
    "vbroadcastss " a4 ", %[va0]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va0], %[c40]\n\t"                                  \
    "vbroadcastss " a5 ", %[va1]\n\t"                                         \
    "vfmadd231ps %[vb0], %[va1], %[c50]\n\t"

/* Addresses of step p in the packed kernel (24 bytes of A and 64 of B per
 * step) and in the strided-A kernel (rows 0-2 at a + {0, 1, 2} * s bytes,
 * rows 3-5 at a3 + {0, 1, 2} * s, 4 bytes per step). */
#define PACKED_AT(p)                                                          \
    #p "*64", #p "*24(%[a])", #p "*24+4(%[a])", #p "*24+8(%[a])",             \
    #p "*24+12(%[a])", #p "*24+16(%[a])", #p "*24+20(%[a])"
#define STRIDED_AT(p)                                                         \
    #p "*64", #p "*4(%[a])", #p "*4(%[a],%[s],1)", #p "*4(%[a],%[s],2)",      \
    #p "*4(%[a3])", #p "*4(%[a3],%[s],1)", #p "*4(%[a3],%[s],2)"
#define CALL(f, args) f args
#define STEP_PACKED(p) CALL(ASM_STEP_AT, (PACKED_AT(p)))
#define STEP8_PACKED(p) CALL(ASM_STEP8_AT, (PACKED_AT(p)))
#define STEP_STRIDED(p) CALL(ASM_STEP_AT, (STRIDED_AT(p)))
#define STEP8_STRIDED(p) CALL(ASM_STEP8_AT, (STRIDED_AT(p)))

/* Bytes ahead of the A pointer prefetched each iteration of the packed
 * kernel: about 20 steps of k, 120 cycles of FMAs, longer than a miss to
 * L2 takes. Two prefetches per iteration (96 bytes of A) cover every line;
 * past the end of the micro-panel they fetch the start of the next one
 * (the driver's next call). */
#define PACKED_PREFETCH                                                       \
    "prefetcht0 480(%[a])\n\t"                                                \
    "prefetcht0 480+64(%[a])\n\t"
#define PACKED_ADVANCE(steps)                                                 \
    "add $" #steps "*24, %[a]\n\t"                                            \
    "add $" #steps "*64, %[b]\n\t"
#define STRIDED_ADVANCE(steps)                                                \
    "add $" #steps "*4, %[a]\n\t"                                             \
    "add $" #steps "*4, %[a3]\n\t"                                            \
    "add $" #steps "*64, %[b]\n\t"

/* The k loop: k4 iterations of 4 steps, then k1 single steps. */
#define ASM_K_LOOP(prefetch, step, advance)                                   \
    "test %[k4], %[k4]\n\t"                                                   \
    "jz 2f\n\t"                                                               \
    ".p2align 5\n"                                                            \
    "1:\n\t"                                                                  \
    prefetch step(0) step(1) step(2) step(3) advance(4)                       \
    "dec %[k4]\n\t"                                                           \
    "jnz 1b\n"                                                                \
    "2:\n\t"                                                                  \
    "test %[k1], %[k1]\n\t"                                                   \
    "jz 4f\n"                                                                 \
    "3:\n\t"                                                                  \
    step(0) advance(1)                                                        \
    "dec %[k1]\n\t"                                                           \
    "jnz 3b\n"                                                                \
    "4:\n\t"

/* Zeroes the accumulators (gcc counts an in-out asm operand twice, and 16
 * of them exceed its limit of 30 operands, so they are outputs only). */
#define ASM_ZERO_LEFT                                                         \
    "vxorps %[c00], %[c00], %[c00]\n\t"                                      \
    "vxorps %[c10], %[c10], %[c10]\n\t"                                      \
    "vxorps %[c20], %[c20], %[c20]\n\t"                                      \
    "vxorps %[c30], %[c30], %[c30]\n\t"                                      \
    "vxorps %[c40], %[c40], %[c40]\n\t"                                      \
    "vxorps %[c50], %[c50], %[c50]\n\t"
#define ASM_ZERO_RIGHT                                                        \
    "vxorps %[c01], %[c01], %[c01]\n\t"                                      \
    "vxorps %[c11], %[c11], %[c11]\n\t"                                      \
    "vxorps %[c21], %[c21], %[c21]\n\t"                                      \
    "vxorps %[c31], %[c31], %[c31]\n\t"                                      \
    "vxorps %[c41], %[c41], %[c41]\n\t"                                      \
    "vxorps %[c51], %[c51], %[c51]\n\t"

/* The asm outputs: the left accumulators and the scratch registers, and
 * for full width the right accumulators and the second half of B. */
#define ASM_OUT_LEFT                                                          \
    [c00] "=&x"(vacc0x01234567), [c10] "=&x"(vacc1x01234567),                 \
    [c20] "=&x"(vacc2x01234567), [c30] "=&x"(vacc3x01234567),                 \
    [c40] "=&x"(vacc4x01234567), [c50] "=&x"(vacc5x01234567),                 \
    [vb0] "=&x"(vb0), [va0] "=&x"(va0), [va1] "=&x"(va1)
#define ASM_OUT_RIGHT                                                         \
    [c01] "=&x"(vacc0x89ABCDEF), [c11] "=&x"(vacc1x89ABCDEF),                 \
    [c21] "=&x"(vacc2x89ABCDEF), [c31] "=&x"(vacc3x89ABCDEF),                 \
    [c41] "=&x"(vacc4x89ABCDEF), [c51] "=&x"(vacc5x89ABCDEF),                 \
    [vb1] "=&x"(vb1)

#define DECLARE_ASM_REGS()                                                    \
    __m256 vacc0x01234567, vacc0x89ABCDEF, vacc1x01234567, vacc1x89ABCDEF;    \
    __m256 vacc2x01234567, vacc2x89ABCDEF, vacc3x01234567, vacc3x89ABCDEF;    \
    __m256 vacc4x01234567, vacc4x89ABCDEF, vacc5x01234567, vacc5x89ABCDEF;    \
    __m256 vb0, vb1, va0, va1

/* After the half-width loop: the right halves are never stored (nr <= 8),
 * but store_row takes them. */
#define ZERO_RIGHT()                                                          \
    vacc0x89ABCDEF = vacc1x89ABCDEF = vacc2x89ABCDEF = vacc3x89ABCDEF =       \
        vacc4x89ABCDEF = vacc5x89ABCDEF = _mm256_setzero_ps();                \
    (void)vb1

void kern_f32_gemm_ukernel_6x16__avx2(size_t mr, size_t nr, size_t kc,
                                      const float *restrict a,
                                      const float *restrict b,
                                      float *restrict c, size_t ldc,
                                      float alpha, float beta)
{
    KERN_ASSERT(mr >= 1 && mr <= 6);
    KERN_ASSERT(nr >= 1 && nr <= 16);
    KERN_ASSERT(kc >= 1);

    PREFETCH_C();

    /* The k loop in inline asm, unrolled by 4: gcc 12, given the same loop
     * in intrinsics, rotates accumulators through the scratch registers
     * and spills when unrolled past 2. Here the 12 accumulators, the two
     * halves of the B row and two broadcasts of A use all 16 ymm registers;
     * the pointers advance once per four steps and every load has an
     * immediate offset. A column edge of at most 8 (the last panel of N =
     * 49 or 37) runs a half-width loop, 6 FMAs per step instead of 12. */
    size_t k4 = kc / 4, k1 = kc % 4;
    DECLARE_ASM_REGS();
    if (nr > 8) {
        __asm__ volatile(
            ASM_ZERO_LEFT ASM_ZERO_RIGHT
            ASM_K_LOOP(PACKED_PREFETCH, STEP_PACKED, PACKED_ADVANCE)
            : [a] "+r"(a), [b] "+r"(b), [k4] "+r"(k4), [k1] "+r"(k1),
              ASM_OUT_LEFT, ASM_OUT_RIGHT
            :
            : "cc", "memory");
    } else {
        __asm__ volatile(
            ASM_ZERO_LEFT
            ASM_K_LOOP(PACKED_PREFETCH, STEP8_PACKED, PACKED_ADVANCE)
            : [a] "+r"(a), [b] "+r"(b), [k4] "+r"(k4), [k1] "+r"(k1),
              ASM_OUT_LEFT
            :
            : "cc", "memory");
        ZERO_RIGHT();
    }

    STORE_TILE();
}

void kern_f32_gemm_ukernel_6x16_sa__avx2(size_t mr, size_t nr, size_t kc,
                                         const float *restrict a,
                                         size_t a_stride,
                                         const float *restrict b,
                                         float *restrict c, size_t ldc,
                                         float alpha, float beta)
{
    KERN_ASSERT(mr >= 1 && mr <= 6);
    KERN_ASSERT(nr >= 1 && nr <= 16);
    KERN_ASSERT(kc >= 1);

    PREFETCH_C();

    /* Full tiles (all but the last of a block of rows): the asm loops of
     * the packed kernel with the six rows addressed as two bases and a
     * stride, which cannot clamp rows past mr; edge tiles take the
     * intrinsics loop below. */
    if (mr == 6) {
        size_t k4 = kc / 4, k1 = kc % 4;
        const float *a3 = a + 3 * a_stride;
        size_t s = a_stride * sizeof(float);
        DECLARE_ASM_REGS();
        if (nr > 8) {
            __asm__ volatile(
                ASM_ZERO_LEFT ASM_ZERO_RIGHT
                ASM_K_LOOP("", STEP_STRIDED, STRIDED_ADVANCE)
                : [a] "+r"(a), [a3] "+r"(a3), [b] "+r"(b), [k4] "+r"(k4),
                  [k1] "+r"(k1), ASM_OUT_LEFT, ASM_OUT_RIGHT
                : [s] "r"(s)
                : "cc", "memory");
        } else {
            __asm__ volatile(
                ASM_ZERO_LEFT
                ASM_K_LOOP("", STEP8_STRIDED, STRIDED_ADVANCE)
                : [a] "+r"(a), [a3] "+r"(a3), [b] "+r"(b), [k4] "+r"(k4),
                  [k1] "+r"(k1), ASM_OUT_LEFT
                : [s] "r"(s)
                : "cc", "memory");
            ZERO_RIGHT();
        }
        STORE_TILE();
        return;
    }

    const float *a0 = a;
    const float *a1 = mr > 1 ? a0 + a_stride : a0;
    const float *a2 = mr > 2 ? a1 + a_stride : a1;
    const float *a3 = mr > 3 ? a2 + a_stride : a2;
    const float *a4 = mr > 4 ? a3 + a_stride : a3;
    const float *a5 = mr > 5 ? a4 + a_stride : a4;

    DECLARE_ACCUMULATORS();

    /* By 2 (by 4, gcc 12 runs out of the 16 ymm registers and spills
     * accumulators); the six rows advance together. */
#define A_AT(r, p) (a##r + (p))
    size_t k = kc;
    for (; k >= 2; k -= 2) {
        STEP(0);
        STEP(1);
        a0 += 2, a1 += 2, a2 += 2, a3 += 2, a4 += 2, a5 += 2;
        b += 32;
    }
    for (; k != 0; k--) {
        STEP(0);
        a0 += 1, a1 += 1, a2 += 1, a3 += 1, a4 += 1, a5 += 1;
        b += 16;
    }
#undef A_AT

    STORE_TILE();
}
