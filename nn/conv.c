/*
 * nn/conv.c: convolution forward / backward-data / backward-weights for the
 * model's shapes. Activations NCHW8c, the stem's input NCHW with 3 channels,
 * weights OIHW. No bias.
 *
 * Until kernels/conv.h lands these are plain loops parallelised over the
 * pool (one task per image and output-channel block, or per channel block
 * for the weight gradient), accumulating in double: long sequential float
 * sums were measurably noisier than PyTorch's blocked ones on the
 * ill-conditioned test problem. They are the model's stand-in, checked end
 * to end against PyTorch by tests/nn/test-step.c.
 */
#include "nn/ops.h"

size_t nn_conv_scratch_bytes(const nn_model *m, size_t threads)
{
    (void)m, (void)threads;
    return 0;
}

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

void nn_conv_forward(const nn_conv *c, size_t n, float *y, const float *x,
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

void nn_conv_backward_data(const nn_conv *c, size_t n, float *dx,
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

void nn_conv_backward_weights(const nn_conv *c, size_t n, float *dw,
                              const float *dy, const float *x, void *scratch,
                              const kern_pool *pool)
{
    conv_ctx t = {c, n, NULL, x, NULL, dy, NULL, dw, false};
    kern_parallel_for(pool, bwd_weights_task, &t, c->oc / 8);
}
