/*
 * kernels/conv/conv-layout.c: NCHW <-> NCHW8c and weight packing.
 *
 * Portable code, the same for every ISA. The packed weight order
 * (kernels/README.md) is, for each group of 16 "output" channels (the last
 * group may hold 8), [in-block][KH][KW][cb][16]: the microkernel's inner
 * step reads the 16 output-channel weights of one input channel and one tap
 * as one contiguous 64-byte line.
 * - forward: output = OC, input blocks of cb = 8 channels (cb = 1 for a
 *   plain-input shape, i.e. one block per image channel);
 * - backward-data: roles swapped: output = IC, input blocks = 8 of OC, taps
 *   flipped (tap (kh, kw) stored at (KH-1-kh, KW-1-kw)).
 */
#include "kernels/conv.h"

void kern_conv_nchw_to_nchw8c(float *restrict dst, const float *restrict src,
                              size_t n, size_t c, size_t hw)
{
    KERN_ASSERT(c % 8 == 0);
    for (size_t i = 0; i < n * c / 8; i++) {
        const float *s = src + i * 8 * hw; // (8, HW)
        float *d = dst + i * 8 * hw;       // (HW, 8)
        for (size_t p = 0; p < hw; p++)
            for (size_t l = 0; l < 8; l++)
                d[p * 8 + l] = s[l * hw + p];
    }
}

void kern_conv_nchw8c_to_nchw(float *restrict dst, const float *restrict src,
                              size_t n, size_t c, size_t hw)
{
    KERN_ASSERT(c % 8 == 0);
    for (size_t i = 0; i < n * c / 8; i++) {
        const float *s = src + i * 8 * hw; // (HW, 8)
        float *d = dst + i * 8 * hw;       // (8, HW)
        for (size_t l = 0; l < 8; l++)
            for (size_t p = 0; p < hw; p++)
                d[l * hw + p] = s[p * 8 + l];
    }
}

size_t kern_conv_packed_size(const kern_conv_shape *s, kern_conv_pass pass)
{
    if (pass == KERN_CONV_BACKWARD_WEIGHTS)
        return 0;
    return s->oc * s->ic * s->kh * s->kw * sizeof(float);
}

/* w (nout x nin roles of OC, IC) -> [group 16][nin/cb][KH][KW][cb][gw].
 * transposed: the "output" channel is IC (w index [in][out]) and the taps
 * are stored flipped, so the backward-data walk (dout rows in ascending
 * address) reads the weights in ascending address too. */
static void pack(float *restrict dst, const float *restrict w, size_t nout,
                 size_t nin, size_t kh, size_t kw, size_t cb, bool transposed,
                 size_t ic)
{
    size_t taps = kh * kw;
    for (size_t g = 0; g < nout; g += 16) {
        size_t gw = KERN_MIN(16, nout - g);
        float *d = dst + g * nin * taps;
        for (size_t b = 0; b < nin / cb; b++)
            for (size_t t = 0; t < taps; t++)
                for (size_t c = 0; c < cb; c++)
                    for (size_t j = 0; j < gw; j++) {
                        size_t o = g + j, i = b * cb + c;
                        size_t oc = transposed ? i : o, icn = transposed ? o : i;
                        size_t tt = transposed ? taps - 1 - t : t;
                        *d++ = w[(oc * ic + icn) * taps + tt];
                    }
    }
}

void kern_conv_pack_weights(const kern_conv_shape *s, kern_conv_pass pass,
                            float *restrict packed, const float *restrict w)
{
    KERN_ASSERT(s->oc % 8 == 0);
    if (pass == KERN_CONV_FORWARD) {
        size_t cb = kern_conv_plain_input(s) ? 1 : 8;
        pack(packed, w, s->oc, s->ic, s->kh, s->kw, cb, false, s->ic);
    } else if (pass == KERN_CONV_BACKWARD_DATA) {
        KERN_ASSERT(!kern_conv_plain_input(s));
        pack(packed, w, s->ic, s->oc, s->kh, s->kw, 8, true, s->ic);
    }
}
