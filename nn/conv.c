/*
 * nn/conv.c: the model's convolutions. Activations NCHW8c, the stem's input
 * NCHW with 3 channels, weights OIHW in the parameter arena.
 *
 * Production path: kernels/conv.h. Forward and backward-data read packed
 * weights: each call packs its layer's weights into the front of the shared
 * scratch and hands the rest to the kernel as its scratch. Packing per call
 * (not once per optimizer step into a persistent copy) keeps 2 x 85 MB of
 * packed copies out of the plan; it costs one pass over the weights per
 * call, split over the pool: about 2 ms of layer4's 35 ms convolutions.
 *
 * Reference path (kern_init(KERN_ISA_REF)): plain loops accumulating in
 * double, parallel over the pool. The end-to-end fixture test
 * (tests/nn/test-step.c) holds this path to PyTorch float64 at tight
 * tolerances: the batch-8 48x48 problem amplifies float32 rounding of the
 * convolutions into percent-level gradient differences (torch's own float32
 * run shows the same), so only a double-accumulating convolution can prove
 * the model's semantics exactly; the float32 kernels are held to looser
 * bounds on the same fixture.
 */
#include "kernels/conv.h"
#include "kernels/dispatch.h"
#include "nn/ops.h"

// --- indexing ---------------------------------------------------------------------

static inline size_t ix8(size_t c, size_t h, size_t w, size_t n, size_t ci,
                         size_t hi, size_t wi)
{
    return ((((n * (c / 8)) + ci / 8) * h + hi) * w + wi) * 8 + ci % 8;
}

/* The stem reads plain NCHW (3 channels); every other conv NCHW8c. */
static inline float load_x(const nn_conv *c, const float *x, size_t n,
                           size_t ci, size_t hi, size_t wi)
{
    if (c->ic == 3)
        return x[((n * 3 + ci) * c->ih + hi) * c->iw + wi];
    return x[ix8(c->ic, c->ih, c->iw, n, ci, hi, wi)];
}

static inline const float *wptr(const nn_conv *c, const float *w, size_t oc,
                                size_t ic)
{
    return w + (oc * c->ic + ic) * c->k * c->k;
}

// --- forward ---------------------------------------------------------------------

typedef struct conv_ctx {
    const nn_conv *c;
    size_t n;
    float *y;
    const float *x, *w, *dy;
    float *dx, *dw;
    bool accumulate;
} conv_ctx;

static void fwd_task(void *vctx, size_t task, size_t thread)
{
    const conv_ctx *t = vctx;
    const nn_conv *c = t->c;
    size_t ocb = task % (c->oc / 8), n = task / (c->oc / 8);
    for (size_t oh = 0; oh < c->oh; oh++) {
        for (size_t ow = 0; ow < c->ow; ow++) {
            double acc[8] = {0};
            for (size_t ic = 0; ic < c->ic; ic++) {
                for (size_t kh = 0; kh < c->k; kh++) {
                    long ih = (long)(oh * c->stride + kh) - (long)c->pad;
                    if (ih < 0 || ih >= (long)c->ih)
                        continue;
                    for (size_t kw = 0; kw < c->k; kw++) {
                        long iw = (long)(ow * c->stride + kw) - (long)c->pad;
                        if (iw < 0 || iw >= (long)c->iw)
                            continue;
                        float xv = load_x(c, t->x, n, ic, (size_t)ih, (size_t)iw);
                        for (size_t j = 0; j < 8; j++)
                            acc[j] += xv * wptr(c, t->w, ocb * 8 + j,
                                                ic)[kh * c->k + kw];
                    }
                }
            }
            float *out = t->y + ix8(c->oc, c->oh, c->ow, n, ocb * 8, oh, ow);
            for (size_t j = 0; j < 8; j++)
                out[j] = (float)acc[j];
        }
    }
}

static void ref_forward(const nn_conv *c, size_t n, float *y, const float *x,
                     const float *w, void *scratch, const kern_pool *pool)
{
    conv_ctx t = {c, n, y, x, w, NULL, NULL, NULL, false};
    kern_parallel_for(pool, fwd_task, &t, n * (c->oc / 8));
}

