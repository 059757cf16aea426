/*
 * kernels/concatpool/f32-concat-pool.c: adaptive concat pool drivers
 * (contract in kernels/layers.h): one task per (image, channel block) plane.
 */
#include "kernels/layers/layers-internal.h"

typedef struct cp_ctx {
    size_t c, hw;
    float *out, *dinp;
    const float *inp, *dout, *fwd_out;
} cp_ctx;

static void cp_fwd_task(void *vctx, size_t plane, size_t thread)
{
    const cp_ctx *x = vctx;
    size_t b = plane / (x->c / 8), cb = plane % (x->c / 8);
    float *row = x->out + b * 2 * x->c;
    kern_layers.cpool_fwd(x->hw, row + cb * 8, row + x->c + cb * 8,
                          x->inp + plane * x->hw * 8);
}

static void cp_bwd_task(void *vctx, size_t plane, size_t thread)
{
    const cp_ctx *x = vctx;
    size_t b = plane / (x->c / 8), cb = plane % (x->c / 8);
    const float *drow = x->dout + b * 2 * x->c;
    kern_layers.cpool_bwd(x->hw, x->dinp + plane * x->hw * 8, drow + cb * 8,
                          drow + x->c + cb * 8, x->inp + plane * x->hw * 8,
                          x->fwd_out + b * 2 * x->c + cb * 8);
}

void kern_f32_concat_pool_forward(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *out,
    const float *inp)
{
    KERN_ASSERT(c % 8 == 0 && hw > 0);
    if (kern_layers.ref) {
        kern_f32_concat_pool_forward__ref(pool, n, c, hw, out, inp);
        return;
    }
    cp_ctx ctx = {.c = c, .hw = hw, .out = out, .inp = inp};
    kern_parallel_for(pool, cp_fwd_task, &ctx, n * c / 8);
}

void kern_f32_concat_pool_backward(
    const kern_pool *pool, size_t n, size_t c, size_t hw, float *dinp,
    const float *dout, const float *inp, const float *out)
{
    KERN_ASSERT(c % 8 == 0 && hw > 0);
    if (kern_layers.ref) {
        kern_f32_concat_pool_backward__ref(pool, n, c, hw, dinp, dout, inp,
                                           out);
        return;
    }
    cp_ctx ctx = {.c = c, .hw = hw, .dinp = dinp, .inp = inp, .dout = dout,
                  .fwd_out = out};
    kern_parallel_for(pool, cp_bwd_task, &ctx, n * c / 8);
}
