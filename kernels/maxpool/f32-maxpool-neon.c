/*
 * kernels/maxpool/f32-maxpool-neon.c: max-pool 3x3/2/1 on one NCHW8c plane,
 * AArch64 NEON: one output pixel is two q registers; same scheme as the
 * AVX2 variant (clamped windows, first maximum in scan order takes the
 * gradient, additions in the reference's order).
 */
#include <arm_neon.h>

#include "kernels/layers/layers-internal.h"

void kern_f32_maxpool_fwd__neon(size_t h, size_t w, float *out,
                                const float *inp)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    for (size_t oy = 0; oy < ho; oy++) {
        size_t y0 = oy ? 2 * oy - 1 : 0, y1 = KERN_MIN(h, 2 * oy + 2);
        for (size_t ox = 0; ox < wo; ox++) {
            size_t x0 = ox ? 2 * ox - 1 : 0, x1 = KERN_MIN(w, 2 * ox + 2);
            float32x4_t vmax0 = vdupq_n_f32(-__builtin_inff()), vmax1 = vmax0;
            for (size_t iy = y0; iy < y1; iy++)
                for (size_t ix = x0; ix < x1; ix++) {
                    const float *x = inp + (iy * w + ix) * 8;
                    vmax0 = vmaxq_f32(vmax0, vld1q_f32(x));
                    vmax1 = vmaxq_f32(vmax1, vld1q_f32(x + 4));
                }
            vst1q_f32(out + (oy * wo + ox) * 8, vmax0);
            vst1q_f32(out + (oy * wo + ox) * 8 + 4, vmax1);
        }
    }
}

void kern_f32_maxpool_bwd__neon(size_t h, size_t w, float *dinp,
                                const float *dout, const float *inp,
                                const float *out)
{
    size_t ho = kern_maxpool_3x3s2p1_out_size(h);
    size_t wo = kern_maxpool_3x3s2p1_out_size(w);
    for (size_t i = 0; i < h * w * 8; i += 4)
        vst1q_f32(dinp + i, vdupq_n_f32(0.0f));
    for (size_t oy = 0; oy < ho; oy++) {
        size_t y0 = oy ? 2 * oy - 1 : 0, y1 = KERN_MIN(h, 2 * oy + 2);
        for (size_t ox = 0; ox < wo; ox++) {
            size_t x0 = ox ? 2 * ox - 1 : 0, x1 = KERN_MIN(w, 2 * ox + 2);
            for (size_t half = 0; half < 8; half += 4) {
                size_t o = (oy * wo + ox) * 8 + half;
                float32x4_t vy = vld1q_f32(out + o);
                uint32x4_t vdy = vreinterpretq_u32_f32(vld1q_f32(dout + o));
                uint32x4_t vtodo = vdupq_n_u32(~0u);
                for (size_t iy = y0; iy < y1; iy++)
                    for (size_t ix = x0; ix < x1; ix++) {
                        size_t i = (iy * w + ix) * 8 + half;
                        uint32x4_t veq = vandq_u32(
                            vtodo, vceqq_f32(vld1q_f32(inp + i), vy));
                        float32x4_t vg =
                            vreinterpretq_f32_u32(vandq_u32(veq, vdy));
                        vst1q_f32(dinp + i, vaddq_f32(vld1q_f32(dinp + i), vg));
                        vtodo = vbicq_u32(vtodo, veq);
                    }
            }
        }
    }
}
