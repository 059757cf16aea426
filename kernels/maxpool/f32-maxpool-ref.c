/*
 * kernels/maxpool/f32-maxpool-ref.c: max-pool 3x3, stride 2, padding 1 on
 * NCHW8c, forward and backward, the oracle (serial; pool ignored).
 * Backward: each output's gradient goes to the first window position in scan
 * order whose input equals the saved output (PyTorch's CPU kernel also keeps
 * the first maximum it meets in that order).
 */
#include "kernels/layers/layers-internal.h"

void kern_f32_maxpool_3x3s2p1_forward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t h, size_t w,
    float *out, const float *inp)
{
    KERN_ASSERT(c % 8 == 0);
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    for (size_t plane = 0; plane < n * c / 8; plane++) {
        size_t ip = plane * h * w * 8, op = plane * ho * wo * 8;
        const float (*x)[w][8] = (const float (*)[w][8])(inp + ip);
        float (*y)[wo][8] = (float (*)[wo][8])(out + op);
        for (size_t oy = 0; oy < ho; oy++)
            for (size_t ox = 0; ox < wo; ox++)
                for (size_t l = 0; l < 8; l++) {
                    float best = -__builtin_inff();
                    for (size_t ky = 0; ky < 3; ky++)
                        for (size_t kx = 0; kx < 3; kx++) {
                            size_t iy = 2 * oy + ky, ix = 2 * ox + kx;
                            if (iy < 1 || iy > h || ix < 1 || ix > w)
                                continue; /* padding */
                            float v = x[iy - 1][ix - 1][l];
                            if (v > best)
                                best = v;
                        }
                    y[oy][ox][l] = best;
                }
    }
}

void kern_f32_maxpool_3x3s2p1_backward__ref(
    const kern_pool *pool, size_t n, size_t c, size_t h, size_t w,
    float *dinp, const float *dout, const float *inp, const float *out)
{
    KERN_ASSERT(c % 8 == 0);
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    for (size_t i = 0; i < n * c * h * w; i++)
        dinp[i] = 0.0f;
    for (size_t plane = 0; plane < n * c / 8; plane++) {
        size_t ip = plane * h * w * 8, op = plane * ho * wo * 8;
        const float (*x)[w][8] = (const float (*)[w][8])(inp + ip);
        float (*dx)[w][8] = (float (*)[w][8])(dinp + ip);
        const float (*y)[wo][8] = (const float (*)[wo][8])(out + op);
        const float (*dy)[wo][8] = (const float (*)[wo][8])(dout + op);
        for (size_t oy = 0; oy < ho; oy++)
            for (size_t ox = 0; ox < wo; ox++)
                for (size_t l = 0; l < 8; l++) {
                    bool done = false;
                    for (size_t ky = 0; ky < 3 && !done; ky++)
                        for (size_t kx = 0; kx < 3 && !done; kx++) {
                            size_t iy = 2 * oy + ky, ix = 2 * ox + kx;
                            if (iy < 1 || iy > h || ix < 1 || ix > w)
                                continue;
                            if (x[iy - 1][ix - 1][l] == y[oy][ox][l]) {
                                dx[iy - 1][ix - 1][l] += dy[oy][ox][l];
                                done = true;
                            }
                        }
                }
    }
}
