/*
 * position.h - learned position embeddings: one vector per position 0..T-1,
 * added to the token embeddings, so that the same character at position 3
 * and at position 7 looks different to attention (which by itself treats
 * its inputs as an unordered set).
 */
#ifndef ATTENTION_POSITION_H
#define ATTENTION_POSITION_H

/* x (B,T,C) += wpe[t] for every row b: wpe (>=T,C). */
void position_embedding_forward(float *x, const float *wpe, int B, int T, int C);

/* dwpe (T,C) += sum over b of dx[b][t]. */
void position_embedding_backward(float *dwpe, const float *dx, int B, int T, int C);

#endif
