/*
 * residual.h - residual connections: out = x + f(x).
 *
 * Each block adds its result to its input instead of replacing it, so the
 * input flows through the whole stack unchanged on a "residual stream" and
 * gradients flow back along it undiminished. A block only has to learn a
 * correction; a freshly initialised deep stack starts near the identity.
 */
#ifndef BLOCK_RESIDUAL_H
#define BLOCK_RESIDUAL_H

#include <stddef.h>

/* out (n) = a + b. */
void residual_forward(float *out, const float *a, const float *b, size_t n);

/* da += dout; db += dout: addition passes its gradient to both inputs. */
void residual_backward(float *da, float *db, const float *dout, size_t n);

#endif
