/*
 * cuda_layers.h - every layer of the GPT as a CUDA kernel (or cuBLAS call),
 * callable from C. All pointers are device pointers.
 *
 * Each function mirrors a CPU function of chapters 01-05 with the same math
 * and the same shapes, and says which; the Check suite runs both on the
 * same random inputs and compares. Where the semantics differ it is said:
 * a GPU kernel that owns its whole output writes it (=) instead of adding
 * to it (+=), which saves reading the buffer first. Parameter gradients
 * (dw, dwte, ...) always accumulate (+=), as on the CPU.
 *
 * `operand` arguments are float, or bf16 in bf16 mode (see cuda_util.h).
 *
 * Dropout masks are not stored: element i of a dropout site keeps its value
 * when hash(seed, i) >= p, and the backward pass recomputes the same hash.
 * p = 0 turns a site off (and then seed is unused).
 */
#ifndef CUDA_LAYERS_H
#define CUDA_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_util.h" /* operand */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- embedding.cu: chapters 01/02's token and position embeddings ---- */

/* out (B,T,C) = dropout(wte[idx] + wpe[t]). */
void embedding_forward_cuda(float *out, const int *idx, const float *wte, const float *wpe,
                            int B, int T, int C, float p, uint64_t seed);
/* dwte (V,C) += ..., dwpe (T,C) += ..., from dout (B,T,C), which is
 * multiplied in place by the dropout mask. onehot (B*T*V floats) is scratch. */
void embedding_backward_cuda(float *dwte, float *dwpe, float *onehot, float *dout,
                             const int *idx, int B, int T, int C, int V, float p, uint64_t seed);

/* ---- layernorm.cu: chapter 04's layernorm_forward/backward, with the
 * residual add (04's residual_forward + dropout_forward) before it ---- */

/* The widest row the kernels take (they keep a row in registers). */
#define LN_MAX_C 1024
bool layernorm_cuda_supported(int C);

/* res (N,C) = x + dropout(y), then out (N,C) = layernorm(res) with its
 * mean and rstd (N); y NULL: no residual add, out = layernorm(x) (res
 * unused). The dropout keeps element i when hash(seed, i) >= p. */
void residual_layernorm_forward_cuda(float *res, operand *out, float *mean, float *rstd,
                                     const float *x, const operand *y, const float *w,
                                     const float *b, int N, int C, float p, uint64_t seed);
/* The same without the residual add: out = layernorm(inp). */
void layernorm_forward_cuda(operand *out, float *mean, float *rstd, const float *inp,
                            const float *w, const float *b, int N, int C);
/* dinp (N,C) = dresidual + the gradient through the layernorm (written;
 * dresidual NULL: zeros; dresidual == dinp: dinp +=, as on the CPU), so a
 * residual connection's gradient joins in without a copy first.
 * dbranch (N,C) = dinp * the dropout mask of (p, seed) (written; NULL: not
 * made): when inp was made by residual_layernorm_forward_cuda's add, the
 * gradient into its dropped branch y (that of x is dinp itself).
 * dw (C) += ..., db (C) += ... (db may be NULL). */
void layernorm_backward_cuda(float *dinp, operand *dbranch, const float *dresidual, float *dw,
                             float *db, const operand *dout, const float *inp, const float *w,
                             const float *mean, const float *rstd, int N, int C, float p,
                             uint64_t seed);

/* ---- matmul.cu: chapter 02's linear_forward/backward, on cuBLAS ---- */

/* out (N,OC) = inp (N,C) @ w^T, w (OC,C). (The GPT has no biases.) */
void linear_forward_cuda(operand *out, const operand *inp, const operand *w, int N, int C,
                         int OC);
/* The same with a float result in every mode (the logits). */
void linear_forward_float_cuda(float *out, const operand *inp, const operand *w, int N, int C,
                               int OC);
/* dinp (N,C) = dout @ w (written; NULL to skip);  dw (OC,C) += dout^T @ inp. */
void linear_backward_cuda(operand *dinp, float *dw, const operand *dout, const operand *inp,
                          const operand *w, int N, int C, int OC);

/* ---- attention.cu: chapter 03's multihead_* functions, batched ---- */

/* Scratch the attention functions share: four (B,NH,T,hs) tensors and one
 * (B,NH,T,T). */
typedef struct {
    float *q, *k, *v, *y; /* (B,NH,T,hs) each: heads laid out for batched matmuls */
    float *datt;          /* (B,NH,T,T) */
} attention_scratch;

