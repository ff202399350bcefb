/*
 * attention.c - one causal self-attention head over one sequence; see
 * attention.h.
 *
 * What it teaches: attention is a weighted average. Position t mixes the
 * values v_0..v_t of itself and the positions before it; the weights are a
 * softmax of how well t's query matches each key. With all queries zero,
 * every score is 0 and the weights are 1/(t+1): the plain running average
 * of the "mathematical trick" (a lower-triangular matrix of averages).
 * Learned queries and keys turn that fixed average into a data-dependent
 * one.
 *
 * Builds on: 01's softmax_forward (crossentropy.h), used on the first t+1
 * scores of row t. The entries after t are never computed: they are set to
 * exactly 0, which is what softmax would give a score of -infinity.
 */
#include "attention.h"

#include <math.h>
#include <stddef.h>

#include "../01-bigram/crossentropy.h"

/* sum_c a[c] * b[c] */
static float dot(const float *a, const float *b, int n) {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int c = 0; c < n; c++)
        sum += a[c] * b[c];
    return sum;
}

void attention_scores_forward(float *att, const float *q, const float *k, int T, int hs,
                              int stride) {
    float scale = 1.0f / sqrtf((float)hs);
    for (int t = 0; t < T; t++) {
        float *row = att + (size_t)t * T; /* (T) position t's weights over s */
        const float *qt = q + (size_t)t * stride;
        for (int s = 0; s <= t; s++)
            row[s] = dot(qt, k + (size_t)s * stride, hs) * scale;
        softmax_forward(row, row, t + 1); /* only over s <= t: the past */
        for (int s = t + 1; s < T; s++)
            row[s] = 0.0f; /* the future gets nothing */
    }
}

void attention_mix_forward(float *out, const float *att, const float *v, int T, int hs,
                           int v_stride, int out_stride) {
    for (int t = 0; t < T; t++) {
        const float *row = att + (size_t)t * T;
        float *ot = out + (size_t)t * out_stride;
        for (int i = 0; i < hs; i++)
            ot[i] = 0.0f;
        for (int s = 0; s <= t; s++) {
            const float *vs = v + (size_t)s * v_stride;
#pragma omp simd
            for (int i = 0; i < hs; i++)
                ot[i] += row[s] * vs[i];
        }
    }
}

void attention_mix_backward(float *datt, float *dv, const float *dout, const float *att,
                            const float *v, int T, int hs, int v_stride, int out_stride) {
    /* forward: out_t += att[t][s] * v_s  for s <= t
     * so datt[t][s] += dout_t . v_s  and  dv_s += att[t][s] * dout_t */
    for (int t = 0; t < T; t++) {
        const float *dot_t = dout + (size_t)t * out_stride;
        for (int s = 0; s <= t; s++) {
            const float *vs = v + (size_t)s * v_stride;
            float *dvs = dv + (size_t)s * v_stride;
            float a = att[(size_t)t * T + s];
            datt[(size_t)t * T + s] += dot(dot_t, vs, hs);
#pragma omp simd
            for (int i = 0; i < hs; i++)
                dvs[i] += a * dot_t[i];
        }
    }
}

void attention_scores_backward(float *dq, float *dk, const float *datt, const float *att,
                               const float *q, const float *k, int T, int hs, int stride) {
    float scale = 1.0f / sqrtf((float)hs);
    for (int t = 0; t < T; t++) {
        const float *a = att + (size_t)t * T, *da = datt + (size_t)t * T;
        /* forward: a = softmax(score) over s <= t. Its Jacobian gives
         *     dscore[s] = a[s] * (da[s] - sum_s' a[s'] * da[s'])          */
        float weighted = 0.0f;
        for (int s = 0; s <= t; s++)
            weighted += a[s] * da[s];
        const float *qt = q + (size_t)t * stride;
        float *dqt = dq + (size_t)t * stride;
        for (int s = 0; s <= t; s++) {
            /* forward: score[s] = (q_t . k_s) * scale */
            float dscore = a[s] * (da[s] - weighted) * scale;
            const float *ks = k + (size_t)s * stride;
            float *dks = dk + (size_t)s * stride;
#pragma omp simd
            for (int i = 0; i < hs; i++) {
                dqt[i] += dscore * ks[i];
                dks[i] += dscore * qt[i];
            }
        }
    }
}
