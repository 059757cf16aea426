/*
 * data/lighting.c: see lighting.h (scalar version and selection).
 */
#include "data/lighting.h"

#include <math.h>

#include "kernels/dispatch.h"

void data_lighting__scalar(float *v, size_t n, float add, float mul)
{
    for (size_t i = 0; i < n; i++) {
        float x = fminf(fmaxf(v[i], 1e-7f), 1.0f - 1e-7f);
        float q = (logf(x / (1.0f - x)) + add) * mul;
        v[i] = 1.0f / (1.0f + expf(-q));
    }
}

data_lighting_fn data_lighting_select(void)
{
#if defined(__x86_64__)
    if (kern_isa_has_avx2(kern_isa_active()))
        return data_lighting__avx2;
#endif
    return data_lighting__scalar;
}