// --- backward data -------------------------------------------------------------------

static void bwd_data_task(void *vctx, size_t task, size_t thread)
{
    const conv_ctx *t = vctx;
    const nn_conv *c = t->c;
    size_t icb = task % (c->ic / 8), n = task / (c->ic / 8);
    if (!t->accumulate)
        for (size_t ih = 0; ih < c->ih; ih++)
            for (size_t iw = 0; iw < c->iw; iw++)
                for (size_t j = 0; j < 8; j++)
                    t->dx[ix8(c->ic, c->ih, c->iw, n, icb * 8 + j, ih, iw)] =
                        0.0f;
    for (size_t oh = 0; oh < c->oh; oh++) {
        for (size_t ow = 0; ow < c->ow; ow++) {
            for (size_t oc = 0; oc < c->oc; oc++) {
                float g = t->dy[ix8(c->oc, c->oh, c->ow, n, oc, oh, ow)];
                for (size_t kh = 0; kh < c->k; kh++) {
                    long ih = (long)(oh * c->stride + kh) - (long)c->pad;
                    if (ih < 0 || ih >= (long)c->ih)
                        continue;
                    for (size_t kw = 0; kw < c->k; kw++) {
                        long iw = (long)(ow * c->stride + kw) - (long)c->pad;
                        if (iw < 0 || iw >= (long)c->iw)
                            continue;
                        float *d = t->dx + ix8(c->ic, c->ih, c->iw, n, icb * 8,
                                               (size_t)ih, (size_t)iw);
                        for (size_t j = 0; j < 8; j++)
                            d[j] += g * wptr(c, t->w, oc,
                                             icb * 8 + j)[kh * c->k + kw];
                    }
                }
            }
        }
    }
}

static void ref_backward_data(const nn_conv *c, size_t n, float *dx,
                           const float *dy, const float *w, bool accumulate,
                           void *scratch, const kern_pool *pool)
{
    KERN_ASSERT(c->ic % 8 == 0); /* never into the 3-channel image */
    conv_ctx t = {c, n, NULL, NULL, w, dy, dx, NULL, accumulate};
    kern_parallel_for(pool, bwd_data_task, &t, n * (c->ic / 8));
}

// --- backward weights -------------------------------------------------------------------

static void bwd_weights_task(void *vctx, size_t task, size_t thread)
{
    const conv_ctx *t = vctx;
    const nn_conv *c = t->c;
    size_t kk = c->k * c->k, ocb = task;
    for (size_t ic = 0; ic < c->ic; ic++) {
        for (size_t kh = 0; kh < c->k; kh++) {
            for (size_t kw = 0; kw < c->k; kw++) {
                double acc[8] = {0};
                for (size_t n = 0; n < t->n; n++) {
                    for (size_t oh = 0; oh < c->oh; oh++) {
                        long ih = (long)(oh * c->stride + kh) - (long)c->pad;
                        if (ih < 0 || ih >= (long)c->ih)
                            continue;
                        for (size_t ow = 0; ow < c->ow; ow++) {
                            long iw = (long)(ow * c->stride + kw) - (long)c->pad;
                            if (iw < 0 || iw >= (long)c->iw)
                                continue;
                            double xv = load_x(c, t->x, n, ic, (size_t)ih,
                                               (size_t)iw);
                            const float *g = t->dy + ix8(c->oc, c->oh, c->ow,
                                                         n, ocb * 8, oh, ow);
                            for (size_t j = 0; j < 8; j++)
                                acc[j] += g[j] * xv;
                        }
                    }
                }
                for (size_t j = 0; j < 8; j++)
                    t->dw[((ocb * 8 + j) * c->ic + ic) * kk + kh * c->k + kw] +=
                        (float)acc[j];
            }
        }
    }
}

