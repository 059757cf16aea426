/*
 * kernels/layers/layers-init.c: kern_layers_init fills the layer kernels'
 * table for one ISA (called by kern_init through kernels/families.inc).
 * Before any kern_init the references run, matching kern_isa_active().
 */
#include "kernels/layers/layers-internal.h"

kern_layers_table kern_layers = {.ref = true};

#define KERN_LAYERS_SET(t, isa)                                               \
    do {                                                                      \
        (t).bn8_stats = kern_f32_bn8_stats__##isa;                            \
        (t).bn8_apply = kern_f32_bn8_apply__##isa;                            \
        (t).bn8_bwd_reduce = kern_f32_bn8_bwd_reduce__##isa;                  \
        (t).bn8_bwd_apply = kern_f32_bn8_bwd_apply__##isa;                    \
        (t).relu = kern_f32_relu__##isa;                                      \
        (t).relu_bwd = kern_f32_relu_bwd__##isa;                              \
        (t).add_relu = kern_f32_add_relu__##isa;                              \
        (t).add_relu_bwd = kern_f32_add_relu_bwd__##isa;                      \
        (t).add = kern_f32_add__##isa;                                        \
        (t).fill = kern_f32_fill__##isa;                                      \
        (t).maxpool_fwd = kern_f32_maxpool_fwd__##isa;                        \
        (t).maxpool_bwd = kern_f32_maxpool_bwd__##isa;                        \
        (t).xent_row = kern_f32_xent_row__##isa;                              \
        (t).adam = kern_f32_adam__##isa;                                      \
    } while (0)

void kern_layers_init(kern_isa isa)
{
    kern_layers_table t = {.ref = isa == KERN_ISA_REF};
    KERN_LAYERS_SET(t, scalar);
    t.dropout = kern_f32_dropout__scalar;
    t.cpool_fwd = kern_f32_cpool_fwd__scalar;
    t.cpool_bwd = kern_f32_cpool_bwd__scalar;
#if defined(__x86_64__)
    if (kern_isa_has_avx2(isa))
        KERN_LAYERS_SET(t, avx2);
#endif
#if defined(__aarch64__)
    if (isa == KERN_ISA_NEON)
        KERN_LAYERS_SET(t, neon);
#endif
    kern_layers = t;
}
