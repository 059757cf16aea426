/*
 * kernels/dropout/f32-dropout-ref.c: inverted dropout with the counter-based
 * mask kern_dropout_keep (kernels/layers.h), the oracle (serial).
 */
#include "kernels/layers/layers-internal.h"

void kern_f32_dropout_forward__ref(const kern_pool *pool, size_t len,
                                   float *out, const float *inp, float p,
                                   uint64_t seed, bool train)
{
    KERN_ASSERT(p >= 0.0f && p < 1.0f);
    /* The scale is rounded to float once, as every variant does, so all
     * variants agree bit for bit. */
    float scale = (float)(1.0 / (1.0 - (double)p));
    for (size_t i = 0; i < len; i++) {
        if (!train)
            out[i] = inp[i];
        else
            out[i] = kern_dropout_keep(seed, i, p) ? inp[i] * scale
                                                   : 0.0f;
    }
}

void kern_f32_dropout_backward__ref(const kern_pool *pool, size_t len,
                                    float *dinp, const float *dout, float p,
                                    uint64_t seed)
{
    kern_f32_dropout_forward__ref(pool, len, dinp, dout, p, seed, true);
}
