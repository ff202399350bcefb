/*
 * generate.h - how a language model writes: predict, draw, append, repeat.
 *
 * Given a context, the model outputs logits for the next character. We turn
 * them into probabilities and draw one character at random according to
 * them (not always the likeliest: that gets stuck in loops), append it to
 * the context and go again. Two knobs shape the draw:
 *   temperature  divides the logits first: below 1 sharpens the
 *                distribution (safer text), above 1 flattens it (wilder);
 *   top-k        keeps only the k likeliest characters, exactly k: among
 *                equal logits the lower id goes first, so k = 1 is
 *                argmax (the first of equal maxima).
 * The context is cropped to the model's block size, the longest it was
 * trained to look back.
 */
#ifndef BIGRAM_GENERATE_H
#define BIGRAM_GENERATE_H

#include <stddef.h>
#include <stdio.h>

#include "../common/error.h"
#include "../common/rng.h"
#include "../common/tokenizer.h"
#include "../common/train.h"

typedef struct {
    float temperature; /* > 0 */
    int top_k;         /* 0: all characters */
} sampler_config;

#define SAMPLER_PLAIN ((sampler_config){1.0f, 0})

/* Draws a token id from logits (V) under the sampler config; -1 (and e set)
 * if top-k's ranking finds no memory. probs (V) is scratch space; on return
 * it holds the distribution that was drawn from. */
int sample_token(const float *logits, int V, const sampler_config *sc, float *probs, rng *r,
                 error *e);

/* Writes n_tokens generated characters to out, each as soon as it is drawn,
 * after feeding the model the prompt ids (only the last block_size are
 * kept). An empty prompt (n_prompt 0) is an error: there is no last token
 * to predict from. Generation stops early once out cannot be written (its
 * error flag tells the caller). Returns 0, or -1 with e set. */
int generate(language_model *m, const tokenizer *tok, const int *prompt, size_t n_prompt,
             long n_tokens, const sampler_config *sc, rng *r, FILE *out, error *e);

#endif
