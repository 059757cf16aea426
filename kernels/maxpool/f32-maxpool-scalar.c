/*
 * kernels/maxpool/f32-maxpool-scalar.c: max-pool 3x3/2/1 on one NCHW8c plane,
 * portable C. Window rows and columns are clamped to the image, which is
 * the same as -inf padding.
 */
#include "kernels/layers/layers-internal.h"

void kern_f32_maxpool_fwd__scalar(size_t h, size_t w, float *out,
                                  const float *inp)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    for (size_t oy = 0; oy < ho; oy++) {
        size_t y0 = oy ? 2 * oy - 1 : 0, y1 = KERN_MIN(h, 2 * oy + 2);
        for (size_t ox = 0; ox < wo; ox++) {
            size_t x0 = ox ? 2 * ox - 1 : 0, x1 = KERN_MIN(w, 2 * ox + 2);
            float best[8];
            for (size_t l = 0; l < 8; l++)
                best[l] = -__builtin_inff();
            for (size_t iy = y0; iy < y1; iy++)
                for (size_t ix = x0; ix < x1; ix++)
                    for (size_t l = 0; l < 8; l++) {
                        float v = inp[(iy * w + ix) * 8 + l];
                        best[l] = v > best[l] ? v : best[l];
                    }
            for (size_t l = 0; l < 8; l++)
                out[(oy * wo + ox) * 8 + l] = best[l];
        }
    }
}

void kern_f32_maxpool_bwd__scalar(size_t h, size_t w, float *dinp,
                                  const float *dout, const float *inp,
                                  const float *out)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    for (size_t i = 0; i < h * w * 8; i++)
        dinp[i] = 0.0f;
    for (size_t oy = 0; oy < ho; oy++) {
        size_t y0 = oy ? 2 * oy - 1 : 0, y1 = KERN_MIN(h, 2 * oy + 2);
        for (size_t ox = 0; ox < wo; ox++) {
            size_t x0 = ox ? 2 * ox - 1 : 0, x1 = KERN_MIN(w, 2 * ox + 2);
            const float *y = out + (oy * wo + ox) * 8;
            const float *dy = dout + (oy * wo + ox) * 8;
            bool done[8] = {false};
            for (size_t iy = y0; iy < y1; iy++)
                for (size_t ix = x0; ix < x1; ix++)
                    for (size_t l = 0; l < 8; l++) {
                        size_t i = (iy * w + ix) * 8 + l;
                        if (!done[l] && inp[i] == y[l]) {
                            dinp[i] += dy[l];
                            done[l] = true;
                        }
                    }
        }
    }
}
