/*
 * kernels/layers/layers-internal.h: what the layer kernels share and nobody
 * else sees: libm-free double math (the kernels are freestanding), the
 * microkernel signatures and the table kern_layers_init fills.
 *
 * Microkernels work on one contiguous or one channel-block slice and are
 * called by the drivers (kernels/<op>/f32-<op>.c) which split the work into
 * deterministic tasks for a kern_pool.
 */
#ifndef RESIN_KERNELS_LAYERS_INTERNAL_H
#define RESIN_KERNELS_LAYERS_INTERNAL_H

#include "kernels/layers.h"

// --- libm-free math ----------------------------------------------------------
/* gcc and clang emit a call to libm's sqrt for __builtin_sqrt whenever errno
 * may be set, so the scalar paths use these instead. Accuracy: within an ulp
 * or two of double, far below what the float kernels need. */

static inline double kern_bits_to_f64(uint64_t u)
{
    union { uint64_t u; double d; } v = { .u = u };
    return v.d;
}
static inline uint64_t kern_f64_to_bits(double d)
{
    union { uint64_t u; double d; } v = { .d = d };
    return v.u;
}

/* sqrt(x) for finite x >= 0: halve the exponent for a start within 6%, then
 * Newton (error squares each step: 6e-2 -> 2e-3 -> 2e-6 -> 2e-12 -> 1e-16). */
static inline double kern_sqrt_f64(double x)
{
    if (!(x > 0.0))
        return x == 0.0 ? 0.0 : x - x + (x - x) / (x - x); /* NaN */
    double y = kern_bits_to_f64((kern_f64_to_bits(x) >> 1) +
                                0x1FF8000000000000ull);
    for (int i = 0; i < 5; i++)
        y = 0.5 * (y + x / y);
    return y;
}

/* sqrt for float results: three Newton steps (relative error ~1e-12 before
 * the final rounding). */
static inline float kern_sqrt_f32(float xf)
{
    double x = xf;
    if (!(x > 0.0))
        return (float)kern_sqrt_f64(x);
    double y = kern_bits_to_f64((kern_f64_to_bits(x) >> 1) +
                                0x1FF8000000000000ull);
    for (int i = 0; i < 3; i++)
        y = 0.5 * (y + x / y);
    return (float)y;
}

/* exp(x), x <= 709: x = k ln2 + r, |r| <= ln2/2, Taylor to r^14 (error
 * < 1e-17), times 2^k built in the exponent field. Underflows to 0. */
static inline double kern_exp_f64(double x)
{
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    if (x < -745.0)
        return 0.0;
    double kf = x * 1.44269504088896338700 + (x >= 0 ? 0.5 : -0.5);
    int64_t k = (int64_t)kf;
    double r = (x - (double)k * ln2_hi) - (double)k * ln2_lo;
    double sum = 1.0, term = 1.0;
    for (int i = 1; i <= 14; i++) {
        term *= r / i;
        sum += term;
    }
    /* 2^k in two halves so that k down to -1074 stays representable. */
    int64_t k1 = k / 2, k2 = k - k1;
    double s1 = kern_bits_to_f64((uint64_t)(k1 + 1023) << 52);
    double s2 = kern_bits_to_f64((uint64_t)(k2 + 1023) << 52);
    return sum * s1 * s2;
}

/* log(x) for finite x > 0 (normal): x = m 2^e with m in [sqrt(1/2), sqrt 2),
 * log m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.172, series to s^23. */
static inline double kern_log_f64(double x)
{
    uint64_t u = kern_f64_to_bits(x);
    int64_t e = (int64_t)((u >> 52) & 0x7FF) - 1023;
    double m = kern_bits_to_f64((u & 0x000FFFFFFFFFFFFFull) |
                                0x3FF0000000000000ull);
    if (m > 1.41421356237309504880) {
        m *= 0.5;
        e += 1;
    }
    double s = (m - 1.0) / (m + 1.0), s2 = s * s, sum = 0.0;
    for (int i = 23; i >= 1; i -= 2)
        sum = sum * s2 + 1.0 / i;
    return 2.0 * s * sum + (double)e * 6.93147180559945309417e-01;
}

// --- microkernels ------------------------------------------------------------
/* Batch-norm on one channel block of 8: n rows of hw pixels x 8 lanes,
 * `stride` floats between the starts of consecutive rows (C/8 * HW in
 * NCHW8c). All per-channel vectors are 8 floats / doubles, one per lane. */

/* sums[0..7] += sum(x - shift), sums[8..15] += sum((x - shift)^2). */
typedef void (*kern_bn8_stats_fn)(size_t n, size_t hw, size_t stride,
                                  const float *inp, const float *shift,
                                  double *sums);
/* out = (x - mean) * scale + beta, then max(., 0) if relu (subtracting
 * first keeps precision when |mean| >> std). out may alias inp. */
typedef void (*kern_bn8_apply_fn)(size_t n, size_t hw, size_t stride,
                                  float *out, const float *inp,
                                  const float *mean, const float *scale,
                                  const float *beta, bool relu);
/* With g = dout masked by out > 0 (out NULL: unmasked):
 * sums[0..7] += sum(g), sums[8..15] += sum(g * (x - mean)). */
typedef void (*kern_bn8_bwd_reduce_fn)(size_t n, size_t hw, size_t stride,
                                       const float *dout, const float *inp,
                                       const float *out, const float *mean,
                                       double *sums);
/* dinp = a * (g - b - (x - mean) * k). dinp may alias dout. */
typedef void (*kern_bn8_bwd_apply_fn)(size_t n, size_t hw, size_t stride,
                                      float *dinp, const float *dout,
                                      const float *inp, const float *out,
                                      const float *mean, const float *a,
                                      const float *b, const float *k);

