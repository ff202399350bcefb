/*
 * residual.c - the residual connection, out = a + b; see residual.h.
 *
 * The smallest layer of the book, and one of the most important: its
 * backward pass copies the gradient to both inputs unchanged, so the
 * gradient of the loss reaches the first block of a deep stack as strongly
 * as the last ("a gradient superhighway").
 */
#include "residual.h"

#include "../common/parallel.h"

void residual_forward(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void residual_backward(float *da, float *db, const float *dout, size_t n) {
    /* forward: out = a + b, so d out / d a = d out / d b = 1 */
#pragma omp parallel for simd schedule(static) if (n >= PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}
