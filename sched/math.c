/*
 * sched/math.c: cos, exp, log and pow in double without libm.
 *
 * sched/ is freestanding, and the schedules need cos (one-cycle), exp and log
 * (the lr range test's exponential sweep, even_mults). Each function reduces
 * its argument exactly (Cody-Waite splitting of pi/2 and ln 2 into pieces
 * whose products with the reduction multiple are exact) and evaluates a
 * Taylor polynomial on the reduced range, truncated where the next term is
 * below 1e-17 relative. Errors are a few ulp; tests/sched/test-math.c checks
 * them against libm. The split constants are the classic fdlibm values
 * (Sun, e_exp.c, e_log.c, e_rem_pio2.c); the code is written from the math.
 *
 * IEEE-754 binary64 with round-to-nearest is assumed (x86-64, AArch64).
 */
#include "sched/sched.h"

#include <stdint.h>

// --- bits --------------------------------------------------------------------
static inline uint64_t bits_of(double x)
{
    union { double d; uint64_t u; } v = {.d = x};
    return v.u;
}

static inline double double_of(uint64_t u)
{
    union { uint64_t u; double d; } v = {.u = u};
    return v.d;
}

/* 2^k for a normal result, -1022 <= k <= 1023. */
static inline double pow2i(int k)
{
    return double_of((uint64_t)(k + 1023) << 52);
}

static inline double infinity(void)
{
    return double_of(0x7ff0000000000000ull);
}

static inline double quiet_nan(void)
{
    return double_of(0x7ff8000000000000ull);
}

/* Nearest integer to x (halves away from zero); |x| < 2^31. */
static inline int round_to_int(double x)
{
    return (int)(x < 0.0 ? x - 0.5 : x + 0.5);
}

// --- cos ---------------------------------------------------------------------
/* pi/2 in three 33-bit pieces, so k * PIO2_n is exact for |k| < 2^20, plus
 * the rest, PIO2_3T: near a zero of cos the reduced argument is as small as
 * ~1e-17 and the 99 bits of the first three pieces alone leave ~1e-31. */
static const double PIO2_1 = 1.57079632673412561417e+00;
static const double PIO2_2 = 6.07710050630396597660e-11;
static const double PIO2_3 = 2.02226624871116645580e-21;
static const double PIO2_3T = 8.47842766036889956997e-32;
static const double TWO_OVER_PI = 6.36619772367581382433e-01;

/* cos(r) and sin(r) for |r| <= pi/4 (+ rounding): Taylor to r^18 and r^19;
 * the first omitted terms are below 4e-21. */
static double cos_poly(double r)
{
    double z = r * r;
    double p = -1.0 / 6402373705728000.0;       /* -1/18! */
    p = 1.0 / 20922789888000.0 + z * p;         /* 1/16! */
    p = -1.0 / 87178291200.0 + z * p;           /* -1/14! */
    p = 1.0 / 479001600.0 + z * p;              /* 1/12! */
    p = -1.0 / 3628800.0 + z * p;               /* -1/10! */
    p = 1.0 / 40320.0 + z * p;                  /* 1/8! */
    p = -1.0 / 720.0 + z * p;                   /* -1/6! */
    p = 1.0 / 24.0 + z * p;                     /* 1/4! */
    /* 1 - z/2 + z^2 p: the small tail is added to the exact-ish head last. */
    double hz = 0.5 * z;
    double w = 1.0 - hz;
    return w + (((1.0 - w) - hz) + z * z * p);
}

static double sin_poly(double r)
{
    double z = r * r;
    double p = -1.0 / 121645100408832000.0;     /* -1/19! */
    p = 1.0 / 355687428096000.0 + z * p;        /* 1/17! */
    p = -1.0 / 1307674368000.0 + z * p;         /* -1/15! */
    p = 1.0 / 6227020800.0 + z * p;             /* 1/13! */
    p = -1.0 / 39916800.0 + z * p;              /* -1/11! */
    p = 1.0 / 362880.0 + z * p;                 /* 1/9! */
    p = -1.0 / 5040.0 + z * p;                  /* -1/7! */
    p = 1.0 / 120.0 + z * p;                    /* 1/5! */
    p = -1.0 / 6.0 + z * p;                     /* -1/3! */
    return r + r * z * p;
}

double sched_cos(double x)
{
    if (x != x)
        return x;
    SCHED_ASSERT(x >= -SCHED_COS_MAX_ARG && x <= SCHED_COS_MAX_ARG);
    /* x = k pi/2 + r, |r| <= pi/4. Each k * PIO2_n is exact; when r ends up
     * small the subtractions are exact too (the operands are close), so the
     * only error left is the rounding of the final tiny terms. */
    int k = round_to_int(x * TWO_OVER_PI);
    double r = x - k * PIO2_1;
    r -= k * PIO2_2;
    r -= k * PIO2_3;
    r -= k * PIO2_3T;
    switch (k & 3) {
    case 0: return cos_poly(r);
    case 1: return -sin_poly(r);
    case 2: return -cos_poly(r);
    default: return sin_poly(r);
    }
}

