/*
 * multihead.c - NH causal attention heads side by side; see multihead.h.
 *
 * What it teaches: multi-head attention is no new arithmetic. It is
 * chapter 02's head run NH times on narrower slices: head h of batch row b
 * reads columns h*hs..(h+1)*hs of the q, k and v thirds of qkv (rows 3C
 * apart) and writes the same columns of out (rows C apart). The (b, h)
 * pairs share nothing, so they run in parallel (when there are enough of
 * them to be worth it: multihead_work), and each pair's arithmetic is the
 * same whatever thread runs it.
 *
 *     qkv (B,T,3C):  [ q: head0 head1 ... | k: head0 head1 ... | v: ... ]
 *     att (B,NH,T,T): one T x T matrix per (b, h)
 *     out (B,T,C):   [ head0 head1 ... ]
 */
#include "multihead.h"

#include <stddef.h>

#include "../02-self-attention/attention.h"
#include "../common/parallel.h"

/* Where pair (b, h) starts in each tensor. */
typedef struct {
    size_t q, k, v; /* in qkv (and dqkv) */
    size_t att;     /* in att (and datt) */
    size_t out;     /* in out (and dout) */
} head_slice;

static head_slice slice(int b, int h, int T, int C, int NH) {
    size_t hs = (size_t)(C / NH), row = (size_t)b * T;
    head_slice s;
    s.q = row * 3 * C + h * hs;
    s.k = s.q + C;
    s.v = s.q + 2 * (size_t)C;
    s.att = ((size_t)b * NH + h) * T * T;
    s.out = row * C + h * hs;
    return s;
}

size_t multihead_work(int B, int T, int NH) { return (size_t)B * NH * T * T; }

void multihead_scores_forward(float *att, const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
#pragma omp parallel for collapse(2) schedule(static) \
    if (multihead_work(B, T, NH) >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            head_slice s = slice(b, h, T, C, NH);
            attention_scores_forward(att + s.att, qkv + s.q, qkv + s.k, T, hs, 3 * C);
        }
}

void multihead_mix_forward(float *out, const float *att, const float *qkv, int B, int T, int C,
                           int NH) {
    int hs = C / NH;
#pragma omp parallel for collapse(2) schedule(static) \
    if (multihead_work(B, T, NH) >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            head_slice s = slice(b, h, T, C, NH);
            attention_mix_forward(out + s.out, att + s.att, qkv + s.v, T, hs, 3 * C, C);
        }
}

void multihead_mix_backward(float *datt, float *dqkv, const float *dout, const float *att,
                            const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
#pragma omp parallel for collapse(2) schedule(static) \
    if (multihead_work(B, T, NH) >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            head_slice s = slice(b, h, T, C, NH);
            attention_mix_backward(datt + s.att, dqkv + s.v, dout + s.out, att + s.att,
                                   qkv + s.v, T, hs, 3 * C, C);
        }
}

void multihead_scores_backward(float *dqkv, float *datt, const float *att,
                               const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
#pragma omp parallel for collapse(2) schedule(static) \
    if (multihead_work(B, T, NH) >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            head_slice s = slice(b, h, T, C, NH);
            attention_scores_backward(dqkv + s.q, dqkv + s.k, datt + s.att, att + s.att,
                                      qkv + s.q, qkv + s.k, T, hs, 3 * C);
        }
}
