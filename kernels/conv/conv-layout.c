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
#include "kernels/conv/conv-internal.h"

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

/* One packing job: w (nout x nin roles of OC, IC) ->
 * [group 16][nin/cb][KH][KW][cb][gw]. transposed: the "output" channel is
 * IC (w index [in][out]) and the taps are stored flipped, so the
 * backward-data walk (dout rows in ascending address) reads the weights in
 * ascending address too; with stride st > 1 a group is stored phase by
 * phase (ph, pw) in row-major order, each phase [nin/cb][its taps][cb][gw]
 * (its taps in flipped order), so the stride phase that reads 1-4 of the
 * 9 taps of a block reads one dense slab (a 16 KB pass of a 1-tap phase
 * was 32 runs of 512 bytes, 4.5 KB apart: measured 6-17% slower). */
typedef struct pack_job {
    float *dst;
    const float *w;
    size_t nout, nin, kh, kw, cb, ic, st, pad;
    bool transposed;
} pack_job;

/* One 16-channel group (a task), written in address order: for each phase
 * (one unless transposed with a stride), input block, tap of the phase and
 * channel, the gw weights of the group's "output" channels, gathered from
 * gw rows of w (forward: stride IC x taps; with the roles transposed:
 * consecutive, taps apart, read with the taps flipped). Row pointers
 * instead of an OIHW index per value. */
static void pack_group(void *vjob, size_t task, size_t thread)
{
    (void)thread;
    const pack_job *p = vjob;
    size_t g = task * 16, gw = KERN_MIN(16, p->nout - g);
    size_t taps = p->kh * p->kw, cb = p->cb, st = p->st;
    /* floats between the weights of consecutive group channels */
    size_t js = p->transposed ? taps : p->ic * taps;
    float *d = p->dst + g * p->nin * taps;
    for (size_t ph = 0; ph < st * st; ph++) {
        size_t list[KERN_CONV_MAX_TAPS], n = 0;
        for (size_t t = 0; t < taps; t++) {
            /* stored tap t is kernel tap taps - 1 - t when transposed */
            size_t k = p->transposed ? taps - 1 - t : t;
            if (kern_conv_phase_of(k / p->kw, k % p->kw, p->pad, st) == ph)
                list[n++] = k;
        }
        for (size_t b = 0; b < p->nin / cb; b++)
            for (size_t t = 0; t < n; t++)
                for (size_t c = 0; c < cb; c++) {
                    size_t i = b * cb + c;
                    size_t row = p->transposed ? i * p->ic + g : g * p->ic + i;
                    const float *src = p->w + row * taps + list[t];
                    for (size_t j = 0; j < gw; j++)
                        *d++ = src[j * js];
                }
    }
}

void kern_conv_pack_weights(const kern_conv_shape *s, kern_conv_pass pass,
                            float *restrict packed, const float *restrict w,
                            const kern_pool *pool)
{
    KERN_ASSERT(s->oc % 8 == 0);
    KERN_ASSERT(s->kh * s->kw <= KERN_CONV_MAX_TAPS);
    pack_job p = {packed, w, s->oc, s->ic, s->kh, s->kw, 8, s->ic, 1, 0,
                  false};
    if (pass == KERN_CONV_FORWARD) {
        if (kern_conv_plain_input(s))
            p.cb = 1;
    } else if (pass == KERN_CONV_BACKWARD_DATA) {
        KERN_ASSERT(!kern_conv_plain_input(s));
        p.nout = s->ic, p.nin = s->oc, p.transposed = true;
        p.st = s->stride, p.pad = s->pad;
    } else {
        return;
    }
    kern_parallel_for(pool, pack_group, &p, KERN_DIV_UP(p.nout, 16));
}
