/*
 * kernels/gemm.h: single-precision GEMM, C = alpha * op(A) * op(B) + beta * C.
 *
 * Row-major throughout, with leading dimensions (the distance in floats
 * between consecutive rows as stored):
 *   op(A) is (M, K): A is stored (M, K) with lda >= K for KERN_NOTRANS,
 *                    (K, M) with lda >= M for KERN_TRANS;
 *   op(B) is (K, N): B is stored (K, N) with ldb >= N for KERN_NOTRANS,
 *                    (N, K) with ldb >= K for KERN_TRANS;
 *   C is (M, N) with ldc >= N.
 * Any M, N, K >= 0. beta == 0 ignores what C held (even NaN); K == 0 (or
 * alpha == 0) scales C by beta and reads neither A nor B.
 *
 * The driver follows the BLIS loop structure (Van Zee and van de Geijn, "BLIS:
 * A framework for rapidly instantiating BLAS functionality", TOMS 2015): panels
 * of op(A) and op(B) are packed into the caller's workspace, sized by
 * kern_f32_gemm_workspace_size, and an MR x NR register-blocked microkernel
 * runs over them. Nothing is allocated. Threads come from the kern_pool
 * (NULL = serial); the workspace must be sized for at least pool->nthreads.
 */
#ifndef RESIN_KERNELS_GEMM_H
#define RESIN_KERNELS_GEMM_H

#include "kernels/kern.h"
#include "kernels/dispatch.h"

typedef enum kern_trans {
    KERN_NOTRANS = 0,
    KERN_TRANS = 1,
} kern_trans;

/* Bytes of workspace kern_f32_gemm needs for this shape on up to nthreads
 * threads, for whichever ISA kern_init selects (the maximum over the ISAs of
 * this build, so the answer does not change with kern_init). 0 is allowed
 * for nthreads and means 1. */
size_t kern_f32_gemm_workspace_size(size_t m, size_t n, size_t k,
                                    size_t nthreads);

/* The public driver: dispatches on the ISA chosen by kern_init (the ref ISA
 * calls kern_f32_gemm__ref). workspace: KERN_ALIGN-aligned, at least
 * kern_f32_gemm_workspace_size(m, n, k, kern_pool_threads(pool)) bytes. */
void kern_f32_gemm(kern_trans ta, kern_trans tb, size_t m, size_t n, size_t k,
                   float alpha, const float *a, size_t lda,
                   const float *b, size_t ldb, float beta,
                   float *c, size_t ldc, void *workspace,
                   const kern_pool *pool);

/* The oracle: plain loops in the order of the math, double accumulation.
 * Same contract; workspace and pool are ignored. */
void kern_f32_gemm__ref(kern_trans ta, kern_trans tb, size_t m, size_t n,
                        size_t k, float alpha, const float *a, size_t lda,
                        const float *b, size_t ldb, float beta,
                        float *c, size_t ldc, void *workspace,
                        const kern_pool *pool);

// --- microkernels ------------------------------------------------------------
/*
 * C[0:mr, 0:nr] = alpha * Ap * Bp + beta * C[0:mr, 0:nr], where
 *   a:  packed (kc, MR): column p of the MR-row micro-panel of A at
 *       a[p * MR], element (r, p) at a[p * MR + r], always MR wide (rows at
 *       or past mr are read and computed, never stored; the driver zeroes
 *       them);
 *   b:  packed (kc, NR): row p of the NR-column panel at b[p * NR], always
 *       full (the driver zero-pads columns past the edge of B);
 *   c:  (mr, nr) with row stride ldc.
 * Both panels are read once, front to back, with unit stride.
 * 1 <= mr <= MR, 1 <= nr <= NR, kc >= 1. Rows >= mr and columns >= nr of the
 * register tile are computed but never stored. beta == 0 stores without
 * reading C. Nothing outside the mr x nr tile of C is written.
 */
typedef void (*kern_f32_gemm_ukernel_fn)(size_t mr, size_t nr, size_t kc,
                                         const float *restrict a,
                                         const float *restrict b,
                                         float *restrict c, size_t ldc,
                                         float alpha, float beta);

/*
 * The same product with A read in place, for A stored row-major:
 *   a:  (mr, kc) with row stride a_stride: element (r, p) at
 *       a[r * a_stride + p]. Rows at or past mr are never read (their row
 *       pointers are clamped to row mr - 1).
 * Optional per ISA: the driver uses it instead of packing A when the block
 * of A feeds fewer than KERN_F32_GEMM_PACK_A_MIN_N columns of C, where the
 * copy would cost more than the MR separate streams do (512 x 49 x 4608: a
 * packed element of A feeds only 49 FMAs).
 */
