/*
 * modelutil.h - checks that every model from chapter 02 on must pass, shared
 * by their Check suites (02-04's models and chapter 05's GPT): the gradient
 * of the loss with respect to every parameter tensor (with dropout on too),
 * causality, and independence from the thread count.
 *
 * Each function fails the running Check test (with a message naming what
 * went wrong) rather than returning a verdict.
 */
#ifndef TESTS_MODELUTIL_H
#define TESTS_MODELUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/rng.h"
#include "../common/train.h"

typedef struct {
    language_model lm;
    const float *losses; /* (B,T) where the model's forward leaves its
                          * per-position losses (lm_base's losses, say) */
    const int *x, *y;    /* (B,T) a batch */
    int B, T;
    /* For models with ReLUs: which linear piece the last forward ran on
     * (a hash of the signs of every ReLU input; see testutil.h); NULL for
     * smooth models. */
    uint64_t (*piece)(const void *model);
} model_ctx;

/* The model's mean loss on the batch, summed in double from the
 * per-position losses (finer than the float forward returns). */
double model_objective(void *ctx);

/* grads = d loss / d params at the current parameters, by one forward and
 * backward pass on the batch (from zeroed gradients); returns the loss. */
float fill_gradients(model_ctx *c);

/* Random ids in [0, V) for x and y (n each). */
void random_batch(int *x, int *y, size_t n, int V, rng *r);

/* Fills grads by one forward and backward pass, checks that a pass adds to
 * grads (+=) rather than overwriting them, then checks up to
 * max_elems elements of every parameter tensor against finite differences
 * with step eps (kink-aware when c->piece is set), and, for smooth models,
 * n_dirs directions within every tensor (the first its own gradient).
 * GRAD_VERBOSE=1 in the environment prints each tensor's errors. */
void assert_model_gradients(model_ctx *c, size_t max_elems, int n_dirs, float eps);

/* The same checks with dropout on, for a smooth model whose dropout masks
 * come from the stream `dropout` (the model's own). The objective rewinds
 * the stream before every forward, so every pass drops the same elements
 * (see assert_dropout_gradient in testutil.h); then the gradient of one
 * pass under other masks must fail the check. Leaves the model training. */
void assert_dropout_gradients(model_ctx *c, rng *dropout, size_t max_elems, int n_dirs,
                              float eps);

/* Negative control: the checker must see through a corrupted gradient.
 * Flips the sign of one tensor's gradient, then swaps two of its elements,
 * and asserts the check reports an error above GRAD_TOL each time. */
void assert_checker_catches_errors(model_ctx *c, const char *tensor, float eps);

/* Causality both ways, for every position t of a (B,T) batch: changing the
 * tokens after t leaves the logits at positions <= t exactly equal, and
 * changing the token at t changes the logits at the last position. */
void assert_causal(language_model *lm, int V, int B, int T, rng *r);

/* A forward and backward pass with 1 thread and with 2 (after asserting a
 * team of 2 really runs) give the same loss, logits and gradients, bit for
 * bit. Leaves OpenMP's thread settings as it found them. */
void assert_same_for_1_and_2_threads(model_ctx *c);

/* How many threads a parallel region gets with the current settings. */
int threads_in_a_team(void);

#endif