/* Elementwise on len floats; same contracts as the public functions. */
typedef void (*kern_unary_fn)(size_t len, float *out, const float *inp);
typedef void (*kern_binary_fn)(size_t len, float *out, const float *a,
                               const float *b);
typedef void (*kern_add_relu_bwd_fn)(size_t len, float *da, float *db_acc,
                                     const float *dout, const float *out);
typedef void (*kern_fill_fn)(size_t len, float *out, float value);
/* out[i] = keep(seed, first + i) ? inp[i] * scale : 0. */
typedef void (*kern_dropout_fn)(size_t len, size_t first, float *out,
                                const float *inp, uint32_t threshold,
                                float scale, uint64_t seed);

/* Max-pool 3x3/2/1 over one (n, channel-block) plane. */
typedef void (*kern_maxpool_fwd_fn)(size_t h, size_t w, float *out,
                                    const float *inp);
typedef void (*kern_maxpool_bwd_fn)(size_t h, size_t w, float *dinp,
                                    const float *dout, const float *inp,
                                    const float *out);

/* Concat pool over one plane of hw pixels x 8 lanes: omax[0..7], oavg[0..7]. */
typedef void (*kern_cpool_fwd_fn)(size_t hw, float *omax, float *oavg,
                                  const float *inp);
typedef void (*kern_cpool_bwd_fn)(size_t hw, float *dinp, const float *dmax,
                                  const float *davg, const float *inp,
                                  const float *omax);

/* Softmax cross-entropy of one row; label < 0: no loss / onehot (softmax
 * only). Returns the row loss; probs / dlogits may be NULL. */
typedef float (*kern_xent_row_fn)(size_t c, float *probs, float *dlogits,
                                  const float *logits, int32_t label,
                                  float inv_n);

/* Adam over len elements with step = lr * sqrt(bc2) / bc1 and
 * decay = 1 - lr * wd precomputed by the driver. */
typedef void (*kern_adam_fn)(size_t len, float *param, float *exp_avg,
                             float *exp_avg_sq, const float *grad,
                             float decay, float step, float beta1,
                             float beta2, float eps);

typedef struct kern_layers_table {
    bool ref; /* KERN_ISA_REF: the public functions run the references */
    kern_bn8_stats_fn bn8_stats;
    kern_bn8_apply_fn bn8_apply;
    kern_bn8_bwd_reduce_fn bn8_bwd_reduce;
    kern_bn8_bwd_apply_fn bn8_bwd_apply;
    kern_unary_fn relu;
    kern_binary_fn relu_bwd; /* (len, dinp, dout, out) */
    kern_binary_fn add_relu;
    kern_add_relu_bwd_fn add_relu_bwd;
    kern_binary_fn add;
    kern_fill_fn fill;
    kern_dropout_fn dropout;
    kern_maxpool_fwd_fn maxpool_fwd;
    kern_maxpool_bwd_fn maxpool_bwd;
    kern_cpool_fwd_fn cpool_fwd;
    kern_cpool_bwd_fn cpool_bwd;
    kern_xent_row_fn xent_row;
    kern_adam_fn adam;
} kern_layers_table;

extern kern_layers_table kern_layers;

#define KERN_LAYERS_UKERNELS(isa)                                             \
    void kern_f32_bn8_stats__##isa(size_t, size_t, size_t, const float *,     \
                                   const float *, double *);                  \
    void kern_f32_bn8_apply__##isa(size_t, size_t, size_t, float *,           \
                                   const float *, const float *,              \
                                   const float *, const float *, bool);       \
    void kern_f32_bn8_bwd_reduce__##isa(size_t, size_t, size_t,               \
                                        const float *, const float *,         \
                                        const float *, const float *,         \
                                        double *);                            \
    void kern_f32_bn8_bwd_apply__##isa(size_t, size_t, size_t, float *,       \
                                       const float *, const float *,          \
                                       const float *, const float *,          \
                                       const float *, const float *,          \
                                       const float *);                        \
    void kern_f32_relu__##isa(size_t, float *, const float *);                \
    void kern_f32_relu_bwd__##isa(size_t, float *, const float *,             \
                                  const float *);                             \
    void kern_f32_add_relu__##isa(size_t, float *, const float *,             \
                                  const float *);                             \
    void kern_f32_add_relu_bwd__##isa(size_t, float *, float *,               \
                                      const float *, const float *);          \
    void kern_f32_add__##isa(size_t, float *, const float *, const float *);  \
    void kern_f32_fill__##isa(size_t, float *, float);                        \
    void kern_f32_maxpool_fwd__##isa(size_t, size_t, float *, const float *); \
    void kern_f32_maxpool_bwd__##isa(size_t, size_t, float *, const float *,  \
                                     const float *, const float *);           \
    float kern_f32_xent_row__##isa(size_t, float *, float *, const float *,   \
                                   int32_t, float);                           \
    void kern_f32_adam__##isa(size_t, float *, float *, float *,              \
                              const float *, float, float, float, float,      \
                              float);

KERN_LAYERS_UKERNELS(scalar)
KERN_LAYERS_UKERNELS(avx2)
KERN_LAYERS_UKERNELS(neon)

/* Portable only (too small to matter in SIMD: head-sized tensors). */
void kern_f32_dropout__scalar(size_t, size_t, float *, const float *,
                              uint32_t, float, uint64_t);
void kern_f32_cpool_fwd__scalar(size_t, float *, float *, const float *);
void kern_f32_cpool_bwd__scalar(size_t, float *, const float *,
                                const float *, const float *, const float *);

#endif /* RESIN_KERNELS_LAYERS_INTERNAL_H */
