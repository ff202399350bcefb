/*
 * gelu.h - the GELU activation, exactly as GPT-2 and nanoGPT use it.
 *
 *     gelu(x) = x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2)))
 *
 * where Phi is the standard normal CDF: an input is passed on in proportion
 * to how likely a standard normal variable is to be below it. It is a smooth
 * ReLU (0 for very negative x, x for very positive x) whose gradient never
 * dies completely, which trains a little better.
 *
 * Two versions with the same meaning:
 *   gelu_forward/backward           the readable one, with the C library's
 *                                   erff (the reference);
 *   gelu_fast_forward/backward      the same formula with our own erf and exp
 *                                   written as branch-free polynomials that
 *                                   the compiler turns into SIMD code: 8
 *                                   values per instruction instead of one
 *                                   library call each (glibc's erff alone
 *                                   costs ~28 ms per cpu-small step).
 * They agree to ~1e-7 (see erf_approx below and its test).
 */
#ifndef GPT_GELU_H
#define GPT_GELU_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* out (n) = gelu(inp). */
void gelu_forward(float *out, const float *inp, size_t n);
/* dinp (n) += gelu'(inp) * dout. */
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

void gelu_fast_forward(float *out, const float *inp, size_t n);
void gelu_fast_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* exp(y) = 2^k * exp(r) with k = round(y / ln 2) and |r| <= ln(2)/2; exp(r)
 * by its Taylor series to r^7 (error < 1e-8 on that interval), 2^k by
 * writing k straight into a float's exponent bits. */
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693145751953125f      /* ln 2 split in two, so that k * EXP_LN2_HI */
#define EXP_LN2_LO 1.42860682030941723e-6f /* is exact and the rest is tiny */
#define EXP_UNDERFLOW (-87.0f)         /* below this exp(y) is not a normal float */
#define EXP_ROUNDING_SHIFT 12582912.0f    /* 1.5 * 2^23: adding it rounds to an integer */
#define EXP_FLOAT_BIAS 127
#define EXP_MANTISSA_BITS 23

/* static inline, so that loops calling it are inlined and vectorised (a
 * function call per element would stop the vectoriser). */
static inline float exp_nonpositive(float y) {
    /* written so that a NaN (which fails every comparison) is clamped too:
     * converting a NaN k to an integer below is undefined behaviour. So a
     * NaN comes out as exp(-87), not as a NaN: a caller that must pass NaNs
     * on checks for them itself (GELU's output is x times this, which does;
     * the softmax checks each score) */
    y = y >= EXP_UNDERFLOW ? y : EXP_UNDERFLOW;
    /* round to nearest without a library call: at 1.5 * 2^23 a float has no
     * fraction bits left, so the addition itself rounds */
    float k = (y * EXP_LOG2E + EXP_ROUNDING_SHIFT) - EXP_ROUNDING_SHIFT;
    float r = (y - k * EXP_LN2_HI) - k * EXP_LN2_LO;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)k + EXP_FLOAT_BIAS) << EXP_MANTISSA_BITS;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* The approximations the fast path is built on, exposed for their tests:
 * |erf_approx(x) - erf(x)| < 2e-7 for all x; exp_approx(y) for y <= 0 has a
 * relative error below 1e-6 down to -87, and below that is clamped to
 * exp(-87) ~ 1.6e-38 (the smallest value it returns, never 0). */
float erf_approx(float x);
float exp_approx(float y);

#endif
