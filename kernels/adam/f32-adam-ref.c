/*
 * kernels/adam/f32-adam-ref.c: Adam with fastai v1's decoupled weight decay
 * (PyTorch 1.0 adam.py form: denom = sqrt(v) + eps, step size
 * lr * sqrt(1 - beta2^t) / (1 - beta1^t)), the oracle: every element in
 * double, rounded to float once per stored value.
 */
#include "kernels/layers/layers-internal.h"

void kern_f32_adam__ref(const kern_pool *pool, size_t len, float *param,
                        float *exp_avg, float *exp_avg_sq, const float *grad,
                        const kern_adam_hparams *hp)
{
    KERN_ASSERT(hp->bias_correction1 > 0.0 && hp->bias_correction2 > 0.0);
    double lr = hp->lr, b1 = hp->beta1, b2 = hp->beta2;
    double step = lr * kern_sqrt_f64(hp->bias_correction2) /
                  hp->bias_correction1;
    for (size_t i = 0; i < len; i++) {
        double g = grad[i];
        double p = param[i] * (1.0 - lr * hp->wd);
        double m = b1 * exp_avg[i] + (1.0 - b1) * g;
        double v = b2 * exp_avg_sq[i] + (1.0 - b2) * g * g;
        exp_avg[i] = (float)m;
        exp_avg_sq[i] = (float)v;
        param[i] = (float)(p - step * m / (kern_sqrt_f64(v) + hp->eps));
    }
}
