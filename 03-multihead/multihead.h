/*
 * multihead.h - several attention heads side by side.
 *
 * One head of size C can attend to one thing at a time. NH heads of size
 * hs = C/NH each look for something different (a vowel, the start of the
 * word, the speaker's name...) at the same cost, and their outputs are
 * concatenated back to width C.
 *
 * The queries, keys and values of all heads come from one matrix multiply,
 * c_attn: qkv (B,T,3C) holds at every position [q (C) | k (C) | v (C)], and
 * head h owns columns h*hs .. (h+1)*hs of each third. Each (batch row, head)
 * pair is independent, so the loops run in parallel over those pairs, and
 * the per-head work is chapter 02's functions with a stride of 3C.
 */
#ifndef MULTIHEAD_MULTIHEAD_H
#define MULTIHEAD_MULTIHEAD_H

#include <stddef.h>

/* att (B,NH,T,T): every head's causal attention weights, from qkv (B,T,3C). */
void multihead_scores_forward(float *att, const float *qkv, int B, int T, int C, int NH);

/* out (B,T,C) = each head's att @ v, heads side by side. */
void multihead_mix_forward(float *out, const float *att, const float *qkv, int B, int T, int C,
                           int NH);

/* datt (B,NH,T,T) += ...; the v third of dqkv (B,T,3C) += ... */
void multihead_mix_backward(float *datt, float *dqkv, const float *dout, const float *att,
                            const float *qkv, int B, int T, int C, int NH);

/* the q and k thirds of dqkv += ..., through the softmax. datt is the
 * gradient of the attention weights; a faster implementation may use it as
 * scratch and overwrite it (chapter 05's does), this one leaves it as is. */
void multihead_scores_backward(float *dqkv, float *datt, const float *att,
                               const float *qkv, int B, int T, int C, int NH);

/* The size of each function's work, B*NH*T*T attention weights (each a
 * dot product of length hs): it decides whether the (b, h) pairs are split
 * across threads (common/parallel.h). */
size_t multihead_work(int B, int T, int NH);

#endif
