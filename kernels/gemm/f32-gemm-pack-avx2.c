/*
 * kernels/gemm/f32-gemm-pack-avx2.c: the packers of the AVX2 GEMM (AVX2;
 * layouts in kernels/gemm.h).
 *
 * Packing an operand that is stored transposed is a transpose; done one
 * element at a time it costs about a cycle per element, which is a third of
 * the microkernel's time when the other dimension is small (4608 x 49 x 512
 * TN: each packed element of A feeds only 49 FMAs). Here 8 x 8 blocks are
 * transposed in registers (unpack, shuffle, 128-bit permute: 24 shuffles per
 * 64 elements); ragged edges fall back to scalar copies. A stored row-major
 * is a transpose too: its MR-row panels are k-major.
 */
#include <immintrin.h>

#include "kernels/gemm.h"

/* r[i] (8 rows of 8) -> r[p] = column p. */
static inline void transpose8x8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]);
    __m256 t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]);
    __m256 t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]);
    __m256 t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]);
    __m256 t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44);
    __m256 u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44);
    __m256 u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44);
    __m256 u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44);
    __m256 u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Rows h .. h + 8 of a W-column panel of B stored (N, K) at b, columns p
 * .. p + 8 of them (rows >= nr read as zeros) -> dst rows p .. p + 8,
 * columns h .. h + 8. */
static inline void packbt_8x8(const float *b, size_t ldb, size_t h,
                              size_t nr, size_t p, float *restrict dst,
                              size_t W)
{
    __m256 r[8];
    for (size_t i = 0; i < 8; i++)
        r[i] = h + i < nr ? _mm256_loadu_ps(b + (h + i) * ldb + p)
                          : _mm256_setzero_ps();
    transpose8x8(r);
    for (size_t i = 0; i < 8; i++)
        _mm256_storeu_ps(dst + (p + i) * W + h, r[i]);
}

/* B stored (N, K), b at [j0][p0] -> W-column panels (kc, W) of op(B),
 * zero-padded past nc. Ragged last panels are transposed 8 x 8 too, with
 * zero rows (64 x 37 x 512 NT packs a panel of 5 columns in every call, one
 * element at a time it cost 9% of the call). */
static inline __attribute__((always_inline)) void
packbt(size_t W, size_t kc, size_t nc, const float *b, size_t ldb,
       float *restrict dst)
{
    for (size_t j = 0; j < nc; j += W, b += W * ldb, dst += W * kc) {
        size_t nr = KERN_MIN(W, nc - j);
        size_t p = 0;
        for (; p + 8 <= kc; p += 8) {
            if (nr == W) /* constant row counts: no tests in the loads */
                for (size_t h = 0; h < W; h += 8)
                    packbt_8x8(b, ldb, h, W, p, dst, W);
            else
                for (size_t h = 0; h < W; h += 8)
                    packbt_8x8(b, ldb, h, nr, p, dst, W);
        }
        for (; p < kc; p++) {
            for (size_t jj = 0; jj < nr; jj++)
                dst[p * W + jj] = b[jj * ldb + p];
            for (size_t jj = nr; jj < W; jj++)
                dst[p * W + jj] = 0.0f;
        }
    }
}

void kern_f32_gemm_packbt_16__avx2(size_t kc, size_t nc, const float *b,
                                   size_t ldb, float *restrict dst)
{
    packbt(16, kc, nc, b, ldb, dst);
}

/* For the AVX-512 kernel's 32-column panels (still ymm code). */
void kern_f32_gemm_packbt_32__avx2(size_t kc, size_t nc, const float *b,
                                   size_t ldb, float *restrict dst)
{
    packbt(32, kc, nc, b, ldb, dst);
}

/* Column q of a 6-row panel, the 6 low floats of v, to d[0:6] (an 8-wide
 * store would run past the end of the last panel). */
static inline void store6(float *d, __m256 v)
{
    _mm_storeu_ps(d, _mm256_castps256_ps128(v));
    _mm_storel_pi((__m64 *)(d + 4), _mm256_extractf128_ps(v, 1));
}

/* Rows i0 + mr .. i0 + 6 of a 6-row panel: zero, so the microkernel computes
 * on finite values it never stores. */
static inline void pack_tail6(size_t mr, size_t kc, const float *a,
                              size_t rs, size_t cs, float *restrict dst)
{
    for (size_t p = 0; p < kc; p++) {
        for (size_t q = 0; q < mr; q++)
            dst[p * 6 + q] = a[q * rs + p * cs];
        for (size_t q = mr; q < 6; q++)
            dst[p * 6 + q] = 0.0f;
    }
}

/* A stored (M, K), a at [i0][p0] -> 6-row panels (kc, 6) of op(A), rows past
 * mc zeroed: 8 x 8 transposes of 6 rows (the last row loaded twice). Each
 * row of a panel is only kc floats (16 lines at KC 256), too short a run
 * for the hardware prefetcher to pick up, so the next panel's 6 rows are
 * fetched while this one is transposed (one line of each row per 16
 * columns): 1024^3 on one thread 244 -> 255 GFLOP/s, 2048^3 254 -> 260,
 * the pack's share of the call 4.8% -> 2.1%. */
