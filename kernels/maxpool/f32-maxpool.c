/*
 * kernels/maxpool/f32-maxpool.c: max-pool 3x3/2/1 drivers (contract in
 * kernels/layers.h): one task per (image, channel block) plane.
 */
#include "kernels/layers/layers-internal.h"

typedef struct mp_ctx {
    size_t h, w, ho, wo;
    float *out, *dinp;
    const float *inp, *dout, *fwd_out;
} mp_ctx;

static void mp_fwd_task(void *vctx, size_t plane, size_t thread)
{
    const mp_ctx *x = vctx;
    kern_layers.maxpool_fwd(x->h, x->w, x->out + plane * x->ho * x->wo * 8,
                            x->inp + plane * x->h * x->w * 8);
}

static void mp_bwd_task(void *vctx, size_t plane, size_t thread)
{
    const mp_ctx *x = vctx;
    size_t ip = plane * x->h * x->w * 8, op = plane * x->ho * x->wo * 8;
    kern_layers.maxpool_bwd(x->h, x->w, x->dinp + ip, x->dout + op,
                            x->inp + ip, x->fwd_out + op);
}

void kern_f32_maxpool_3x3s2p1_forward(
    const kern_pool *pool, size_t n, size_t c, size_t h, size_t w,
    float *out, const float *inp)
{
    KERN_ASSERT(c % 8 == 0 && h > 0 && w > 0);
    if (kern_layers.ref) {
        kern_f32_maxpool_3x3s2p1_forward__ref(pool, n, c, h, w, out, inp);
        return;
    }
    mp_ctx ctx = {.h = h, .w = w, .ho = kern_maxpool_3x3s2p1_out_size(h),
                  .wo = kern_maxpool_3x3s2p1_out_size(w), .out = out,
                  .inp = inp};
    kern_parallel_for(pool, mp_fwd_task, &ctx, n * c / 8);
}

void kern_f32_maxpool_3x3s2p1_backward(
    const kern_pool *pool, size_t n, size_t c, size_t h, size_t w,
    float *dinp, const float *dout, const float *inp, const float *out)
{
    KERN_ASSERT(c % 8 == 0 && h > 0 && w > 0);
    if (kern_layers.ref) {
        kern_f32_maxpool_3x3s2p1_backward__ref(pool, n, c, h, w, dinp, dout,
                                               inp, out);
        return;
    }
    mp_ctx ctx = {.h = h, .w = w, .ho = kern_maxpool_3x3s2p1_out_size(h),
                  .wo = kern_maxpool_3x3s2p1_out_size(w), .dinp = dinp,
                  .inp = inp, .dout = dout, .fwd_out = out};
    kern_parallel_for(pool, mp_bwd_task, &ctx, n * c / 8);
}
