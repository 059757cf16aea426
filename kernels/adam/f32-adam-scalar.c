/*
 * kernels/adam/f32-adam-scalar.c: the Adam microkernel, portable C
 * (decay = 1 - lr*wd and step = lr*sqrt(bc2)/bc1 come from the driver).
 */
#include "kernels/layers/layers-internal.h"

void kern_f32_adam__scalar(size_t len, float *param, float *exp_avg,
                           float *exp_avg_sq, const float *grad, float decay,
                           float step, float beta1, float beta2, float eps)
{
    float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    for (size_t i = 0; i < len; i++) {
        float g = grad[i];
        float m = beta1 * exp_avg[i] + c1 * g;
        float v = beta2 * exp_avg_sq[i] + c2 * g * g;
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        param[i] = param[i] * decay - step * m / (kern_sqrt_f32(v) + eps);
    }
}
