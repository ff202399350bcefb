/*
 * block.h - the transformer block: communication (attention) followed by
 * computation (an MLP), each wrapped in a pre-layernorm and a residual
 * connection. Chapter 05's GPT stacks the same block.
 *
 *     x (B,T,C)
 *     res_1 = x + dropout(c_proj(heads(dropout(att(c_attn(ln_1(x)))))))
 *     out   = res_1 + dropout(mlp_proj(act(c_fc(ln_2(res_1)))))
 *
 * (nanoGPT's Block, "pre-LN": the layernorm sits on the branch, so the
 * residual stream itself is never normalised, only added to.)
 *
 * What a user of the block chooses:
 *   block_config  width, heads, biases on or off, the MLP's activation
 *                 (chapter 04: ReLU, as the lecture; chapter 05: GELU), and
 *                 the dropout probability;
 *   layer_ops     which implementation of the heavy layers to call.
 *                 REFERENCE_OPS points at the readable loops of chapters
 *                 02-04; chapter 05 passes faster ones (BLAS, fused), and a
 *                 test runs both on the same block and compares.
 *
 * How the block is stored: its parameters are tensors in the model's one
 * param_table, named as nanoGPT names them (transformer.h.{i}.ln_1.weight,
 * ...), declared with block_declare and seen through block_weights, a
 * struct of named pointers into the parameter buffer (and another, the same
 * layout, into the gradient buffer). Its activations are preallocated for
 * the largest batch in block_acts; nothing is allocated per step.
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "../03-multihead/feedforward.h" /* MLP_MULT, the MLP's width over C */
#include "../common/error.h"
#include "../common/params.h"
#include "../common/rng.h"

/* An elementwise nonlinearity: out (n) = f(inp); dinp (n) += f'(inp) * dout. */
typedef struct {
    const char *name;
    void (*forward)(float *out, const float *inp, size_t n);
    void (*backward)(float *dinp, const float *inp, const float *dout, size_t n);
} activation;

/* max(0, x), chapter 03's relu_forward/relu_backward. */
extern const activation RELU;

typedef struct {
    int C;                  /* width (n_embd) */
    int NH;                 /* attention heads; C % NH == 0 */
    bool bias;              /* biases on the four linears and the two layernorms */
    const activation *act;  /* the MLP's nonlinearity */
    float dropout;          /* probability while training (0: off) */
} block_config;

/* The layers a block calls, as function pointers with the signatures of
 * linear.h, multihead.h and layernorm.h. */
typedef struct {
    void (*linear_forward)(float *out, const float *inp, const float *w, const float *bias,
                           size_t N, int C, int OC);
    void (*linear_backward)(float *dinp, float *dw, float *dbias, const float *dout,
                            const float *inp, const float *w, size_t N, int C, int OC);
    void (*attention_scores_forward)(float *att, const float *qkv, int B, int T, int C, int NH);
    void (*attention_mix_forward)(float *out, const float *att, const float *qkv, int B, int T,
                                  int C, int NH);
    void (*attention_mix_backward)(float *datt, float *dqkv, const float *dout,
                                   const float *att, const float *qkv, int B, int T, int C,
                                   int NH);
    void (*attention_scores_backward)(float *dqkv, float *datt, const float *att,
                                      const float *qkv, int B, int T, int C, int NH);
    void (*layernorm_forward)(float *out, float *mean, float *rstd, const float *inp,
                              const float *w, const float *b, size_t N, int C);
    void (*layernorm_backward)(float *dinp, float *dw, float *db, const float *dout,
                               const float *inp, const float *w, const float *mean,
                               const float *rstd, size_t N, int C);
} layer_ops;

/* The readable loops of chapters 02-04. */
extern const layer_ops REFERENCE_OPS;

/* Named pointers to one block's tensors (in params, or in grads). The bias
 * pointers are NULL when the block has no biases. Weights are [out, in]. */
