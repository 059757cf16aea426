/*
 * data/lighting.h: fastai's logit-space lighting over a run of values, one
 * version per ISA (the AVX2 one uses SLEEF's 8-lane logf/expf).
 *
 *   v <- sigmoid((logit(clamp(v, 1e-7, 1 - 1e-7)) + add) * mul)
 *
 * with add = logit(b) when brightness fired (else 0) and mul = c when
 * contrast fired (else 1): adding 0 and multiplying by 1 are exact, so one
 * routine serves every combination.
 */
#ifndef RESIN_DATA_LIGHTING_H
#define RESIN_DATA_LIGHTING_H

#include <stddef.h>

typedef void (*data_lighting_fn)(float *v, size_t n, float add, float mul);

void data_lighting__scalar(float *v, size_t n, float add, float mul);
#if defined(__x86_64__)
void data_lighting__avx2(float *v, size_t n, float add, float mul);
#endif

/* The version for the ISA kern_init selected. */
data_lighting_fn data_lighting_select(void);

#endif /* RESIN_DATA_LIGHTING_H */
