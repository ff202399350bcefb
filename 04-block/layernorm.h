/*
 * layernorm.h - layer normalisation: make every position's vector mean 0,
 * variance 1, then scale and shift it with learned gains.
 *
 *     mean = sum_c x_c / C,   rstd = 1 / sqrt(sum_c (x_c - mean)^2 / C + eps)
 *     out_c = (x_c - mean) * rstd * w_c + b_c
 *
 * It keeps activations at a steady scale however deep the stack grows, which
 * is what lets a transformer train at all beyond a few layers.
 */
#ifndef BLOCK_LAYERNORM_H
#define BLOCK_LAYERNORM_H

#include <stddef.h>

#define LAYERNORM_EPS 1e-5f

/* out (N,C) = layernorm of each row of inp (N,C) with gain w (C) and bias b
 * (C, or NULL for none); saves mean (N) and rstd (N) for the backward. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, size_t N, int C);

/* dinp (N,C) += ..., dw (C) += ..., db (C) += ... (db NULL when no bias):
 * the two halves below. */
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, size_t N, int C);

/* torch.nn.LayerNorm's initialisation: w = 1 and b = 0 (b may be NULL), so a
 * fresh layernorm only normalises. */
void layernorm_init(float *w, float *b, int C);

/* The gains' gradients: dw (C) += sum over rows of dout * norm, db (C) +=
 * sum of dout (db may be NULL). */
void layernorm_backward_params(float *dw, float *db, const float *dout, const float *inp,
                               const float *mean, const float *rstd, size_t N, int C);

/* The input's gradient: dinp (N,C) += ..., row by row. */
void layernorm_backward_input(float *dinp, const float *dout, const float *inp, const float *w,
                              const float *mean, const float *rstd, size_t N, int C);

#endif
