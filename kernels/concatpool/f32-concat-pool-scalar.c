/*
 * kernels/concatpool/f32-concat-pool-scalar.c: concat-pool microkernels on
 * one plane of hw pixels x 8 channels, portable C, used for every ISA (the
 * pool only runs once per step on 7x7x512 maps).
 */
#include "kernels/layers/layers-internal.h"

void kern_f32_cpool_fwd__scalar(size_t hw, float *omax, float *oavg,
                                const float *inp)
{
    for (size_t l = 0; l < 8; l++) {
        float best = -__builtin_inff(), sum = 0.0f;
        for (size_t p = 0; p < hw; p++) {
            float v = inp[p * 8 + l];
            best = v > best ? v : best;
            sum += v;
        }
        omax[l] = best;
        oavg[l] = sum / (float)hw;
    }
}

void kern_f32_cpool_bwd__scalar(size_t hw, float *dinp, const float *dmax,
                                const float *davg, const float *inp,
                                const float *omax)
{
    for (size_t l = 0; l < 8; l++) {
        float g = davg[l] / (float)hw;
        bool done = false;
        for (size_t p = 0; p < hw; p++) {
            bool first = !done && inp[p * 8 + l] == omax[l];
            dinp[p * 8 + l] = first ? g + dmax[l] : g;
            done = done || first;
        }
    }
}
