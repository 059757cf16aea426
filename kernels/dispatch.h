/*
 * kernels/dispatch.h: CPU feature detection and the kernel tables.
 *
 * kern_init() detects the CPU once (CPUID AVX2 and FMA bits, the AVX-512
 * F/DQ/BW/VL bits, and XGETBV to check that the OS saves the YMM, opmask
 * and ZMM state; NEON is baseline on AArch64) and fills
 * each kernel family's table of function pointers. Hot paths call through the
 * tables and never query the CPU.
 *
 * The ISAs are ordered: a request for a lower ISA than the CPU has is honoured
 * (tests and users force `ref` or `scalar` to exercise the fallbacks); a
 * request for one the CPU lacks falls back to the best the CPU has. Calling
 * kern_init again switches ISA; it must not race with running kernels.
 */
#ifndef RESIN_KERNELS_DISPATCH_H
#define RESIN_KERNELS_DISPATCH_H

#include "kernels/kern.h"

typedef enum kern_isa {
    KERN_ISA_REF = 0, /* the plain-C reference: the oracle, slow on purpose */
    KERN_ISA_SCALAR,  /* portable microkernels, no intrinsics */
    KERN_ISA_AVX2,    /* x86-64 AVX2 + FMA */
    KERN_ISA_AVX512,  /* AVX2 + FMA + AVX-512 F/DQ/BW/VL (x86-64-v4) */
    KERN_ISA_NEON,    /* AArch64 Advanced SIMD */
    KERN_ISA_COUNT,
    KERN_ISA_BEST = KERN_ISA_COUNT /* argument to kern_init: best available */
} kern_isa;

/* True if this build contains the ISA's kernels and the CPU runs them. */
bool kern_isa_available(kern_isa isa);

/* "ref", "scalar", "avx2", "avx512", "neon". */
const char *kern_isa_name(kern_isa isa);

/* Parses an ISA name (as kern_isa_name prints it, or "best"); returns false
 * for anything else. */
bool kern_isa_parse(const char *name, kern_isa *isa);

/* Fills every kernel table for the requested ISA (see above) and returns the
 * ISA in use. */
kern_isa kern_init(kern_isa requested);

/* The ISA selected by the last kern_init (KERN_ISA_REF before any). */
kern_isa kern_isa_active(void);

/* True for the x86-64 ISAs that run the AVX2+FMA kernels (AVX2 itself, and
 * AVX-512, whose families without zmm kernels keep the AVX2 ones). */
static inline bool kern_isa_has_avx2(kern_isa isa)
{
    return isa == KERN_ISA_AVX2 || isa == KERN_ISA_AVX512;
}

#endif /* RESIN_KERNELS_DISPATCH_H */
