/*
 * linear.h - the linear (fully connected) layer: every output is a weighted
 * sum of every input, plus a bias.
 *
 *     out[n][o] = bias[o] + sum_c inp[n][c] * w[o][c]
 *
 * The weight is stored [out, in] (OC rows of C), as torch.nn.Linear stores
 * it, so that a row of w is "what output o looks for in the input". This is
 * the first matrix multiplication of the book: the triple loop of the
 * formula (rows, outputs, the sum), with one outer loop taken four steps at
 * a time so that each row it loads is used four times (see linear.c). Tests
 * check the forward pass against the plain triple loop and the backward
 * pass against finite differences. Chapter 05 puts a BLAS call behind the
 * same signature, and a test checks the two agree.
 */
#ifndef ATTENTION_LINEAR_H
#define ATTENTION_LINEAR_H

#include <stddef.h>

#include "../common/rng.h"

/* out (N,OC) = inp (N,C) @ w^T + bias, w (OC,C), bias (OC) or NULL. */
void linear_forward(float *out, const float *inp, const float *w, const float *bias, size_t N,
                    int C, int OC);

/* dinp (N,C) += dout (N,OC) @ w;  dw (OC,C) += dout^T @ inp;
 * dbias (OC) += sum over n of dout. dinp and dbias may be NULL. */
void linear_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                     const float *w, size_t N, int C, int OC);

/* How many floats one linear layer touches, input (N,C) + weight (OC,C) +
 * output (N,OC): the size of its work, which decides whether its loops are
 * split across threads (common/parallel.h). */
size_t linear_work(size_t N, int C, int OC);

/* torch.nn.Linear's default initialisation: w (OC,C) and bias (OC, or NULL)
 * uniform in [-1/sqrt(C), 1/sqrt(C)), so every output starts with a variance
 * about a third of its input's, whatever C is. */
void linear_init(float *w, float *bias, int C, int OC, rng *r);

#endif
