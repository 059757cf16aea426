/*
 * kernels/dropout/f32-dropout.c: dropout drivers (contract in
 * kernels/layers.h). The mask of element i is a function of (seed, i, p)
 * only, so chunking over threads cannot change it.
 */
#include "kernels/layers/layers-internal.h"

#define DROP_CHUNK ((size_t)16384)

typedef struct drop_ctx {
    size_t len;
    float *out;
    const float *inp;
    uint32_t threshold;
    float scale;
    uint64_t seed;
} drop_ctx;

static void drop_task(void *vctx, size_t task, size_t thread)
{
    const drop_ctx *x = vctx;
    size_t i = task * DROP_CHUNK, len = KERN_MIN(DROP_CHUNK, x->len - i);
    kern_layers.dropout(len, i, x->out + i, x->inp + i, x->threshold,
                        x->scale, x->seed);
}

void kern_f32_dropout_backward(const kern_pool *pool, size_t len,
                               float *dinp, const float *dout, float p,
                               uint64_t seed)
{
    KERN_ASSERT(p >= 0.0f && p < 1.0f);
    if (kern_layers.ref) {
        kern_f32_dropout_backward__ref(pool, len, dinp, dout, p, seed);
        return;
    }
    drop_ctx ctx = {.len = len, .out = dinp, .inp = dout,
                    .threshold = kern_dropout_threshold(p),
                    .scale = (float)(1.0 / (1.0 - (double)p)), .seed = seed};
    kern_parallel_for(pool, drop_task, &ctx, KERN_DIV_UP(len, DROP_CHUNK));
}

void kern_f32_dropout_forward(const kern_pool *pool, size_t len, float *out,
                              const float *inp, float p, uint64_t seed,
                              bool train)
{
    KERN_ASSERT(p >= 0.0f && p < 1.0f);
    if (kern_layers.ref) {
        kern_f32_dropout_forward__ref(pool, len, out, inp, p, seed, train);
        return;
    }
    /* Eval is a copy: p = 0 keeps every element and scales by exactly 1. */
    if (!train && out == inp)
        return;
    kern_f32_dropout_backward(pool, len, out, inp, train ? p : 0.0f, seed);
}