// --- exp ---------------------------------------------------------------------
/* ln 2 = LN2_HI + LN2_LO with LN2_HI holding 32 significant bits, so k *
 * LN2_HI is exact for |k| < 2^21. */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double INV_LN2 = 1.44269504088896338700e+00;
/* ln DBL_MAX and ln 2^-1075: beyond them exp is inf or 0. */
static const double EXP_OVERFLOW = 7.09782712893383973096e+02;
static const double EXP_UNDERFLOW = -7.45133219101941108420e+02;

/* exp(r) for |r| <= ln2/2 (+ rounding): Taylor to r^13; the first omitted
 * term is below 5e-18. */
static double exp_poly(double r)
{
    double p = 1.0 / 6227020800.0;              /* 1/13! */
    p = 1.0 / 479001600.0 + r * p;              /* 1/12! */
    p = 1.0 / 39916800.0 + r * p;               /* 1/11! */
    p = 1.0 / 3628800.0 + r * p;                /* 1/10! */
    p = 1.0 / 362880.0 + r * p;                 /* 1/9! */
    p = 1.0 / 40320.0 + r * p;                  /* 1/8! */
    p = 1.0 / 5040.0 + r * p;                   /* 1/7! */
    p = 1.0 / 720.0 + r * p;                    /* 1/6! */
    p = 1.0 / 120.0 + r * p;                    /* 1/5! */
    p = 1.0 / 24.0 + r * p;                     /* 1/4! */
    p = 1.0 / 6.0 + r * p;                      /* 1/3! */
    p = 0.5 + r * p;                            /* 1/2! */
    /* 1 + r + r^2 p, with the exact 1 added last. */
    return 1.0 + (r + r * r * p);
}

double sched_exp(double x)
{
    if (x != x)
        return x;
    if (x > EXP_OVERFLOW)
        return infinity();
    if (x < EXP_UNDERFLOW)
        return 0.0;
    int k = round_to_int(x * INV_LN2);
    double r = (x - k * LN2_HI) - k * LN2_LO;
    double y = exp_poly(r);
    /* y * 2^k in steps that stay normal until the last multiply. */
    if (k > 1023)
        return y * pow2i(1023) * pow2i(k - 1023);
    if (k < -1021)
        return y * pow2i(k + 54) * pow2i(-54);
    return y * pow2i(k);
}

// --- log ---------------------------------------------------------------------
static const double SQRT2 = 1.41421356237309504880e+00;

/* R(z) = 2z/3 + 2z^2/5 + ... + 2z^11/23 with z = s^2 <= 0.0295: the part of
 * 2 atanh(s) = 2s + s R(z) beyond 2s; the omitted tail is below 1e-18. */
static double log_tail(double z)
{
    double p = 2.0 / 23.0;
    p = 2.0 / 21.0 + z * p;
    p = 2.0 / 19.0 + z * p;
    p = 2.0 / 17.0 + z * p;
    p = 2.0 / 15.0 + z * p;
    p = 2.0 / 13.0 + z * p;
    p = 2.0 / 11.0 + z * p;
    p = 2.0 / 9.0 + z * p;
    p = 2.0 / 7.0 + z * p;
    p = 2.0 / 5.0 + z * p;
    p = 2.0 / 3.0 + z * p;
    return z * p;
}

double sched_log(double x)
{
    if (x != x)
        return x;
    if (x < 0.0)
        return quiet_nan();
    if (x == 0.0)
        return -infinity();
    if (x == infinity())
        return x;
    uint64_t u = bits_of(x);
    int e = (int)(u >> 52) - 1023;
    if (e == -1023) {                   /* subnormal: scale into normals */
        u = bits_of(x * pow2i(54));
        e = (int)(u >> 52) - 1023 - 54;
    }
    /* m in [1, 2), then folded into [sqrt(1/2), sqrt(2)). */
    double m = double_of((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    if (m > SQRT2) {
        m *= 0.5;
        e += 1;
    }
    /* log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f): the
     * identity keeps the exact f as the leading term. */
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double hfsq = 0.5 * f * f;
    double tail = s * (hfsq + log_tail(s * s));
    double dk = (double)e;
    return dk * LN2_HI - ((hfsq - (tail + dk * LN2_LO)) - f);
}

// --- pow ---------------------------------------------------------------------
double sched_pow(double x, double y)
{
    SCHED_ASSERT(x > 0.0);
    if (y == 0.0)
        return 1.0;
    if (y == 1.0)
        return x;
    return sched_exp(y * sched_log(x));
}