/* att (B,NH,T,T) = causal softmax(q k^T / sqrt(hs)); att_drop = dropout(att)
 * (pass att_drop == att when p == 0); out (B,T,C) = att_drop @ v, heads side
 * by side. qkv (B,T,3C) as on the CPU. */
void attention_forward_cuda(operand *out, float *att, float *att_drop, const operand *qkv,
                            attention_scratch *s, int B, int T, int C, int NH, float p,
                            uint64_t seed);
/* dqkv (B,T,3C) = d loss / d qkv (written), from dout (B,T,C) and the
 * forward's att, att_drop and qkv. */
void attention_backward_cuda(operand *dqkv, const operand *dout, const float *att,
                             const float *att_drop, const operand *qkv, attention_scratch *s,
                             int B, int T, int C, int NH, float p, uint64_t seed);

/* ---- attention_fused.cu: the same attention, T x T matrices never stored ---- */

/* True when the fused kernels handle this shape (head size C/NH = 64). */
bool attention_fused_supported(int C, int NH);
/* out (B,T,C) as attention_forward_cuda's, with bf16 products; lse
 * (B,NH,T) = log of each softmax row's sum, kept for the backward pass. */
void attention_fused_forward_cuda(operand *out, float *lse, const operand *qkv, int B, int T,
                                  int C, int NH, float p, uint64_t seed);
/* dqkv (B,T,3C) (written), from dout and the forward's out, lse and qkv;
 * D (B,NH,T floats) is scratch. */
void attention_fused_backward_cuda(operand *dqkv, float *D, const operand *dout,
                                   const operand *out, const float *lse, const operand *qkv,
                                   int B, int T, int C, int NH, float p, uint64_t seed);

/* ---- pointwise.cu: GELU (05) ---- */

/* out (n) = gelu(inp), exact erf. */
void gelu_forward_cuda(operand *out, const operand *inp, size_t n);
/* dinp (n) = gelu'(inp) * dout (written). */
void gelu_backward_cuda(operand *dinp, const operand *inp, const operand *dout, size_t n);

/* ---- crossentropy.cu: chapter 01's crossentropy_forward/backward ---- */

/* probs (N,V) = softmax(logits), losses (N) = -log probs[target]. */
void crossentropy_forward_cuda(float *probs, float *losses, const float *logits,
                               const int *targets, int N, int V);
/* dlogits (N,V) = (probs - onehot(targets)) / N (written). */
void crossentropy_backward_cuda(operand *dlogits, const float *probs, const int *targets, int N,
                                int V);
/* The mean of x (n), summed in a fixed order; copied to the host. */
float mean_cuda(const float *x, int n, float *scratch);

/* ---- adamw.cu: common/adamw.c's AdamW and gradient clipping ---- */

/* sum of g^2 into *out (a device scalar); partial (GRAD_SUMSQ_PARTIALS
 * floats: one per block of the first pass) is scratch. */
#define GRAD_SUMSQ_PARTIALS 1024
void grad_sumsq_cuda(float *out, float *partial, const float *g, size_t n);
/* The update runs as one launch over all parameters, one block per slice
 * of at most ADAMW_SLICE elements of one tensor; a slice says whether it
 * belongs to a matrix (weight decay applies to matrices, or to all). */
#define ADAMW_SLICE 16384
typedef struct {
    size_t offset;
    int size;
    int matrix;
} adamw_slice;

/* The slices of one tensor of `size` parameters at `offset`, written to
 * out (NULL: only counted); returns how many. */
int adamw_slices(adamw_slice *out, size_t offset, size_t size, bool matrix);
/* One AdamW step, as adamw_update(), over the slices (a device array), on
 * gradients scaled by min(1, max_norm / (sqrt(*sumsq) + 1e-6)) (no
 * clipping: sumsq NULL); weight decay on matrices, or on every slice if
 * decay_all. bf16_copy: NULL, or (bf16 mode) operands that get the new
 * params, at the same offsets. */
void adamw_update_cuda(float *params, const float *grads, float *m, float *v,
                       const adamw_slice *slices, int n_slices, float beta1, float beta2,
                       float eps, float lr, float weight_decay, bool decay_all, long step,
                       const float *sumsq, float max_norm, operand *bf16_copy);

#ifdef __cplusplus
}
#endif

#endif
