/*
 * kernels/dispatch.c: CPU detection and filling of the kernel tables.
 */
#include "kernels/dispatch.h"

#define KERN_FAMILY(name) \
    void kern_##name##_init(kern_isa isa) __attribute__((weak));
#include "kernels/families.inc"
#undef KERN_FAMILY

static kern_isa active_isa = KERN_ISA_REF;

// --- CPU detection ----------------------------------------------------------

#if defined(__x86_64__) || defined(__i386__)
static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}

static bool cpu_has_avx2_fma(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    if (r[0] < 7)
        return false;
    cpuid(1, 0, r);
    bool fma = r[2] & (1u << 12), osxsave = r[2] & (1u << 27),
         avx = r[2] & (1u << 28);
    if (!(fma && osxsave && avx))
        return false;
    /* XGETBV(0): bits 1 (SSE) and 2 (AVX upper halves) saved by the OS. */
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u)
        return false;
    cpuid(7, 0, r);
    return r[1] & (1u << 5); /* AVX2 */
}

/* AVX-512 F, DQ, BW and VL (leaf 7 EBX bits 16, 17, 30, 31), with the
 * opmask and both halves of the ZMM state saved by the OS (XCR0 bits 5-7). */
static bool cpu_has_avx512(void)
{
    if (!cpu_has_avx2_fma())
        return false;
    uint32_t lo, hi, r[4];
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6u) != 0xe6u)
        return false;
    cpuid(7, 0, r);
    uint32_t want = 1u << 16 | 1u << 17 | 1u << 30 | 1u << 31;
    return (r[1] & want) == want;
}
#endif

bool kern_isa_available(kern_isa isa)
{
    switch (isa) {
    case KERN_ISA_REF:
    case KERN_ISA_SCALAR:
        return true;
    case KERN_ISA_AVX2:
#if defined(__x86_64__)
        return cpu_has_avx2_fma();
#else
        return false;
#endif
    case KERN_ISA_AVX512:
#if defined(__x86_64__)
        return cpu_has_avx512();
#else
        return false;
#endif
    case KERN_ISA_NEON:
#if defined(__aarch64__)
        return true;
#else
        return false;
#endif
    default:
        return false;
    }
}

// --- names -------------------------------------------------------------------

static const char *const isa_names[KERN_ISA_COUNT] = {
    [KERN_ISA_REF] = "ref",
    [KERN_ISA_SCALAR] = "scalar",
    [KERN_ISA_AVX2] = "avx2",
    [KERN_ISA_AVX512] = "avx512",
    [KERN_ISA_NEON] = "neon",
};

const char *kern_isa_name(kern_isa isa)
{
    return isa < KERN_ISA_COUNT ? isa_names[isa] : "best";
}

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

bool kern_isa_parse(const char *name, kern_isa *isa)
{
    for (int i = 0; i <= KERN_ISA_COUNT; i++) {
        if (str_eq(name, kern_isa_name((kern_isa)i))) {
            *isa = (kern_isa)i;
            return true;
        }
    }
    return false;
}

// --- init --------------------------------------------------------------------

kern_isa kern_init(kern_isa requested)
{
    kern_isa isa = requested;
    if (isa >= KERN_ISA_COUNT || !kern_isa_available(isa)) {
        isa = KERN_ISA_SCALAR;
        if (kern_isa_available(KERN_ISA_AVX2))
            isa = KERN_ISA_AVX2;
        if (kern_isa_available(KERN_ISA_AVX512))
            isa = KERN_ISA_AVX512;
        if (kern_isa_available(KERN_ISA_NEON))
            isa = KERN_ISA_NEON;
    }
#define KERN_FAMILY(name) \
    if (kern_##name##_init)  \
        kern_##name##_init(isa);
#include "kernels/families.inc"
#undef KERN_FAMILY
    active_isa = isa;
    return isa;
}

kern_isa kern_isa_active(void)
{
    return active_isa;
}