typedef void (*kern_f32_gemm_ukernel_sa_fn)(size_t mr, size_t nr, size_t kc,
                                            const float *restrict a,
                                            size_t a_stride,
                                            const float *restrict b,
                                            float *restrict c, size_t ldc,
                                            float alpha, float beta);

#define KERN_F32_GEMM_PACK_A_MIN_N 128

void kern_f32_gemm_ukernel_6x16_sa__avx2(size_t mr, size_t nr, size_t kc,
                                         const float *restrict a,
                                         size_t a_stride,
                                         const float *restrict b,
                                         float *restrict c, size_t ldc,
                                         float alpha, float beta);

/* Optional ISA-specific packers (the driver has portable ones):
 *   packbn: B stored (K, N), b at [p0][j0] -> NR-column panels (kc, NR) of
 *           op(B)[0:kc, 0:nc], zero-padded past nc;
 *   packbt: B stored (N, K), b at [j0][p0] -> NR-column panels (kc, NR) of
 *           op(B)[0:kc, 0:nc], zero-padded past nc;
 *   packan: A stored (M, K), a at [i0][p0] -> MR-row panels (kc, MR) of
 *           op(A)[0:mc, 0:kc], rows past mc zeroed (m_left unused);
 *   packat: A stored (K, M), a at [p0][i0] -> MR-row panels (kc, MR) of
 *           op(A)[0:mc, 0:kc], rows past mc zeroed; m_left = columns of
 *           stored A from i0 to the end of its row (loads stay inside it). */
typedef void (*kern_f32_gemm_packb_fn)(size_t kc, size_t nc, const float *b,
                                       size_t ldb, float *restrict dst);
typedef void (*kern_f32_gemm_packa_fn)(size_t mc, size_t kc, const float *a,
                                       size_t lda, size_t m_left,
                                       float *restrict dst);

void kern_f32_gemm_packbn_16__avx2(size_t kc, size_t nc, const float *b,
                                   size_t ldb, float *restrict dst);
void kern_f32_gemm_packbt_16__avx2(size_t kc, size_t nc, const float *b,
                                   size_t ldb, float *restrict dst);
void kern_f32_gemm_packbn_32__avx2(size_t kc, size_t nc, const float *b,
                                   size_t ldb, float *restrict dst);
void kern_f32_gemm_packbt_32__avx2(size_t kc, size_t nc, const float *b,
                                   size_t ldb, float *restrict dst);
void kern_f32_gemm_packan_6__avx2(size_t mc, size_t kc, const float *a,
                                  size_t lda, size_t m_left,
                                  float *restrict dst);
void kern_f32_gemm_packat_6__avx2(size_t mc, size_t kc, const float *a,
                                  size_t lda, size_t m_left,
                                  float *restrict dst);

#define KERN_F32_GEMM_UKERNEL(isa, fn, mr, nr, mc, kc, nc, packbn, packbt, \
                              packan, packat, ukernel_sa) \
    void fn(size_t mr_, size_t nr_, size_t kc_, const float *restrict a, \
            const float *restrict b, float *restrict c, size_t ldc, \
            float alpha, float beta);
#include "kernels/gemm/f32-gemm.inc"
#undef KERN_F32_GEMM_UKERNEL

/* What the driver runs for the active ISA (for tests and benches). */
typedef struct kern_f32_gemm_config {
    kern_f32_gemm_ukernel_fn ukernel; /* NULL for the ref ISA */
    size_t mr, nr;                    /* register tile */
    size_t mc, kc, nc;                /* cache blocks (see f32-gemm.inc) */
    kern_f32_gemm_packb_fn packbn;    /* NULL: the portable packer */
    kern_f32_gemm_packb_fn packbt;    /* NULL: the portable packer */
    kern_f32_gemm_packa_fn packan;    /* NULL: the portable packer */
    kern_f32_gemm_packa_fn packat;    /* NULL: the portable packer */
    kern_f32_gemm_ukernel_sa_fn ukernel_sa; /* NULL: A is always packed */
} kern_f32_gemm_config;

const kern_f32_gemm_config *kern_f32_gemm_active_config(void);

/* Fills the table for the ISA (called by kern_init). */
void kern_gemm_init(kern_isa isa);

#endif /* RESIN_KERNELS_GEMM_H */
