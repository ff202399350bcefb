/*
 * dropout.h - randomly silence activations while training.
 *
 * With probability p each element is set to 0, and the survivors are scaled
 * by 1/(1-p) so the expected value is unchanged. The network cannot rely on
 * any single path, which fights overfitting. At evaluation dropout is off:
 * p = 0 makes it an exact copy. The mask comes from a seeded RNG, so a run
 * is reproducible and a resumed run continues the same sequence of masks;
 * a gradient check can even keep dropout on, by reseeding the RNG before
 * every forward pass so that each one drops the same elements.
 */
#ifndef BLOCK_DROPOUT_H
#define BLOCK_DROPOUT_H

#include <stddef.h>

#include "../common/rng.h"

/* out (n) = inp * mask, mask (n) = 0 or 1/(1-p) drawn from r (all 1 when
 * p == 0, and then r is not advanced). out may equal inp. */
void dropout_forward(float *out, float *mask, const float *inp, size_t n, float p, rng *r);

/* dinp (n) += dout * mask. */
void dropout_backward(float *dinp, const float *dout, const float *mask, size_t n);

#endif
