/*
 * harness/isa.h: kernel ISA selection for programs: RESIN_ISA=ref|scalar|
 * avx2|avx512|neon|best (default best) decides what kern_init gets.
 */
#ifndef RESIN_HARNESS_ISA_H
#define RESIN_HARNESS_ISA_H

#include "kernels/dispatch.h"

/* Calls kern_init with RESIN_ISA (or best); returns false and logs one line
 * if RESIN_ISA holds something else. */
bool harness_isa_init(kern_isa *selected);

#endif
