/*
 * kernels/conv.h: direct 2-D convolution (forward, backward-data,
 * backward-weights), layout conversion and weight packing.
 *
 * Layouts (kernels/README.md):
 * - activations NCHW8c: [N][C/8][H][W][8], C a multiple of 8;
 * - the network input (the stem's input) plain NCHW: [N][C][H][W]. A shape
 *   whose ic is not a multiple of 8 is a "plain-input" shape: its input (and
 *   the input read by backward_weights) is plain NCHW; its output is still
 *   NCHW8c. Plain-input shapes support forward and backward_weights only
 *   (nothing needs the gradient of the image);
 * - weights OIHW (PyTorch order, as in the parameter arena) at the API edge;
 *   forward and backward_data read them packed (kern_conv_pack_weights,
 *   whenever the weights change), backward_weights accumulates straight
 *   into OIHW.
 * oc must be a multiple of 8. Any batch, image size, square kernel up to
 * 8x8, stride and padding with pad < kernel size work; spatial edges are
 * handled.
 *
 * Accumulation: forward overwrites `out`; backward_data overwrites `dinp`,
 * or adds to it when `accumulate` is true (residual fan-in);
 * backward_weights always adds (+=) into `dweight` (the gradient arena is
 * cleared once per step).
 *
 * Scratch: every pass takes caller scratch of at least
 * kern_conv_scratch_size(shape, pass, pool) bytes, KERN_ALIGN-aligned; its
 * contents on entry do not matter. The same pool must be passed to the
 * query and to the pass (the size depends on the thread count).
 *
 * Determinism: every pass gives bit-identical results for any thread count
 * (backward_weights reduces over batch and space in one fixed order per
 * output-channel group, or input-channel range; the only sums across tasks
 * add fixed image ranges in a fixed order).
 *
 * The __ref functions are the test oracle: plain NCHW activations, OIHW
 * weights, double accumulation, slow on purpose.
 */
#ifndef RESIN_KERNELS_CONV_H
#define RESIN_KERNELS_CONV_H

#include "kernels/kern.h"
#include "kernels/dispatch.h"

typedef struct kern_conv_shape {
    size_t n;      /* batch */
    size_t ic, oc; /* input and output channels */
    size_t h, w;   /* input height and width */
    size_t kh, kw; /* kernel height and width */
    size_t stride, pad;
    size_t oh, ow; /* output height and width (filled by kern_conv_shape_make) */
} kern_conv_shape;

typedef enum kern_conv_pass {
    KERN_CONV_FORWARD = 0,
    KERN_CONV_BACKWARD_DATA,
    KERN_CONV_BACKWARD_WEIGHTS,
} kern_conv_pass;

/* A square-kernel shape with oh = (h + 2 pad - k) / stride + 1 (same for ow). */
kern_conv_shape kern_conv_shape_make(size_t n, size_t ic, size_t oc, size_t h,
                                     size_t w, size_t k, size_t stride,
                                     size_t pad);

/* True when the shape's input is plain NCHW (ic not a multiple of 8). */
static inline bool kern_conv_plain_input(const kern_conv_shape *s)
{
    return s->ic % 8 != 0;
}

/* Floating multiply-adds of one pass (the same for all three): n oh ow oc ic
 * kh kw. GFLOP = 2 * this / 1e9. */
double kern_conv_macs(const kern_conv_shape *s);

// --- layout conversion --------------------------------------------------------
/* (N, C, HW) plain -> (N, C/8, HW, 8); c a multiple of 8. */
void kern_conv_nchw_to_nchw8c(float *restrict dst, const float *restrict src,
                              size_t n, size_t c, size_t hw);
/* (N, C/8, HW, 8) -> (N, C, HW) plain. */
void kern_conv_nchw8c_to_nchw(float *restrict dst, const float *restrict src,
                              size_t n, size_t c, size_t hw);

// --- weight packing -------------------------------------------------------------
/* Bytes of the packed weights that `pass` reads (KERN_CONV_FORWARD or
 * KERN_CONV_BACKWARD_DATA; 0 for KERN_CONV_BACKWARD_WEIGHTS, which needs none). */
size_t kern_conv_packed_size(const kern_conv_shape *s, kern_conv_pass pass);

/* Packs OIHW weights (OC, IC, KH, KW) for `pass`, one task per 16-channel
 * group on the pool (NULL: serial). The packed order is the same for every
 * ISA (see kernels/README.md). */
void kern_conv_pack_weights(const kern_conv_shape *s, kern_conv_pass pass,
                            float *restrict packed, const float *restrict w,
                            const kern_pool *pool);

// --- the passes (dispatched by kern_init) --------------------------------------------
size_t kern_conv_scratch_size(const kern_conv_shape *s, kern_conv_pass pass,
                              const kern_pool *pool);

/* out = conv(inp, w).
 * out: (N, OC/8, OH, OW, 8); inp: (N, IC/8, H, W, 8), or (N, IC, H, W) for a
 * plain-input shape; wpack: kern_conv_pack_weights(KERN_CONV_FORWARD). */
void kern_conv_forward(const kern_conv_shape *s, float *out, const float *inp,
                       const float *wpack, void *scratch,
                       const kern_pool *pool);

/* dinp (=, or += if accumulate) conv_transpose(dout, w).
 * dinp: (N, IC/8, H, W, 8); dout: (N, OC/8, OH, OW, 8);
 * wpack: kern_conv_pack_weights(KERN_CONV_BACKWARD_DATA). Not for plain-input
 * shapes. */
void kern_conv_backward_data(const kern_conv_shape *s, float *dinp,
                             const float *dout, const float *wpack,
                             bool accumulate, void *scratch,
                             const kern_pool *pool);

/* dweight += sum over n, oh, ow of dout x inp (the weight gradient).
 * dweight: (OC, IC, KH, KW); inp as for forward; dout: (N, OC/8, OH, OW, 8). */
void kern_conv_backward_weights(const kern_conv_shape *s, float *dweight,
                                const float *inp, const float *dout,
                                void *scratch, const kern_pool *pool);

// --- the oracle (plain layouts) -------------------------------------------------------
/* out (N, OC, OH, OW) = conv(inp (N, IC, H, W), w (OC, IC, KH, KW)). */
void kern_conv_forward__ref(const kern_conv_shape *s, float *out,
                            const float *inp, const float *w);
/* dinp (N, IC, H, W) = conv_transpose(dout (N, OC, OH, OW), w). */
void kern_conv_backward_data__ref(const kern_conv_shape *s, float *dinp,
                                  const float *dout, const float *w);
/* dweight (OC, IC, KH, KW) += sum dout x inp. */
void kern_conv_backward_weights__ref(const kern_conv_shape *s, float *dweight,
                                     const float *inp, const float *dout);

/* Fills the dispatch table (called by kern_init; listed in families.inc). */
void kern_conv_init(kern_isa isa);

#endif /* RESIN_KERNELS_CONV_H */
