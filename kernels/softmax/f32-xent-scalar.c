/*
 * kernels/softmax/f32-xent-scalar.c: one row of softmax cross-entropy,
 * portable C, with the libm-free double exp/log of layers-internal.h (the
 * head has 37 classes: a double exp per logit is nothing).
 */
#include "kernels/layers/layers-internal.h"

float kern_f32_xent_row__scalar(size_t c, float *probs, float *dlogits,
                                const float *logits, int32_t label,
                                float inv_n)
{
    float mx = logits[0];
    for (size_t j = 1; j < c; j++)
        mx = logits[j] > mx ? logits[j] : mx;
    double sum = 0.0;
    for (size_t j = 0; j < c; j++)
        sum += kern_exp_f64((double)logits[j] - mx);
    double inv_sum = 1.0 / sum;
    for (size_t j = 0; j < c; j++) {
        double p = kern_exp_f64((double)logits[j] - mx) * inv_sum;
        if (probs)
            probs[j] = (float)p;
        if (dlogits)
            dlogits[j] = (float)((p - ((int32_t)j == label)) * inv_n);
    }
    if (label < 0)
        return 0.0f;
    return (float)(mx + kern_log_f64(sum) - logits[label]);
}
