/*
 * kernels/conv/f32-conv2d-6x16-scalar.c: portable convolution microkernels
 * (contract in conv-internal.h): up to 6 pixels (or items) x 16 channels of
 * float accumulators, plain C, no intrinsics.
 */
#include "kernels/conv/conv-internal.h"

static void fwd(const kern_conv_fwd_args *a, size_t cb)
{
    size_t r = a->r, gw = a->g * 8;
    KERN_ASSERT(r >= 1 && r <= KERN_CONV_MR && a->g >= 1 && a->g <= 2);
    float acc[KERN_CONV_MR][16];
    for (size_t p = 0; p < r; p++)
        for (size_t j = 0; j < gw; j++)
            acc[p][j] = a->accumulate && a->out_off[p] >= 0
                ? a->out[a->out_off[p] + (j / 8) * a->out_bstride + j % 8]
                : 0.0f;
    for (size_t b = 0; b < a->nblocks; b++)
        for (size_t t = 0; t < a->ntaps; t++) {
            const float *ip = a->in + b * a->in_bstride + a->in_off[t];
            const float *wp = a->w + b * a->w_bstride + a->w_off[t];
            for (size_t c = 0; c < cb; c++)
                for (size_t p = 0; p < r; p++) {
                    float x = ip[p * a->in_ps + c];
                    for (size_t j = 0; j < gw; j++)
                        acc[p][j] += x * wp[c * gw + j];
                }
        }
    for (size_t p = 0; p < r; p++)
        for (size_t j = 0; j < gw && a->out_off[p] >= 0; j++)
            a->out[a->out_off[p] + (j / 8) * a->out_bstride + j % 8] =
                acc[p][j];
}

void kern_f32_conv2d_ukernel_6x16__scalar(const kern_conv_fwd_args *a)
{
    fwd(a, 8);
}

void kern_f32_conv2d_c1_ukernel_6x16__scalar(const kern_conv_fwd_args *a)
{
    fwd(a, 1);
}

void kern_f32_conv2d_c7_ukernel_6x16__scalar(const kern_conv_fwd_args *a)
{
    fwd(a, 7);
}

void kern_f32_conv2d_bwdw_ukernel_6x16__scalar(const kern_conv_bwdw_args *a)
{
    size_t nb = a->b, gw = a->g * 8;
    KERN_ASSERT(nb >= 1 && nb <= KERN_CONV_MR && a->g >= 1 && a->g <= 2);
    float acc[KERN_CONV_MR][16];
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < gw; j++)
            acc[i][j] = a->zero ? 0.0f : a->dw[i * a->dw_rs + j];
    for (size_t n = 0; n < a->imgs; n++) {
        for (size_t y = 0; y < a->rows; y++) {
            const float *d = a->dout + n * a->dout_is + y * a->dout_rs;
            const float *x = a->in + n * a->in_is + y * a->in_rs;
            for (size_t col = 0; col < a->ow; col++)
                for (size_t i = 0; i < nb; i++) {
                    float v = x[col * a->in_ps + a->in_off[i]];
                    for (size_t j = 0; j < gw; j++)
                        acc[i][j] += v * d[col * 8 + (j / 8) * a->dout_bstride +
                                           j % 8];
                }
        }
    }
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < gw; j++)
            a->dw[i * a->dw_rs + j] = acc[i][j];
}
