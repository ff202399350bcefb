/*
 * gpt.h - the full GPT: chapter 04's transformer at scale, the way nanoGPT
 * (and GPT-2) build it.
 *
 *   ids (B,T) -> wte[id] + wpe[t] -> dropout                  (B,T,C)
 *             -> n_layer x block: x += attn(ln_1(x)); x += mlp(ln_2(x))
 *             -> ln_f -> logits = x @ wte^T                  (B,T,V)
 *
 * What changes from chapter 04's lecture-sized model:
 *   - GELU instead of ReLU in the MLP (gelu.h);
 *   - no biases anywhere (nanoGPT's bias=False: they buy nothing here);
 *   - the lm_head is tied to the token embedding: the same V x C matrix
 *     reads tokens in and writes logits out, so its gradient is the sum of
 *     both uses;
 *   - dropout also right after the embeddings;
 *   - initialisation N(0, 0.02), with the two projections that write into
 *     the residual stream scaled by 1/sqrt(2 n_layer), so the stream's
 *     variance does not grow with depth;
 *   - every layer runs through a layer_ops table: the readable loops of
 *     chapters 02-04, or the fast ones (fastops.h), which a test compares.
 * Parameter names are nanoGPT's, so checkpoints interoperate (ckpt.h).
 */
#ifndef GPT_GPT_H
#define GPT_GPT_H

#include <stdbool.h>

#include "../04-block/block.h"
#include "../common/error.h"
#include "../common/params.h"
#include "../common/rng.h"
#include "../common/train.h"

typedef struct {
    int n_layer, n_head, n_embd;
    int block_size; /* the longest context (rows of wpe) */
    int vocab_size;
    float dropout;
} gpt_config;

/* N(0, 0.02) initialisation of every weight matrix (GPT-2's choice). */
#define GPT_INIT_STD 0.02f

/* Floating-point operations per token for one training step (forward and
 * backward), as nanoGPT and the PaLM paper count them: 6 per weight that a
 * token meets (2 forward, 4 backward; position embeddings excluded) plus
 * 12 * layers * width * context for attention's products. */
double gpt_flops_per_token(const gpt_config *c);

/* Checks a config for impossible values (n_embd % n_head, sizes >= 1). */
int gpt_config_check(const gpt_config *c, error *e);

/* Declares the tensors of a GPT of config c (nanoGPT's names, [out, in]
 * shapes) into pt, without building the model: what a checkpoint of that
 * config must hold. */
int gpt_declare_params(const gpt_config *c, param_table *pt, error *e);

typedef struct gpt gpt;

/* Which implementation of the layers a model runs: the layer_ops of the
 * blocks and the MLP's GELU. */
typedef struct {
    const layer_ops *layers;
    const activation *gelu;
} gpt_kernels;

/* Chapters 02-04's readable loops and libm's erf: the reference. */
extern const gpt_kernels GPT_REFERENCE;
/* BLAS matmuls, threaded attention, vectorised GELU (fastops.h, gelu.h). */
extern const gpt_kernels GPT_FAST;

/* Builds a GPT for batches up to max_B x block_size, initialised from
 * init_rng; dropout masks come from dropout_rng (copied). */
gpt *gpt_create(const gpt_config *c, int max_B, const rng *init_rng, const rng *dropout_rng,
                const gpt_kernels *k, error *e);
void gpt_free(gpt *m);

const gpt_config *gpt_get_config(const gpt *m);
/* The configuration every block of this model shares (for block_view). */
const block_config *gpt_block_config(const gpt *m);
const param_table *gpt_params_table(const gpt *m);
float *gpt_params(gpt *m);
float *gpt_grads(gpt *m);

/* The dropout stream's state (saved in checkpoints to resume exactly). */
rng *gpt_dropout_rng(gpt *m);

/* Forward pass on x (B,T), B <= max_B, T <= block_size; with targets
 * returns the mean cross-entropy, else 0. */
float gpt_forward(gpt *m, const int *x, const int *targets, int B, int T);

/* grads += d loss / d params for the last forward (which had targets). */
void gpt_backward(gpt *m);

/* logits (B,T,V) of the last forward. */
const float *gpt_logits(const gpt *m);
/* Per-position cross-entropies (B,T) of the last forward with targets
 * (their mean is the loss; the gradient checks sum them in double). */
const float *gpt_losses(const gpt *m);

/* Dropout on (training) or off (evaluation). */
void gpt_set_training(gpt *m, bool training);

/* The model as the shared training loop and sampler see it. */
language_model gpt_language_model(gpt *m);

#endif
