/*
 * feedforward.h - the position-wise feed-forward network's nonlinearity.
 *
 * Attention lets positions talk to each other; the feed-forward network
 * then lets each position "think" about what it gathered, on its own:
 * Linear (C -> 4C) -> ReLU -> Linear (4C -> C), the same weights at every
 * position. Without a nonlinearity between them the two linears would
 * collapse into one; ReLU, max(0, x), is the simplest that works.
 */
#ifndef MULTIHEAD_FEEDFORWARD_H
#define MULTIHEAD_FEEDFORWARD_H

#include <stddef.h>

/* The hidden layer is MLP_MULT times wider than C (nanoGPT calls the
 * network "mlp"; chapter 04's block and chapter 05's GPT keep the ratio). */
#define MLP_MULT 4

/* out (n) = max(0, inp). */
void relu_forward(float *out, const float *inp, size_t n);

/* dinp (n) += dout where inp > 0. */
void relu_backward(float *dinp, const float *inp, const float *dout, size_t n);

#endif
