/*
 * model.h - chapter 04's language model: a stack of transformer blocks.
 *
 *     x = wte[ids] + wpe[t]                     (B,T,C)
 *     x = block_l(x)   for l = 0 .. n_layer-1   (B,T,C)  residual stream
 *     h = ln_f(x)                               (B,T,C)  final layernorm
 *     logits = h @ lm_w^T + lm_b                (B,T,V)
 *
 * At the lecture's size (n_embd 32, 4 heads, 3 layers, ReLU, biases) this
 * is the model that reaches a validation loss near 2.06. Chapter 05 keeps
 * the block (block.h) and scales the rest up.
 */
#ifndef BLOCK_MODEL_H
#define BLOCK_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "../02-self-attention/lmbase.h"
#include "../common/error.h"
#include "../common/rng.h"
#include "../common/train.h"
#include "block.h"

typedef struct {
    int V;              /* vocabulary size */
    int n_layer;        /* blocks in the stack */
    block_config block; /* width, heads, biases, activation, dropout */
    int max_B, max_T;   /* largest batch the activations have room for */
} transformer_config;

typedef struct {
    float *ln_f_w, *ln_f_b; /* (C) transformer.ln_f.weight, .bias (NULL without biases) */
} final_weights;

typedef struct {
    lm_base base;          /* embeddings, lm_head, parameters, the batch */
    transformer_config cfg;
    const layer_ops *ops;  /* the layer implementations the blocks call */
    block_weights *w, *g;  /* (n_layer) views into base.params / base.grads */
    final_weights fw, fg;
    block_acts *acts;      /* (n_layer) each block's activations */
    block_acts dacts;      /* gradients of one block's activations, reused by every block */
    float *buffer;         /* one allocation for the arrays below */
    float *ln_f;           /* (B,T,C) lm_head's input */
    float *ln_f_mean, *ln_f_rstd; /* (B,T) */
    float *grad_acts;      /* the gradients below, zeroed together */
    size_t n_grad_acts;
    float *dln_f;          /* (B,T,C) */
    float *dres;           /* (n_layer,B,T,C) gradient of each block's output */
    bool training;         /* dropout on */
    rng dropout_rng;       /* draws the dropout masks (stream STREAM_DROPOUT of the seed) */
} transformer_model;

/* Builds the model, initialised from r as PyTorch would, with its blocks
 * calling `ops`; dropout masks come from stream STREAM_DROPOUT of seed. It
 * starts in training mode. cfg->n_layer must be at least 1 and
 * cfg->block.C divisible by .NH. */
int transformer_init(transformer_model *m, const transformer_config *cfg, const layer_ops *ops,
                     rng *r, uint64_t seed, error *e);
void transformer_free(transformer_model *m);

/* Logits for ids (B,T); with targets (B,T) returns the mean loss, else 0. */
float transformer_forward(transformer_model *m, const int *ids, const int *targets, int B, int T);

/* grads += d(loss)/d(params) for the last forward (which had targets). */
void transformer_backward(transformer_model *m);

/* Dropout on (training) or off (evaluation, sampling, gradient checks). */
void transformer_set_training(transformer_model *m, bool training);

language_model transformer_language_model(transformer_model *m);

#endif
