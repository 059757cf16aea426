/*
 * kernels/adam/f32-adam.c: the Adam driver (contract in kernels/layers.h):
 * folds the hyper-parameters into a decay factor and a step size once, then
 * runs fixed chunks of the flat range on the pool.
 */
#include "kernels/layers/layers-internal.h"

#define ADAM_CHUNK ((size_t)32768)

typedef struct adam_ctx {
    size_t len;
    float *param, *exp_avg, *exp_avg_sq;
    const float *grad;
    float decay, step, beta1, beta2, eps;
} adam_ctx;

static void adam_task(void *vctx, size_t task, size_t thread)
{
    const adam_ctx *x = vctx;
    size_t i = task * ADAM_CHUNK, len = KERN_MIN(ADAM_CHUNK, x->len - i);
    kern_layers.adam(len, x->param + i, x->exp_avg + i, x->exp_avg_sq + i,
                     x->grad + i, x->decay, x->step, x->beta1, x->beta2,
                     x->eps);
}

void kern_f32_adam(const kern_pool *pool, size_t len, float *param,
                   float *exp_avg, float *exp_avg_sq, const float *grad,
                   const kern_adam_hparams *hp)
{
    KERN_ASSERT(hp->bias_correction1 > 0.0 && hp->bias_correction2 > 0.0);
    if (kern_layers.ref) {
        kern_f32_adam__ref(pool, len, param, exp_avg, exp_avg_sq, grad, hp);
        return;
    }
    adam_ctx ctx = {
        .len = len, .param = param, .exp_avg = exp_avg,
        .exp_avg_sq = exp_avg_sq, .grad = grad,
        .decay = (float)(1.0 - (double)hp->lr * hp->wd),
        .step = (float)(hp->lr * kern_sqrt_f64(hp->bias_correction2) /
                        hp->bias_correction1),
        .beta1 = hp->beta1, .beta2 = hp->beta2, .eps = hp->eps};
    kern_parallel_for(pool, adam_task, &ctx, KERN_DIV_UP(len, ADAM_CHUNK));
}