typedef struct {
    float *ln_1_w, *ln_1_b;           /* (C)          ln_1.weight, ln_1.bias */
    float *attn_w, *attn_b;           /* (3C,C), (3C) attn.c_attn: rows q | k | v */
    float *attn_proj_w, *attn_proj_b; /* (C,C), (C)   attn.c_proj */
    float *ln_2_w, *ln_2_b;           /* (C)          ln_2 */
    float *fc_w, *fc_b;               /* (4C,C), (4C) mlp.c_fc */
    float *mlp_proj_w, *mlp_proj_b;   /* (C,4C), (C)  mlp.c_proj */
} block_weights;

/* One block's activations for batches up to max_B x max_T, kept by the
 * forward pass for the backward pass. The same struct, allocated once more,
 * holds the gradients of the activations during the backward pass (the
 * masks and statistics are then unused). */
typedef struct {
    float *buffer;                    /* the one allocation below */
    size_t n_floats;
    float *ln_1;                      /* (B,T,C)     ln_1(x) */
    float *ln_1_mean, *ln_1_rstd;     /* (B,T) */
    float *qkv;                       /* (B,T,3C) */
    float *att;                       /* (B,NH,T,T)  softmax weights */
    float *att_mask, *att_drop;       /* (B,NH,T,T)  dropout mask, weights after it */
    float *heads;                     /* (B,T,C)     heads side by side */
    float *attn_proj;                 /* (B,T,C)     attn.c_proj output */
    float *attn_mask, *attn_drop;     /* (B,T,C) */
    float *res_1;                     /* (B,T,C)     x + attention */
    float *ln_2;                      /* (B,T,C) */
    float *ln_2_mean, *ln_2_rstd;     /* (B,T) */
    float *fc, *fc_act;               /* (B,T,4C)    before and after the activation */
    float *mlp_proj;                  /* (B,T,C)     mlp.c_proj output */
    float *mlp_mask, *mlp_drop;       /* (B,T,C) */
    float *out;                       /* (B,T,C)     res_1 + MLP: the block's output */
    bool dropout_on;                  /* whether the last forward dropped anything: if
                                       * not, the *_drop tensors were not written */
} block_acts;

/* Adds block `layer`'s tensors to pt as transformer.h.{layer}.* (biases
 * only when cfg->bias). */
int block_declare(param_table *pt, int layer, const block_config *cfg, error *e);

/* Points w at block `layer`'s tensors inside buf: the parameters, or the
 * gradients (same layout), as laid out by pt. */
int block_view(block_weights *w, const param_table *pt, float *buf, int layer,
               const block_config *cfg, error *e);

/* PyTorch's default initialisation: layernorms w 1, b 0; linears uniform in
 * +-1/sqrt(fan_in) (what nn.LayerNorm and nn.Linear do; chapter 04). */
void block_init_pytorch(const block_weights *w, const block_config *cfg, rng *r);

int block_acts_alloc(block_acts *a, const block_config *cfg, int max_B, int max_T, error *e);
void block_acts_free(block_acts *a);

/* a->out (B,T,C) = the block applied to x (B,T,C). With training set,
 * dropout (cfg->dropout) draws its masks from r; otherwise it is off and r
 * is not used. */
void block_forward(const layer_ops *ops, const block_config *cfg, const block_weights *w,
                   block_acts *a, const float *x, int B, int T, bool training, rng *r);

/* For the last block_forward with these a and x: g (parameter gradients)
 * += ..., dx (B,T,C) += d loss / d x, given dout = d loss / d a->out.
 * d is scratch for the activations' gradients (a block_acts of the same
 * size, shareable by all layers); it is zeroed here. */
void block_backward(const layer_ops *ops, const block_config *cfg, const block_weights *w,
                    block_weights *g, const block_acts *a, block_acts *d, float *dx,
                    const float *dout, const float *x, int B, int T);

#endif
