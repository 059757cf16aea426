/*
 * harness/isa.c: see isa.h.
 */
#include "harness/isa.h"

#include <stdio.h>
#include <stdlib.h>

bool harness_isa_init(kern_isa *selected)
{
    const char *env = getenv("RESIN_ISA");
    kern_isa want = KERN_ISA_BEST;
    if (env && *env && !kern_isa_parse(env, &want)) {
        fprintf(stderr, "RESIN_ISA=%s: unknown ISA (use ref, scalar, avx2, "
                        "avx512, neon or best)\n", env);
        return false;
    }
    kern_isa got = kern_init(want);
    if (want != KERN_ISA_BEST && got != want)
        fprintf(stderr, "RESIN_ISA=%s: not available here, using %s\n", env,
                kern_isa_name(got));
    if (selected)
        *selected = got;
    return true;
}
