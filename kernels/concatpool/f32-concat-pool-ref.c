/*
 * kernels/concatpool/f32-concat-pool-ref.c: fastai's AdaptiveConcatPool2d to
 * 1x1 (max first, then average) from NCHW8c to (N, 2C), forward and
 * backward, the oracle (serial, double accumulation for the mean).
 */
#include "kernels/layers/layers-internal.h"

static size_t at(size_t c_total, size_t hw, size_t n, size_t c, size_t p)
{
    return ((n * (c_total / 8) + c / 8) * hw + p) * 8 + c % 8;
}

void kern_f32_concat_pool_forward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *out,
    const float *inp)
{
    KERN_ASSERT(c % 8 == 0 && hw > 0);
    for (size_t b = 0; b < n; b++)
        for (size_t ch = 0; ch < c; ch++) {
            float best = -__builtin_inff();
            double sum = 0.0;
            for (size_t p = 0; p < hw; p++) {
                float v = inp[at(c, hw, b, ch, p)];
                best = v > best ? v : best;
                sum += v;
            }
            out[b * 2 * c + ch] = best;
            out[b * 2 * c + c + ch] = (float)(sum / (double)hw);
        }
}

void kern_f32_concat_pool_backward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *dinp,
    const float *dout, const float *inp, const float *out)
{
    KERN_ASSERT(c % 8 == 0 && hw > 0);
    for (size_t b = 0; b < n; b++)
        for (size_t ch = 0; ch < c; ch++) {
            double davg = dout[b * 2 * c + c + ch] / (double)hw;
            float best = out[b * 2 * c + ch];
            bool done = false;
            for (size_t p = 0; p < hw; p++) {
                size_t i = at(c, hw, b, ch, p);
                double g = davg;
                if (!done && inp[i] == best) {
                    g += dout[b * 2 * c + ch];
                    done = true;
                }
                dinp[i] = (float)g;
            }
        }
}
