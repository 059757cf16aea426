/*
 * kernels/dropout/f32-dropout-scalar.c: the dropout microkernel, portable C,
 * used for every ISA (dropout only runs on head-sized (N, 1024) tensors).
 * Same mask as kern_dropout_keep with the threshold precomputed.
 */
#include "kernels/layers/layers-internal.h"

void kern_f32_dropout__scalar(size_t len, size_t first, float *out,
                              const float *inp, uint32_t threshold,
                              float scale, uint64_t seed)
{
    uint32_t lo = (uint32_t)seed, hi = (uint32_t)(seed >> 32);
    for (size_t i = 0; i < len; i++) {
        uint32_t h = kern_dropout_mix32((uint32_t)(first + i) ^ lo);
        h = kern_dropout_mix32(h + hi);
        out[i] = (h >> 8) >= threshold ? inp[i] * scale : 0.0f;
    }
}
