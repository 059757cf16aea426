/*
 * nn/nnmath.h: the few scalar functions nn/ needs, freestanding.
 *
 * nn/ links no libm (make freestanding), and gcc/clang turn __builtin_sqrt
 * into a call to sqrt() to set errno, so sqrt is one instruction here and
 * exp/log are double-precision range reduction + series (error < 1e-15
 * relative, far below what float training can see). Used only off the hot
 * paths (per-channel BN statistics, the loss on (N, classes), init).
 */
#ifndef RESIN_NN_NNMATH_H
#define RESIN_NN_NNMATH_H

#include <stdint.h>

static inline double nn_sqrt(double x)
{
#if defined(__x86_64__)
    double r;
    __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x));
    return r;
#elif defined(__aarch64__)
    double r;
    __asm__("fsqrt %d0, %d1" : "=w"(r) : "w"(x));
    return r;
#else
    double r = x > 1 ? x : 1; /* Newton; only for other targets */
    for (int i = 0; i < 60; i++)
        r = 0.5 * (r + x / r);
    return r;
#endif
}

static inline double nn_pow2i(int k) /* 2^k, k in [-1022, 1023] */
{
    union { double d; uint64_t u; } b;
    b.u = (uint64_t)(k + 1023) << 52;
    return b.d;
}

/* e^x: x = k ln2 + r, |r| <= ln2/2, Taylor to r^14. */
static inline double nn_exp(double x)
{
    if (x < -708.0)
        return 0.0;
    if (x > 709.0)
        return 1.0 / 0.0;
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    double kd = x * 1.4426950408889634;
    int k = (int)(kd < 0 ? kd - 0.5 : kd + 0.5);
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double term = 1.0, sum = 1.0;
    for (int i = 1; i <= 14; i++) {
        term *= r / i;
        sum += term;
    }
    /* split the scaling so k = -1022..+1023 and subnormals stay correct */
    if (k < -1000)
        return sum * nn_pow2i(k + 200) * nn_pow2i(-200);
    if (k > 1000)
        return sum * nn_pow2i(k - 200) * nn_pow2i(200);
    return sum * nn_pow2i(k);
}

/* log x for x > 0 (normal numbers): x = 2^e m, m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172. */
static inline double nn_log(double x)
{
    if (!(x > 0.0))
        return x == 0.0 ? -1.0 / 0.0 : 0.0 / 0.0;
    union { double d; uint64_t u; } b = { x };
    int e = (int)((b.u >> 52) & 0x7ff) - 1023;
    b.u = (b.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double mant = b.d;
    if (mant > 1.4142135623730951) {
        mant *= 0.5;
        e++;
    }
    double s = (mant - 1.0) / (mant + 1.0), s2 = s * s, term = s, sum = 0.0;
    for (int i = 1; i <= 23; i += 2) {
        sum += term / i;
        term *= s2;
    }
    return e * 0.6931471805599453 + 2.0 * sum;
}

#endif /* RESIN_NN_NNMATH_H */
