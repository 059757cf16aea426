/*
 * nn/linear.c: the head's fully connected layers on kern_f32_gemm, with w in
 * PyTorch's (out, in) order, x (N, in) and y (N, out) row-major:
 *   forward   y  = x w^T + b          gemm(NOTRANS, TRANS)
 *   backward  dw += dy^T x            gemm(TRANS, NOTRANS, beta 1)
 *             dx  = dy w              gemm(NOTRANS, NOTRANS)
 *             db += column sums of dy
 * The GEMM workspace is the model's shared scratch.
 */
#include "kernels/gemm.h"
#include "nn/ops.h"

size_t nn_linear_scratch_bytes(const nn_model *m, size_t threads)
{
    size_t n = m->batch, c = m->classes, need = 0;
    const size_t shapes[6][3] = {
        {n, NN_HEAD_HIDDEN, NN_HEAD_FEATURES},
        {NN_HEAD_HIDDEN, NN_HEAD_FEATURES, n},
        {n, NN_HEAD_FEATURES, NN_HEAD_HIDDEN},
        {n, c, NN_HEAD_HIDDEN},
        {c, NN_HEAD_HIDDEN, n},
        {n, NN_HEAD_HIDDEN, c},
    };
    for (int i = 0; i < 6; i++)
        need = KERN_MAX(need, kern_f32_gemm_workspace_size(
                                  shapes[i][0], shapes[i][1], shapes[i][2],
                                  threads));
    return need;
}

void nn_linear_forward(size_t n, size_t in, size_t out, float *y,
                       const float *x, const float *w, const float *b,
                       void *scratch, const kern_pool *pool)
{
    kern_f32_gemm(KERN_NOTRANS, KERN_TRANS, n, out, in, 1.0f, x, in, w, in,
                  0.0f, y, out, scratch, pool);
    for (size_t i = 0; i < n; i++)
        for (size_t o = 0; o < out; o++)
            y[i * out + o] += b[o];
}

void nn_linear_backward(size_t n, size_t in, size_t out, float *dx,
                        float *dw, float *db, const float *dy, const float *x,
                        const float *w, void *scratch, const kern_pool *pool)
{
    for (size_t o = 0; o < out; o++) {
        float s = 0.0f;
        for (size_t i = 0; i < n; i++)
            s += dy[i * out + o];
        db[o] += s;
    }
    kern_f32_gemm(KERN_TRANS, KERN_NOTRANS, out, in, n, 1.0f, dy, out, x, in,
                  1.0f, dw, in, scratch, pool);
    if (dx)
        kern_f32_gemm(KERN_NOTRANS, KERN_NOTRANS, n, in, out, 1.0f, dy, out,
                      w, in, 0.0f, dx, in, scratch, pool);
}
