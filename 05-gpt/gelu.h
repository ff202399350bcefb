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

/* out (n) = gelu(inp). */
void gelu_forward(float *out, const float *inp, size_t n);
/* dinp (n) += gelu'(inp) * dout. */
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

void gelu_fast_forward(float *out, const float *inp, size_t n);
void gelu_fast_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* The approximations the fast path is built on, exposed for their tests:
 * |erf_approx(x) - erf(x)| < 2e-7 for all x; exp_approx(y) for y <= 0 has a
 * relative error below 1e-6 (and is 0 below -87). */
float erf_approx(float x);
float exp_approx(float y);

#endif