void kern_f32_gemm_packan_6__avx2(size_t mc, size_t kc, const float *a,
                                  size_t lda, size_t m_left,
                                  float *restrict dst)
{
    (void)m_left;
    for (size_t i = 0; i < mc; i += 6, a += 6 * lda, dst += 6 * kc) {
        size_t mr = KERN_MIN((size_t)6, mc - i);
        if (mr < 6) {
            pack_tail6(mr, kc, a, lda, 1, dst);
            continue;
        }
        bool ahead = i + 12 <= mc;
        size_t p = 0;
        for (; p + 8 <= kc; p += 8) {
            __m256 r[8];
            if (ahead && p % 16 == 0)
                for (size_t q = 6; q < 12; q++)
                    _mm_prefetch((const char *)(a + q * lda + p), _MM_HINT_T0);
            for (size_t q = 0; q < 6; q++)
                r[q] = _mm256_loadu_ps(a + q * lda + p);
            r[6] = r[5], r[7] = r[5];
            transpose8x8(r);
            for (size_t q = 0; q < 8; q++)
                store6(dst + (p + q) * 6, r[q]);
        }
        for (; p < kc; p++)
            for (size_t q = 0; q < 6; q++)
                dst[p * 6 + q] = a[q * lda + p];
    }
}

/* A stored (K, M), a at [p0][i0] -> 6-row panels (kc, 6) of op(A), rows past
 * mc zeroed: each column of a panel is 6 contiguous floats of a row of A.
 * Row by row of A (one contiguous read of mc floats per row, as packbn
 * does), the row 4 steps ahead prefetched: rows of A lie lda apart, a page
 * or more, where the hardware prefetcher does not follow, and walking one
 * panel at a time down all kc rows waited on memory once per row and panel
 * (4608 x 49 x 512 TN). m_left: columns of stored A from i0 to the end of
 * its row, so 8-wide loads stay inside it. */
void kern_f32_gemm_packat_6__avx2(size_t mc, size_t kc, const float *a,
                                  size_t lda, size_t m_left,
                                  float *restrict dst)
{
    /* Panels [0, wide) take one 8-wide load per column. */
    size_t wide = mc / 6 * 6;
    while (wide > 0 && wide + 2 > m_left)
        wide -= 6;
    for (size_t p = 0; p < kc; p++) {
        const float *src = a + p * lda;
        if (p + 4 < kc)
            for (size_t i = 0; i < mc; i += 16)
                _mm_prefetch((const char *)(src + 4 * lda + i), _MM_HINT_T0);
        float *d = dst + p * 6;
        size_t i = 0;
        for (; i < wide; i += 6, d += 6 * kc)
            store6(d, _mm256_loadu_ps(src + i));
        for (; i < mc; i += 6, d += 6 * kc) {
            size_t mr = KERN_MIN((size_t)6, mc - i);
            for (size_t q = 0; q < mr; q++)
                d[q] = src[i + q];
            for (size_t q = mr; q < 6; q++)
                d[q] = 0.0f;
        }
    }
}

/* B stored (K, N), b at [p0][j0] -> W-column panels (kc, W) of op(B),
 * zero-padded past nc. A copy, but the one small-M shapes live on (64 x 3136
 * x 576 packs each element of B for 64 FMAs), so: 128 columns (8 or 4
 * panels) at a time, row by row of B (one contiguous 512-byte read per row,
 * writes to 8 or 4 pages), full ymm moves, and the rows a few steps ahead
 * prefetched. */
static inline __attribute__((always_inline)) void
packbn(size_t W, size_t kc, size_t nc, const float *b, size_t ldb,
       float *restrict dst)
{
    size_t full = nc / W * W;
    for (size_t j0 = 0; j0 < full; j0 += 128) {
        size_t j1 = KERN_MIN(full, j0 + 128);
        for (size_t p = 0; p < kc; p++) {
            const float *src = b + p * ldb;
            if (p + 4 < kc)
                for (size_t j = j0; j < j1; j += 16)
                    _mm_prefetch((const char *)(src + 4 * ldb + j),
                                 _MM_HINT_T0);
            float *d = dst + j0 * kc + p * W;
            for (size_t j = j0; j < j1; j += W, d += W * kc)
                for (size_t q = 0; q < W; q += 8)
                    _mm256_storeu_ps(d + q, _mm256_loadu_ps(src + j + q));
        }
    }
    if (full < nc)
        for (size_t p = 0; p < kc; p++) {
            const float *src = b + p * ldb + full;
            float *d = dst + full * kc + p * W;
            for (size_t jj = 0; jj < nc - full; jj++)
                d[jj] = src[jj];
            for (size_t jj = nc - full; jj < W; jj++)
                d[jj] = 0.0f;
        }
}

void kern_f32_gemm_packbn_16__avx2(size_t kc, size_t nc, const float *b,
                                   size_t ldb, float *restrict dst)
{
    packbn(16, kc, nc, b, ldb, dst);
}

void kern_f32_gemm_packbn_32__avx2(size_t kc, size_t nc, const float *b,
                                   size_t ldb, float *restrict dst)
{
    packbn(32, kc, nc, b, ldb, dst);
}
