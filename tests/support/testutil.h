/*
 * tests/support/testutil.h: what every test shares: a seeded generator,
 * poisoning, padded aligned buffers, the ISA loop and the tolerance check.
 * Plain libc only, so the same helpers serve the native Criterion build and
 * the AArch64 build that runs under qemu.
 */
#ifndef RESIN_TESTS_TESTUTIL_H
#define RESIN_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "kernels/dispatch.h"

// --- random numbers (splitmix64; fixed seeds, printed on failure) -------------
typedef struct { uint64_t s; } tu_rng;
static inline tu_rng tu_rng_seed(uint64_t seed) { return (tu_rng){seed}; }
uint64_t tu_next(tu_rng *r);
float tu_uniform(tu_rng *r, float lo, float hi);
void tu_fill(tu_rng *r, float *x, size_t n, float lo, float hi);

// --- buffers --------------------------------------------------------------------
/* 64-byte aligned, with KERN_EXTRA_BYTES of readable padding; aborts on OOM. */
void *tu_alloc(size_t bytes);
void tu_free(void *p);
void tu_poison_nan(float *x, size_t n);         /* outputs, before each call */
void tu_poison_bytes(void *p, size_t bytes);    /* scratch: 0xA5 */

// --- ISAs -------------------------------------------------------------------------
/* Fills isas[] with every ISA this build and CPU run, lowest first; returns the
 * count. Tests loop over it, calling kern_init(isa) before each pass. */
size_t tu_isas(kern_isa isas[KERN_ISA_COUNT]);

// --- comparison -----------------------------------------------------------------
/* Element i passes when |got[i] - ref[i]| <= atol + rtol * mag[i], where mag[i]
 * is the sum of |products| that formed ref[i] (pass NULL to use |ref[i]|).
 * Returns true if all pass; otherwise fills *worst with the index of the worst
 * element (largest error / allowed) and returns false. NaN never passes. */
bool tu_close(const float *got, const double *ref, const double *mag, size_t n,
              double rtol, double atol, size_t *worst);

#endif /* RESIN_TESTS_TESTUTIL_H */
