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

/* One packing job: w (nout x nin roles of OC, IC) ->
 * [group 16][nin/cb][KH][KW][cb][gw]. transposed: the "output" channel is
 * IC (w index [in][out]) and the taps are stored flipped, so the
 * backward-data walk (dout rows in ascending address) reads the weights in
 * ascending address too. */
typedef struct pack_job {
    float *dst;
    const float *w;
    size_t nout, nin, taps, cb, ic;
    bool transposed;
} pack_job;

/* One 16-channel group (a task), written in address order: for each
 * input block, tap and channel, the gw weights of the group's "output"
 * channels, gathered from gw rows of w (forward: stride IC x taps; with
 * the roles transposed: consecutive, taps apart, read with the taps
 * flipped). Row pointers instead of an OIHW index per value. */
static void pack_group(void *vjob, size_t task, size_t thread)
{
    (void)thread;
    const pack_job *p = vjob;
    size_t g = task * 16, gw = KERN_MIN(16, p->nout - g);
    size_t taps = p->taps, cb = p->cb;
    /* floats between the weights of consecutive group channels */
    size_t js = p->transposed ? taps : p->ic * taps;
    float *d = p->dst + g * p->nin * taps;
    for (size_t b = 0; b < p->nin / cb; b++)
        for (size_t t = 0; t < taps; t++)
            for (size_t c = 0; c < cb; c++) {
                size_t i = b * cb + c;
                const float *src =
                    p->transposed
                        ? p->w + (i * p->ic + g) * taps + (taps - 1 - t)
                        : p->w + (g * p->ic + i) * taps + t;
                for (size_t j = 0; j < gw; j++)
                    *d++ = src[j * js];
            }
}

void kern_conv_pack_weights(const kern_conv_shape *s, kern_conv_pass pass,
                            float *restrict packed, const float *restrict w,
                            const kern_pool *pool)
{
    KERN_ASSERT(s->oc % 8 == 0);
    pack_job p = {packed, w, s->oc, s->ic, s->kh * s->kw, 8, s->ic, false};
    if (pass == KERN_CONV_FORWARD) {
        if (kern_conv_plain_input(s))
            p.cb = 1;
    } else if (pass == KERN_CONV_BACKWARD_DATA) {
        KERN_ASSERT(!kern_conv_plain_input(s));
        p.nout = s->ic, p.nin = s->oc, p.transposed = true;
    } else {
        return;
    }
    kern_parallel_for(pool, pack_group, &p, KERN_DIV_UP(p.nout, 16));
}
