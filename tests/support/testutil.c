/*
 * tests/support/testutil.c: see testutil.h.
 */
#include "tests/support/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float tu_uniform(tu_rng *r, float lo, float hi)
{
    double u = (double)(tu_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(lo + (hi - lo) * u);
}

void tu_fill(tu_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tu_uniform(r, lo, hi);
}

void *tu_alloc(size_t bytes)
{
    size_t total = kern_align_up(bytes + KERN_EXTRA_BYTES);
    void *p = aligned_alloc(KERN_ALIGN, total);
    if (!p) {
        fprintf(stderr, "tu_alloc: out of memory (%zu bytes)\n", bytes);
        abort();
    }
    memset(p, 0, total);
    return p;
}

void tu_free(void *p)
{
    free(p);
}

void tu_poison_nan(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
}

void tu_poison_bytes(void *p, size_t bytes)
{
    memset(p, 0xA5, bytes);
}

size_t tu_isas(kern_isa isas[KERN_ISA_COUNT])
{
    size_t n = 0;
    for (int i = 0; i < KERN_ISA_COUNT; i++)
        if (kern_isa_available((kern_isa)i))
            isas[n++] = (kern_isa)i;
    return n;
}

bool tu_close(const float *got, const double *ref, const double *mag, size_t n,
              double rtol, double atol, size_t *worst)
{
    bool ok = true;
    double worst_ratio = -1.0;
    for (size_t i = 0; i < n; i++) {
        double m = mag ? mag[i] : fabs(ref[i]);
        double allowed = atol + rtol * m;
        double err = fabs((double)got[i] - ref[i]);
        double ratio = isnan(err) ? INFINITY : err / allowed;
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            if (worst)
                *worst = i;
        }
        if (!(err <= allowed))
            ok = false;
    }
    return ok;
}
