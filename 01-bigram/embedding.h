/*
 * embedding.h - the token embedding: a lookup table with one learned row
 * per token id.
 *
 * "Embedding" sounds grand, but the forward pass is a table lookup,
 * out[i] = wte[idx[i]], and the backward pass sends each output gradient back
 * to the row it came from. In the bigram model the rows are V wide and are
 * read directly as next-token logits; from chapter 02 on they are C wide and
 * feed the rest of the network.
 */
#ifndef BIGRAM_EMBEDDING_H
#define BIGRAM_EMBEDDING_H

#include <stddef.h>

/* out (N,C) = wte[idx] where idx (N) holds ids into wte (V,C). */
void token_embedding_forward(float *out, const int *idx, const float *wte, size_t N, int C);

/* dwte (V,C) += the rows of dout (N,C), each added to row idx[i]. */
void token_embedding_backward(float *dwte, const float *dout, const int *idx, size_t N, int C);

#endif