static void ref_backward_weights(const nn_conv *c, size_t n, float *dw,
                              const float *dy, const float *x, void *scratch,
                              const kern_pool *pool)
{
    conv_ctx t = {c, n, NULL, x, NULL, dy, NULL, dw, false};
    kern_parallel_for(pool, bwd_weights_task, &t, c->oc / 8);
}

// --- the kernels ---------------------------------------------------------------

static kern_conv_shape shape_of(const nn_conv *c, size_t n)
{
    return kern_conv_shape_make(n, c->ic, c->oc, c->ih, c->iw, c->k,
                                c->stride, c->pad);
}

/* Largest packed + kernel scratch over every convolution and pass. */
static size_t conv_need(const nn_conv *c, size_t n, const kern_pool *pool)
{
    kern_conv_shape s = shape_of(c, n);
    size_t need = kern_conv_scratch_size(&s, KERN_CONV_BACKWARD_WEIGHTS, pool);
    static const kern_conv_pass packed[2] = {KERN_CONV_FORWARD,
                                             KERN_CONV_BACKWARD_DATA};
    for (int i = 0; i < 2; i++) {
        if (packed[i] == KERN_CONV_BACKWARD_DATA && kern_conv_plain_input(&s))
            continue;
        size_t b = kern_align_up(kern_conv_packed_size(&s, packed[i])) +
                   kern_conv_scratch_size(&s, packed[i], pool);
        need = KERN_MAX(need, b);
    }
    return need;
}

size_t nn_conv_scratch_bytes(const nn_model *m, size_t threads)
{
    kern_pool fake = {NULL, threads ? threads : 1, NULL};
    size_t n = m->batch, need = conv_need(&m->stem, n, &fake);
    for (size_t k = 0; k < NN_BLOCKS; k++) {
        const nn_block *b = &m->blocks[k];
        need = KERN_MAX(need, conv_need(&b->conv1, n, &fake));
        need = KERN_MAX(need, conv_need(&b->conv2, n, &fake));
        if (b->has_down)
            need = KERN_MAX(need, conv_need(&b->down, n, &fake));
    }
    return need;
}

void nn_conv_forward(const nn_conv *c, size_t n, float *y, const float *x,
                     const float *w, void *scratch, const kern_pool *pool)
{
    if (kern_isa_active() == KERN_ISA_REF) {
        ref_forward(c, n, y, x, w, scratch, pool);
        return;
    }
    kern_conv_shape s = shape_of(c, n);
    float *packed = scratch;
    size_t pb = kern_align_up(kern_conv_packed_size(&s, KERN_CONV_FORWARD));
    kern_conv_pack_weights(&s, KERN_CONV_FORWARD, packed, w, pool);
    kern_conv_forward(&s, y, x, packed, (char *)scratch + pb, pool);
}

void nn_conv_backward_data(const nn_conv *c, size_t n, float *dx,
                           const float *dy, const float *w, bool accumulate,
                           void *scratch, const kern_pool *pool)
{
    if (kern_isa_active() == KERN_ISA_REF) {
        ref_backward_data(c, n, dx, dy, w, accumulate, scratch, pool);
        return;
    }
    kern_conv_shape s = shape_of(c, n);
    KERN_ASSERT(!kern_conv_plain_input(&s)); /* never into the image */
    float *packed = scratch;
    size_t pb =
        kern_align_up(kern_conv_packed_size(&s, KERN_CONV_BACKWARD_DATA));
    kern_conv_pack_weights(&s, KERN_CONV_BACKWARD_DATA, packed, w, pool);
    kern_conv_backward_data(&s, dx, dy, packed, accumulate,
                            (char *)scratch + pb, pool);
}

void nn_conv_backward_weights(const nn_conv *c, size_t n, float *dw,
                              const float *dy, const float *x, void *scratch,
                              const kern_pool *pool)
{
    if (kern_isa_active() == KERN_ISA_REF) {
        ref_backward_weights(c, n, dw, dy, x, scratch, pool);
        return;
    }
    kern_conv_shape s = shape_of(c, n);
    kern_conv_backward_weights(&s, dw, x, dy, scratch, pool);
}
