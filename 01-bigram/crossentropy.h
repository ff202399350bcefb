/*
 * crossentropy.h - from logits to probabilities to a loss.
 *
 * A language model outputs, at every position, one score ("logit") per
 * vocabulary entry. Softmax turns the scores into probabilities:
 *     p_i = exp(z_i) / sum_j exp(z_j)
 * and the cross-entropy loss is the negative log-probability the model gave
 * to the character that really came next:
 *     loss = -log p_target
 * A model that knows nothing gives every character 1/V and pays log(V)
 * (4.17 nats for V = 65); a perfect model pays 0.
 *
 * The gradient of this loss with respect to the logits is famously simple,
 *     d loss / d z_i = p_i - [i == target]
 * "push the right answer up, everything else down, in proportion to how
 * much probability it took".
 */
#ifndef BIGRAM_CROSSENTROPY_H
#define BIGRAM_CROSSENTROPY_H

#include <stddef.h>

/* probs (V) = softmax(logits (V)); computed after subtracting the largest
 * logit, which leaves the result unchanged and keeps exp() from overflowing.
 * Returns the normaliser log(sum of exp(logits)), so that a loss
 * -log(probs[t]) can be had as normaliser - logits[t]: a probability below
 * ~1e-45 rounds to 0 in a float, and its log to -infinity. */
double softmax_forward(float *probs, const float *logits, int V);

/* For N rows of logits (N,V) and targets (N): probs (N,V) = softmax of each
 * row, losses (N) = -log probs[target]. Returns the mean loss. */
float crossentropy_forward(float *probs, float *losses, const float *logits, const int *targets,
                           size_t N, int V);

/* dlogits (N,V) += (probs - onehot(targets)) / N: the gradient of the mean
 * loss. */
void crossentropy_backward(float *dlogits, const float *probs, const int *targets, size_t N,
                           int V);

#endif
