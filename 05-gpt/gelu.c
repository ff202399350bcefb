/* gelu.c - GELU forward and backward, reference and fast; see gelu.h. */
#include "gelu.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../common/parallel.h"

#define INV_SQRT2 0.70710678118654752f     /* 1/sqrt(2): x -> z = x/sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143268f  /* 1/sqrt(2 pi): the normal pdf's constant */

/* ---------------------------------------------------------------- reference */

void gelu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++)
        out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * INV_SQRT2));
}

void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    /* forward: out = 0.5 * x * (1 + erf(x / sqrt(2)))
     * d/dx = 0.5 * (1 + erf(x / sqrt(2))) + x * pdf(x),
     * pdf(x) = exp(-x^2 / 2) / sqrt(2 pi) (the derivative of Phi) */
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * INV_SQRT2));
        float pdf = INV_SQRT_2PI * expf(-0.5f * x * x);
        dinp[i] += (cdf + x * pdf) * dout[i];
    }
}

/* ---------------------------------------------------------------- fast */

float exp_approx(float y) { return exp_nonpositive(y); }

/* erf(z) for z >= 0 in two pieces, both least-squares fits made for this
 * file (numpy, against Python's math.erf/erfc in double):
 *   z < 1:  erf(z) = z * S(z^2), S of degree 6;
 *   z >= 1: erf(z) = 1 - t * L(t) * exp(-z^2), t = 1 / (1 + ERFC_T_SCALE z),
 *           L of degree 6 (relative error of erfc below 5e-8).
 * The large piece's exp(-z^2) is exactly the exp(-x^2/2) that GELU's
 * derivative needs, so the backward pass computes it once for both. Both
 * pieces are computed and one selected, so the loops have no branch. */
static const float ERF_SMALL[] = {1.1283791662e+00f, -3.7612629767e-01f, 1.1283634635e-01f,
                                  -2.6856069575e-02f, 5.1929578774e-03f, -8.0537512000e-04f,
                                  8.0068743915e-05f};
static const float ERFC_LARGE[] = {3.2726174463e-01f, 3.2642445618e-01f, 2.8070927231e-01f,
                                   1.1342814272e-01f, 1.8601268605e-01f, -3.8579311129e-01f,
                                   1.5327399411e-01f};
#define ERFC_T_SCALE 0.58f
#define N_SMALL ((int)(sizeof ERF_SMALL / sizeof ERF_SMALL[0]))
#define N_LARGE ((int)(sizeof ERFC_LARGE / sizeof ERFC_LARGE[0]))
#define ERF_SPLIT 1.0f

/* erf(z) for z = |x| >= 0, given u = z*z and e = exp(-u). */
static inline float erf_abs(float z, float u, float e) {
    /* Horner's rule; the unroll pragma turns the loops into straight-line
     * code, which the vectoriser needs */
    float small = ERF_SMALL[N_SMALL - 1];
#pragma GCC unroll 16
    for (int k = N_SMALL - 2; k >= 0; k--)
        small = small * u + ERF_SMALL[k];
    small *= z;
    float t = 1.0f / (1.0f + ERFC_T_SCALE * z);
    float large = ERFC_LARGE[N_LARGE - 1];
#pragma GCC unroll 16
    for (int k = N_LARGE - 2; k >= 0; k--)
        large = large * t + ERFC_LARGE[k];
    large = 1.0f - t * large * e;
    return z < ERF_SPLIT ? small : large;
}

float erf_approx(float x) {
    float z = fabsf(x), u = z * z;
    return copysignf(erf_abs(z, u, exp_nonpositive(-u)), x);
}

void gelu_fast_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i], z = fabsf(x) * INV_SQRT2, u = z * z;
        float erf_z = copysignf(erf_abs(z, u, exp_nonpositive(-u)), x);
        out[i] = 0.5f * x * (1.0f + erf_z);
    }
}

void gelu_fast_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    /* the reference's formula; exp(-x^2/2) = exp(-z^2) = exp(-u), shared */
#pragma omp parallel for simd schedule(static) if (n >= PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i], z = fabsf(x) * INV_SQRT2, u = z * z, e = exp_nonpositive(-u);
        float cdf = 0.5f * (1.0f + copysignf(erf_abs(z, u, e), x));
        float pdf = INV_SQRT_2PI * e;
        dinp[i] += (cdf + x * pdf) * dout[i];
    }
}
