/*
 * bigram.h - the simplest language model: the next character depends only
 * on the current one.
 *
 * The whole model is one V x V table. Row i holds the logits for "what
 * follows character i", so predicting is looking up the row of the current
 * character, and learning is nudging that row toward the characters that
 * really followed it. It cannot see further back than one character: it
 * learns which letters tend to follow 'q', but not which words make sense.
 * Everything the later chapters add is about looking further back.
 */
#ifndef BIGRAM_BIGRAM_H
#define BIGRAM_BIGRAM_H

#include <stdbool.h>

#include "../common/error.h"
#include "../common/params.h"
#include "../common/rng.h"
#include "../common/train.h"

typedef struct {
    int V;               /* vocabulary size */
    int max_B, max_T;    /* largest batch the activations have room for */
    param_table table;
    float *params, *grads;
    float *logit_table;  /* (V,V) view into params: row = current char, col = next char */
    float *dlogit_table; /* (V,V) its gradient */
    /* activations of the last forward pass */
    int B, T;
    bool has_targets;
    int *inputs, *targets; /* (B,T) copies, needed by the backward pass */
    float *logits;         /* (B,T,V) */
    float *probs;          /* (B,T,V) softmax of logits */
    float *losses;         /* (B,T) */
    float *dlogits;        /* (B,T,V) */
} bigram;

/* Allocates the model for batches up to max_B x max_T and initialises the
 * table from N(0, 1), as torch.nn.Embedding does. */
int bigram_init(bigram *m, int V, int max_B, int max_T, rng *r, error *e);
void bigram_free(bigram *m);

/* logits (B,T,V) = logit_table[x]; with targets (B,T) returns the mean
 * cross-entropy, else 0. */
float bigram_forward(bigram *m, const int *x, const int *targets, int B, int T);

/* grads += d(mean loss)/d(params) for the last forward. */
void bigram_backward(bigram *m);

/* The model as the training loop sees it. */
language_model bigram_language_model(bigram *m);

#endif
