/*
 * tests/kernels/test-dispatch.c: ISA detection, forcing and names.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "kernels/dispatch.h"

Test(dispatch, names_round_trip)
{
    for (int i = 0; i <= KERN_ISA_COUNT; i++) {
        kern_isa isa;
        cr_assert(kern_isa_parse(kern_isa_name((kern_isa)i), &isa));
        cr_assert_eq(isa, (kern_isa)i);
    }
    kern_isa isa;
    cr_assert_not(kern_isa_parse("avx512f", &isa));
    cr_assert_not(kern_isa_parse("sse", &isa));
    cr_assert_not(kern_isa_parse("", &isa));
}

Test(dispatch, fallbacks_always_available)
{
    cr_assert(kern_isa_available(KERN_ISA_REF));
    cr_assert(kern_isa_available(KERN_ISA_SCALAR));
#if defined(__aarch64__)
    cr_assert(kern_isa_available(KERN_ISA_NEON));
    cr_assert_not(kern_isa_available(KERN_ISA_AVX2));
    cr_assert_not(kern_isa_available(KERN_ISA_AVX512));
#else
    cr_assert_not(kern_isa_available(KERN_ISA_NEON));
    /* AVX-512 kernels need the AVX2 ones beside them. */
    if (kern_isa_available(KERN_ISA_AVX512))
        cr_assert(kern_isa_available(KERN_ISA_AVX2));
#endif
}

Test(dispatch, forcing_lower_isa_is_honoured)
{
    cr_assert_eq(kern_init(KERN_ISA_REF), KERN_ISA_REF);
    cr_assert_eq(kern_isa_active(), KERN_ISA_REF);
    cr_assert_eq(kern_init(KERN_ISA_SCALAR), KERN_ISA_SCALAR);
    kern_isa best = kern_init(KERN_ISA_BEST);
    cr_assert(kern_isa_available(best));
    cr_assert(best >= KERN_ISA_SCALAR);
    /* A request the CPU cannot run falls back to the best it can. */
#if defined(__aarch64__)
    cr_assert_eq(kern_init(KERN_ISA_AVX2), best);
#else
    cr_assert_eq(kern_init(KERN_ISA_NEON), best);
#endif
}
