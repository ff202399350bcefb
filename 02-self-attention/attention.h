/*
 * attention.h - one causal self-attention head over one sequence.
 *
 * Every position t emits a query q_t ("what am I looking for"), a key k_t
 * ("what do I contain") and a value v_t ("what I pass on"). Position t
 * attends to each earlier position s <= t in proportion to how well its
 * query matches that key:
 *
 *     att[t][s] = softmax over s <= t of (q_t . k_s / sqrt(hs)),  0 for s > t
 *     out_t     = sum over s of att[t][s] * v_s
 *
 * The 1/sqrt(hs) keeps the scores' variance near 1 whatever the head size,
 * so softmax does not saturate at initialisation. The mask (s > t gets
 * weight exactly 0) is what makes the model causal: it cannot peek at the
 * characters it is asked to predict.
 *
 * The two halves are separate functions so later chapters can slip dropout
 * between them (chapter 04). Rows of q, k, v and out are `stride` floats
 * apart, so the same code reads one head's columns out of a wider tensor
 * holding many heads (chapter 03).
 */
#ifndef ATTENTION_ATTENTION_H
#define ATTENTION_ATTENTION_H

/* att (T,T) = causal softmax of q k^T / sqrt(hs); q, k: T rows of hs floats,
 * `stride` floats apart. Entries above the diagonal are set to 0. */
void attention_scores_forward(float *att, const float *q, const float *k, int T, int hs,
                              int stride);

/* out (T rows of hs, out_stride apart) = att (T,T) @ v (T rows, v_stride apart). */
void attention_mix_forward(float *out, const float *att, const float *v, int T, int hs,
                           int v_stride, int out_stride);

/* datt (T,T) += dout @ v^T (below the diagonal);  dv += att^T @ dout. */
void attention_mix_backward(float *datt, float *dv, const float *dout, const float *att,
                            const float *v, int T, int hs, int v_stride, int out_stride);

/* Through the softmax and the scaled dot products: dq += ..., dk += ...
 * (dq and dk rows `stride` apart, like q and k). */
void attention_scores_backward(float *dq, float *dk, const float *datt, const float *att,
                               const float *q, const float *k, int T, int hs, int stride);

#endif
