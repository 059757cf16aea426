/*
 * kernels/conv/f32-conv2d-ref.c: the convolution oracle.
 *
 * Plain NCHW activations and OIHW weights, loops in the order of the math,
 * double accumulation, any shape (including channel counts that are not a
 * multiple of 8). Never optimised, never used in production.
 *
 *   out[n][o][y][x] = sum_{c,i,j} inp[n][c][y*s - p + i][x*s - p + j] w[o][c][i][j]
 * and its two adjoints (cf. NNPACK src/ref/convolution-*.c).
 */
#include "kernels/conv.h"

kern_conv_shape kern_conv_shape_make(size_t n, size_t ic, size_t oc, size_t h,
                                     size_t w, size_t k, size_t stride,
                                     size_t pad)
{
    kern_conv_shape s = {
        .n = n, .ic = ic, .oc = oc, .h = h, .w = w, .kh = k, .kw = k,
        .stride = stride, .pad = pad,
    };
    s.oh = (h + 2 * pad - k) / stride + 1;
    s.ow = (w + 2 * pad - k) / stride + 1;
    return s;
}

double kern_conv_macs(const kern_conv_shape *s)
{
    return (double)s->n * s->oh * s->ow * s->oc * s->ic * s->kh * s->kw;
}

/* Input row/column of output position o at tap k, or -1 if in the padding. */
static long src_index(size_t o, size_t k, size_t stride, size_t pad,
                      size_t size)
{
    long i = (long)(o * stride + k) - (long)pad;
    return (i >= 0 && i < (long)size) ? i : -1;
}

/* Output position whose tap k reads input position i, or -1 if none. */
static long out_index(size_t i, size_t k, size_t stride, size_t pad,
                      size_t size)
{
    long t = (long)(i + pad) - (long)k;
    if (t < 0 || t % (long)stride != 0 || t / (long)stride >= (long)size)
        return -1;
    return t / (long)stride;
}

void kern_conv_forward__ref(const kern_conv_shape *s, float *out,
                            const float *inp, const float *w)
{
    float (*o4)[s->oc][s->oh][s->ow] = (void *)out;
    const float (*i4)[s->ic][s->h][s->w] = (const void *)inp;
    const float (*w4)[s->ic][s->kh][s->kw] = (const void *)w;
    for (size_t n = 0; n < s->n; n++)
        for (size_t o = 0; o < s->oc; o++)
            for (size_t y = 0; y < s->oh; y++)
                for (size_t x = 0; x < s->ow; x++) {
                    double acc = 0.0;
                    for (size_t c = 0; c < s->ic; c++)
                        for (size_t i = 0; i < s->kh; i++) {
                            long iy = src_index(y, i, s->stride, s->pad, s->h);
                            if (iy < 0)
                                continue;
                            for (size_t j = 0; j < s->kw; j++) {
                                long ix = src_index(x, j, s->stride, s->pad,
                                                    s->w);
                                if (ix >= 0)
                                    acc += (double)i4[n][c][iy][ix] *
                                           w4[o][c][i][j];
                            }
                        }
                    o4[n][o][y][x] = (float)acc;
                }
}

void kern_conv_backward_data__ref(const kern_conv_shape *s, float *dinp,
                                  const float *dout, const float *w)
{
    float (*di)[s->ic][s->h][s->w] = (void *)dinp;
    const float (*d4)[s->oc][s->oh][s->ow] = (const void *)dout;
    const float (*w4)[s->ic][s->kh][s->kw] = (const void *)w;
    for (size_t n = 0; n < s->n; n++)
        for (size_t c = 0; c < s->ic; c++)
            for (size_t iy = 0; iy < s->h; iy++)
                for (size_t ix = 0; ix < s->w; ix++) {
                    double acc = 0.0;
                    /* every (o, y, x, i, j) whose tap lands on (iy, ix):
                     * y * stride + i = iy + pad */
                    for (size_t o = 0; o < s->oc; o++)
                        for (size_t i = 0; i < s->kh; i++) {
                            long y = out_index(iy, i, s->stride, s->pad, s->oh);
                            if (y < 0)
                                continue;
                            for (size_t j = 0; j < s->kw; j++) {
                                long x = out_index(ix, j, s->stride, s->pad,
                                                   s->ow);
                                if (x >= 0)
                                    acc += (double)d4[n][o][y][x] *
                                           w4[o][c][i][j];
                            }
                        }
                    di[n][c][iy][ix] = (float)acc;
                }
}

void kern_conv_backward_weights__ref(const kern_conv_shape *s, float *dweight,
                                     const float *inp, const float *dout)
{
    float (*dw)[s->ic][s->kh][s->kw] = (void *)dweight;
    const float (*i4)[s->ic][s->h][s->w] = (const void *)inp;
    const float (*d4)[s->oc][s->oh][s->ow] = (const void *)dout;
    for (size_t o = 0; o < s->oc; o++)
        for (size_t c = 0; c < s->ic; c++)
            for (size_t i = 0; i < s->kh; i++)
                for (size_t j = 0; j < s->kw; j++) {
                    double acc = 0.0;
                    for (size_t n = 0; n < s->n; n++)
                        for (size_t y = 0; y < s->oh; y++) {
                            long iy = src_index(y, i, s->stride, s->pad, s->h);
                            if (iy < 0)
                                continue;
                            for (size_t x = 0; x < s->ow; x++) {
                                long ix = src_index(x, j, s->stride, s->pad,
                                                    s->w);
                                if (ix >= 0)
                                    acc += (double)d4[n][o][y][x] *
                                           i4[n][c][iy][ix];
                            }
                        }
                    dw[o][c][i][j] = (float)((double)dw[o][c][i][j] + acc);
                }
}
