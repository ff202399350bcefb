/*
 * lmbase.h - what every model from chapter 02 on has around its middle.
 *
 * From here on a language model is a sandwich:
 *
 *     ids (B,T) -> x = wte[id] + wpe[t] (B,T,C)      the embeddings (bottom)
 *               -> ... the chapter's idea ...  h (B,T,C)
 *               -> logits = h @ lm_w^T + lm_b (B,T,V) -> cross-entropy (top)
 *
 * The bottom and the top never change between chapters 02 and 04, so they
 * live here once, together with the parameter buffer they are declared in
 * and the batch they last saw. Each chapter's model.c holds only its
 * middle: the diff between two chapters is the lesson.
 *
 * Builds on: 01's token embedding and cross-entropy, this chapter's linear
 * layer and position embedding.
 */
#ifndef ATTENTION_LMBASE_H
#define ATTENTION_LMBASE_H

#include <stdbool.h>

#include "../common/error.h"
#include "../common/params.h"
#include "../common/rng.h"
#include "../common/train.h"

typedef struct {
    float *wte;  /* (V,C)     transformer.wte.weight: one row per token */
    float *wpe;  /* (max_T,C) transformer.wpe.weight: one row per position */
    float *lm_w; /* (V,C)     lm_head.weight */
    float *lm_b; /* (V)       lm_head.bias */
} lm_base_weights;

typedef struct {
    int V, C, max_B, max_T;
    param_table table;        /* every tensor of the model, the middle's too */
    float *params, *grads;    /* (table.total) each */
    lm_base_weights w, g;     /* views into params and grads */
    /* the last batch and its activations, sized for max_B x max_T */
    int B, T;
    bool has_targets;
    int *inputs, *targets;    /* (B,T) copies, for the backward pass */
    float *acts;              /* the one allocation the arrays below live in */
    float *x, *dx;            /* (B,T,C) embeddings (the middle's input), its gradient */
    float *logits, *probs;    /* (B,T,V) */
    float *dlogits;           /* (B,T,V) */
    float *losses;            /* (B,T) */
} lm_base;

/* Step 1 of building a model: sizes, and the embeddings declared in the
 * table. The model then declares its middle's tensors in m->table. */
int lm_base_begin(lm_base *m, int V, int C, int max_B, int max_T, error *e);

/* Step 2, after the middle is declared: declares lm_head, allocates the
 * parameters, gradients and activations, and initialises the embeddings
 * N(0, 1) and lm_head uniform, as PyTorch does. The model then points its
 * own views into m->params and m->grads and initialises its tensors. On
 * failure the caller still calls lm_base_free. */
int lm_base_finish(lm_base *m, rng *r, error *e);

void lm_base_free(lm_base *m);

/* x (B,T,C) = wte[ids] + wpe[t]; remembers ids (B,T) for the backward. */
void lm_base_embed_forward(lm_base *m, const int *ids, int B, int T);

/* logits (B,T,V) = h (B,T,C) @ lm_w^T + lm_b. With targets (B,T) returns the
 * mean cross-entropy (and remembers the targets), else 0. */
float lm_base_head_forward(lm_base *m, const float *h, const int *targets);

/* Starts the backward pass of the last forward: zeroes dx, then grads of
 * lm_head += ..., dh (B,T,C) += d loss / d h. */
void lm_base_head_backward(lm_base *m, float *dh, const float *h);

/* grads of wte and wpe += ..., from m->dx (which the middle filled). */
void lm_base_embed_backward(lm_base *m);

/* The parts of a language_model this base knows (sizes, table, buffers);
 * the model fills in its own forward, backward, logits and set_training. */
language_model lm_base_language_model(lm_base *m, void *self);

#endif
