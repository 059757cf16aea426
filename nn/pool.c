/*
 * nn/pool.c: ReLU, residual add, 3x3/2 max pool (pad 1) and fastai's
 * AdaptiveConcatPool2d to 1x1 (max first, then avg), NCHW8c in, (N, 2C) out.
 *
 * Max-pool and concat-pool backward send each output gradient to the first
 * maximum of its window in scan order (PyTorch's CPU choice); ties only occur
 * between ReLU zeros, whose gradient the ReLU mask discards anyway.
 */
#include "nn/ops.h"

void nn_relu_inplace(float *x, size_t count)
{
    for (size_t i = 0; i < count; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void nn_relu_mask(float *dx, const float *y, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dx[i] = y[i] > 0.0f ? dx[i] : 0.0f;
}

void nn_add_acc(float *y, const float *x, size_t count)
{
    for (size_t i = 0; i < count; i++)
        y[i] += x[i];
}

// --- max pool 3x3 / 2, pad 1 ---------------------------------------------------------

/* Index in the NCHW8c input of the window maximum for output (oh, ow) of
 * plane p (= n * C/8 + c/8), lane l. */
static size_t window_argmax(const float *x, size_t ih, size_t p, size_t l,
                            size_t oh, size_t ow)
{
    size_t best = (size_t)-1;
    float bv = 0.0f;
    for (size_t kh = 0; kh < 3; kh++) {
        long h = (long)(oh * 2 + kh) - 1;
        if (h < 0 || h >= (long)ih)
            continue;
        for (size_t kw = 0; kw < 3; kw++) {
            long w = (long)(ow * 2 + kw) - 1;
            if (w < 0 || w >= (long)ih)
                continue;
            size_t j = ((p * ih + (size_t)h) * ih + (size_t)w) * 8 + l;
            if (best == (size_t)-1 || x[j] > bv) {
                best = j;
                bv = x[j];
            }
        }
    }
    return best;
}

void nn_maxpool_forward(size_t n, size_t c, size_t ih, size_t oh, float *y,
                        const float *x, const kern_pool *pool)
{
    for (size_t p = 0; p < n * c / 8; p++)
        for (size_t i = 0; i < oh; i++)
            for (size_t j = 0; j < oh; j++)
                for (size_t l = 0; l < 8; l++)
                    y[((p * oh + i) * oh + j) * 8 + l] =
                        x[window_argmax(x, ih, p, l, i, j)];
}

void nn_maxpool_backward(size_t n, size_t c, size_t ih, size_t oh, float *dx,
                         const float *dy, const float *x,
                         const kern_pool *pool)
{
    for (size_t i = 0; i < n * c * ih * ih; i++)
        dx[i] = 0.0f;
    for (size_t p = 0; p < n * c / 8; p++)
        for (size_t i = 0; i < oh; i++)
            for (size_t j = 0; j < oh; j++)
                for (size_t l = 0; l < 8; l++)
                    dx[window_argmax(x, ih, p, l, i, j)] +=
                        dy[((p * oh + i) * oh + j) * 8 + l];
}

// --- concat pool ----------------------------------------------------------------------

static size_t plane_at(size_t C, size_t hw, size_t n, size_t c, size_t s)
{
    return ((n * (C / 8) + c / 8) * hw + s) * 8 + c % 8;
}

void nn_concat_pool_forward(size_t n, size_t c, size_t hw, float *y,
                            const float *x)
{
    for (size_t i = 0; i < n; i++)
        for (size_t ch = 0; ch < c; ch++) {
            float mx = x[plane_at(c, hw, i, ch, 0)];
            double sum = 0.0;
            for (size_t s = 0; s < hw; s++) {
                float v = x[plane_at(c, hw, i, ch, s)];
                mx = v > mx ? v : mx;
                sum += v;
            }
            y[i * 2 * c + ch] = mx;
            y[i * 2 * c + c + ch] = (float)(sum / (double)hw);
        }
}

void nn_concat_pool_backward(size_t n, size_t c, size_t hw, float *dx,
                             const float *dy, const float *x)
{
    for (size_t i = 0; i < n; i++)
        for (size_t ch = 0; ch < c; ch++) {
            size_t best = 0;
            float mx = x[plane_at(c, hw, i, ch, 0)];
            for (size_t s = 1; s < hw; s++)
                if (x[plane_at(c, hw, i, ch, s)] > mx) {
                    mx = x[plane_at(c, hw, i, ch, s)];
                    best = s;
                }
            float davg = dy[i * 2 * c + c + ch] / (float)hw;
            for (size_t s = 0; s < hw; s++)
                dx[plane_at(c, hw, i, ch, s)] =
                    davg + (s == best ? dy[i * 2 * c + ch] : 0.0f);
        }
}
