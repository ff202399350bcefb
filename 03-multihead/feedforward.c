/*
 * feedforward.c - ReLU, the nonlinearity of the feed-forward network; see
 * feedforward.h.
 *
 * The feed-forward network itself is two of chapter 02's linear layers
 * with this between them (see model.c): no new matrix code is needed.
 */
#include "feedforward.h"

#include "../common/parallel.h"

void relu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    /* forward: out = max(0, inp) - slope 1 where inp > 0, else 0 */
#pragma omp parallel for simd schedule(static) if (n >= PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
}
