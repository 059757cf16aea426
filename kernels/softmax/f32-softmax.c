/*
 * kernels/softmax/f32-softmax.c: softmax cross-entropy drivers (contract in
 * kernels/layers.h): a row microkernel per item, the batch mean in double.
 */
#include "kernels/layers/layers-internal.h"

float kern_f32_softmax_xent(size_t n, size_t c, float *losses, float *probs,
                            float *dlogits, const float *logits,
                            const int32_t *labels)
{
    KERN_ASSERT(n > 0 && c > 0);
    if (kern_layers.ref)
        return kern_f32_softmax_xent__ref(n, c, losses, probs, dlogits,
                                          logits, labels);
    double total = 0.0;
    float inv_n = (float)(1.0 / (double)n);
    for (size_t i = 0; i < n; i++) {
        KERN_ASSERT(labels[i] >= 0 && (size_t)labels[i] < c);
        float loss = kern_layers.xent_row(
            c, probs ? probs + i * c : NULL, dlogits ? dlogits + i * c : NULL,
            logits + i * c, labels[i], inv_n);
        if (losses)
            losses[i] = loss;
        total += loss;
    }
    return (float)(total / (double)n);
}

void kern_f32_softmax(size_t n, size_t c, float *probs, const float *logits)
{
    KERN_ASSERT(c > 0);
    if (kern_layers.ref) {
        kern_f32_softmax__ref(n, c, probs, logits);
        return;
    }
    for (size_t i = 0; i < n; i++)
        kern_layers.xent_row(c, probs + i * c, NULL, logits + i * c, -1,
                             0.0f);
}
