/*
 * kernels/eltwise/f32-eltwise-ref.c: ReLU, add + ReLU, add, fill and their
 * backward passes, the oracle (serial; pool ignored). kernels/layers.h has
 * the contracts; every output may alias its inputs.
 */
#include "kernels/layers/layers-internal.h"

void kern_f32_relu__ref(const kern_pool *pool, size_t len, float *out,
                        const float *inp)
{
    for (size_t i = 0; i < len; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void kern_f32_relu_backward__ref(const kern_pool *pool, size_t len,
                                 float *dinp, const float *dout,
                                 const float *out)
{
    for (size_t i = 0; i < len; i++)
        dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void kern_f32_add_relu__ref(const kern_pool *pool, size_t len, float *out,
                            const float *a, const float *b)
{
    for (size_t i = 0; i < len; i++) {
        float s = a[i] + b[i];
        out[i] = s > 0.0f ? s : 0.0f;
    }
}

void kern_f32_add_relu_backward__ref(const kern_pool *pool, size_t len,
                                     float *da, float *db_acc,
                                     const float *dout, const float *out)
{
    for (size_t i = 0; i < len; i++) {
        float g = out[i] > 0.0f ? dout[i] : 0.0f;
        if (db_acc)
            db_acc[i] += g;
        da[i] = g;
    }
}

void kern_f32_add__ref(const kern_pool *pool, size_t len, float *out,
                       const float *a, const float *b)
{
    for (size_t i = 0; i < len; i++)
        out[i] = a[i] + b[i];
}

void kern_f32_fill__ref(const kern_pool *pool, size_t len, float *out,
                        float value)
{
    for (size_t i = 0; i < len; i++)
        out[i] = value;
}
