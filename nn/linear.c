/*
 * nn/linear.c: the head's fully connected layers, y = x w^T + b, with w in
 * PyTorch's (out, in) order, x (N, in) and y (N, out) row-major.
 *
 * Until kernels/gemm.h lands these are plain loops (double accumulation);
 * the products are small (N x 1024 x 512 at most).
 */
#include "nn/ops.h"

void nn_linear_forward(size_t n, size_t in, size_t out, float *y,
                       const float *x, const float *w, const float *b,
                       void *scratch, const kern_pool *pool)
{
    for (size_t i = 0; i < n; i++)
        for (size_t o = 0; o < out; o++) {
            double acc = b[o];
            for (size_t k = 0; k < in; k++)
                acc += (double)x[i * in + k] * w[o * in + k];
            y[i * out + o] = (float)acc;
        }
}

void nn_linear_backward(size_t n, size_t in, size_t out, float *dx,
                        float *dw, float *db, const float *dy, const float *x,
                        const float *w, void *scratch, const kern_pool *pool)
{
    for (size_t o = 0; o < out; o++) {
        double sb = 0.0;
        for (size_t i = 0; i < n; i++)
            sb += dy[i * out + o];
        db[o] += (float)sb;
        for (size_t k = 0; k < in; k++) {
            double acc = 0.0;
            for (size_t i = 0; i < n; i++)
                acc += (double)dy[i * out + o] * x[i * in + k];
            dw[o * in + k] += (float)acc;
        }
    }
    if (!dx)
        return;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < in; k++) {
            double acc = 0.0;
            for (size_t o = 0; o < out; o++)
                acc += (double)dy[i * out + o] * w[o * in + k];
            dx[i * in + k] = (float)acc;
        }
}
