/*
 * fastops.h - the fast versions of the layers that dominate a GPT step.
 *
 * Same signatures and same results (to float rounding) as the readable
 * loops of chapters 02-04, which stay the reference. What changes is how
 * the work is laid out for the hardware:
 *
 *  - linear layers call cblas_sgemm, the BLAS matrix multiply, which runs
 *    near the CPU's peak. With 2 cores, one 2-thread sgemm on GPT-sized
 *    matrices reaches only ~100 GFLOP/s; splitting each product into a
 *    fixed number of independent tasks, each a 1-thread sgemm, reaches
 *    ~140. The output and the input's gradient are split by rows; the
 *    weight's gradient, a sum over all rows, is split by output feature
 *    (rows of dw), so no two tasks add into the same element. The split
 *    does not depend on the thread count, so on one machine neither do the
 *    results.
 *  - attention runs one (batch row, head) pair per task, each pair's small
 *    products (two forward, four backward) as sgemm calls on strided views
 *    of the qkv tensor.
 *
 * Built with BLAS=0 these fall back to the reference loops.
 */
#ifndef GPT_FASTOPS_H
#define GPT_FASTOPS_H

#include <stddef.h>

/* As linear_forward / linear_backward (02-self-attention/linear.h). */
void linear_fast_forward(float *out, const float *inp, const float *w, const float *bias,
                         size_t N, int C, int OC);
void linear_fast_backward(float *dinp, float *dw, float *dbias, const float *dout,
                          const float *inp, const float *w, size_t N, int C, int OC);

/* As the multihead_* functions (03-multihead/multihead.h). */
void attention_fast_scores_forward(float *att, const float *qkv, int B, int T, int C, int NH);
void attention_fast_mix_forward(float *out, const float *att, const float *qkv, int B, int T,
                                int C, int NH);
void attention_fast_mix_backward(float *datt, float *dqkv, const float *dout, const float *att,
                                 const float *qkv, int B, int T, int C, int NH);
void attention_fast_scores_backward(float *dqkv, float *datt, const float *att,
                                    const float *qkv, int B, int T, int C, int NH);

/* As layernorm_backward (04-block/layernorm.h). The input's gradient is
 * chapter 04's row loop; the gains' gradient sums down columns, which the
 * reference does one column at a time (a cache line per element); here
 * each task owns a block of adjacent columns and walks the rows, reading
 * them contiguously and in SIMD. */
void layernorm_fast_backward(float *dinp, float *dw, float *db, const float *dout,
                             const float *inp, const float *w, const float *mean,
                             const float *rstd, size_t N, int C);

#endif
