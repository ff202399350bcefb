/*
 * model.h - chapter 03's language model: multi-head attention, an output
 * projection, and a feed-forward network.
 *
 *     x = wte[ids] + wpe[t]                       (B,T,C)
 *     qkv = x @ Wattn^T                           (B,T,3C)  all heads' q|k|v at once
 *     heads = NH causal heads of size C/NH        (B,T,C)   side by side
 *     y = heads @ Wproj^T + bproj                 (B,T,C)   mixes what the heads found
 *     h = relu(y @ Wfc^T + bfc) @ Wfp^T + bfp     (B,T,C)   feed-forward, 4C wide inside
 *     logits = h @ lm_w^T + lm_b                  (B,T,V)
 *
 * With `ffn` false the feed-forward line is left out (h = y), to measure
 * what it buys. There are no residual connections or layer norms yet: the
 * lecture adds those in chapter 04.
 */
#ifndef MULTIHEAD_MODEL_H
#define MULTIHEAD_MODEL_H

#include <stdbool.h>

#include "../02-self-attention/lmbase.h"
#include "../common/error.h"
#include "../common/rng.h"
#include "../common/train.h"

typedef struct {
    float *attn_w;                /* (3C,C) attn.c_attn.weight, rows q | k | v */
    float *proj_w, *proj_b;       /* (C,C), (C) attn.c_proj */
    float *fc_w, *fc_b;           /* (4C,C), (4C) mlp.c_fc    (NULL without ffn) */
    float *fc_proj_w, *fc_proj_b; /* (C,4C), (C)  mlp.c_proj  (NULL without ffn) */
} multihead_weights;

typedef struct {
    lm_base base;           /* embeddings, lm_head, parameters, the batch */
    int NH;                 /* heads, each of size C/NH */
    bool ffn;               /* with the feed-forward network */
    multihead_weights w, g; /* views into base.params and base.grads */
    float *acts;            /* one allocation for the arrays below */
    float *qkv;             /* (B,T,3C) */
    float *att;             /* (B,NH,T,T) */
    float *heads;           /* (B,T,C) */
    float *proj;            /* (B,T,C) */
    float *fc, *relu;       /* (B,T,4C) before and after the ReLU */
    float *mlp;             /* (B,T,C) */
    float *grad_acts;       /* the gradients below, zeroed together */
    size_t n_grad_acts;
    float *dqkv, *datt, *dheads, *dproj, *dfc, *drelu, *dmlp;
} multihead_model;

/* Builds the model (vocabulary V, width C, NH heads, with or without the
 * feed-forward network) for batches up to max_B x max_T, initialised from r
 * as PyTorch would. C must be divisible by NH. */
int multihead_model_init(multihead_model *m, int V, int C, int NH, bool ffn, int max_B,
                         int max_T, rng *r, error *e);
void multihead_model_free(multihead_model *m);

/* Logits for ids (B,T); with targets (B,T) returns the mean loss, else 0. */
float multihead_model_forward(multihead_model *m, const int *ids, const int *targets, int B,
                              int T);

/* grads += d(loss)/d(params) for the last forward (which had targets). */
void multihead_model_backward(multihead_model *m);

language_model multihead_language_model(multihead_model *m);

#endif
