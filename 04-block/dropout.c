/*
 * dropout.c - inverted dropout; see dropout.h.
 *
 * The mask is drawn one element at a time from a single RNG, in order, so
 * it is the same for any number of threads and a run is reproducible from
 * its seed. Storing the mask (rather than re-drawing it) is what lets the
 * backward pass send each gradient through exactly the paths the forward
 * pass kept.
 */
#include "dropout.h"

#include "../common/parallel.h"

void dropout_forward(float *out, float *mask, const float *inp, size_t n, float p, rng *r) {
    if (p == 0.0f) { /* off: an exact copy, and the RNG is left alone */
        for (size_t i = 0; i < n; i++) {
            mask[i] = 1.0f;
            out[i] = inp[i];
        }
        return;
    }
    float scale = 1.0f / (1.0f - p); /* keeps the expected value of each element */
    for (size_t i = 0; i < n; i++) {
        mask[i] = rng_uniform(r) < p ? 0.0f : scale;
        out[i] = inp[i] * mask[i];
    }
}

void dropout_backward(float *dinp, const float *dout, const float *mask, size_t n) {
    /* forward: out = inp * mask */
#pragma omp parallel for simd schedule(static) if (n >= PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        dinp[i] += dout[i] * mask[i];
}
