/*
 * model.h - chapter 02's language model: the embeddings, one causal
 * self-attention head, lm_head.
 *
 *     x = wte[ids] + wpe[t]                     (B,T,C)  token + position
 *     q, k, v = x @ Wq^T, x @ Wk^T, x @ Wv^T    (B,T,C)  no bias, head size C
 *     h = softmax(mask(q k^T / sqrt(C))) @ v    (B,T,C)  one row of B at a time
 *     logits = h @ lm_w^T + lm_b                (B,T,V)
 *
 * The bigram saw one character; this model sees up to block_size of them,
 * and learns which to look at.
 */
#ifndef ATTENTION_MODEL_H
#define ATTENTION_MODEL_H

#include "../common/error.h"
#include "../common/rng.h"
#include "../common/train.h"
#include "lmbase.h"

typedef struct {
    float *wq, *wk, *wv; /* (C,C) each: sa_head.{query,key,value}.weight */
} head_weights;

typedef struct {
    lm_base base;        /* embeddings, lm_head, parameters, the batch */
    head_weights w, g;   /* views into base.params and base.grads */
    float *acts;         /* one allocation for the arrays below */
    float *q, *k, *v;    /* (B,T,C) */
    float *att;          /* (B,T,T) attention weights */
    float *h;            /* (B,T,C) the head's output, lm_head's input */
    float *grad_acts;    /* the gradients below, zeroed together */
    size_t n_grad_acts;
    float *dq, *dk, *dv, *datt, *dh;
} attention_model;

/* Builds the model for vocabulary V, width C, batches up to max_B x max_T,
 * initialised from r as PyTorch would. */
int attention_model_init(attention_model *m, int V, int C, int max_B, int max_T, rng *r,
                         error *e);
void attention_model_free(attention_model *m);

/* Logits for ids (B,T); with targets (B,T) returns the mean loss, else 0. */
float attention_model_forward(attention_model *m, const int *ids, const int *targets, int B,
                              int T);

/* grads += d(loss)/d(params) for the last forward (which had targets). */
void attention_model_backward(attention_model *m);

language_model attention_language_model(attention_model *m);

#endif
