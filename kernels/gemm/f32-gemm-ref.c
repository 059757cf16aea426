/*
 * kernels/gemm/f32-gemm-ref.c: kern_f32_gemm__ref, the oracle.
 *
 * C = alpha * op(A) * op(B) + beta * C, any shape, row-major with leading
 * dimensions (contract in kernels/gemm.h). Plain loops in the order of the
 * math with double accumulation; never optimised, never used in production.
 */
#include "kernels/gemm.h"

static double op_a(kern_trans ta, const float *a, size_t lda, size_t i,
                   size_t p)
{
    return ta == KERN_NOTRANS ? a[i * lda + p] : a[p * lda + i];
}

static double op_b(kern_trans tb, const float *b, size_t ldb, size_t p,
                   size_t j)
{
    return tb == KERN_NOTRANS ? b[p * ldb + j] : b[j * ldb + p];
}

void kern_f32_gemm__ref(kern_trans ta, kern_trans tb, size_t m, size_t n,
                        size_t k, float alpha, const float *a, size_t lda,
                        const float *b, size_t ldb, float beta,
                        float *c, size_t ldc, void *workspace,
                        const kern_pool *pool)
{
    (void)workspace;
    (void)pool;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double sum = 0.0;
            if (alpha != 0.0f)
                for (size_t p = 0; p < k; p++)
                    sum += op_a(ta, a, lda, i, p) * op_b(tb, b, ldb, p, j);
            double old = beta == 0.0f ? 0.0 : (double)beta * c[i * ldc + j];
            c[i * ldc + j] = (float)((double)alpha * sum + old);
        }
    }
}
