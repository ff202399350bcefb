/*
 * train.h - the training loop every chapter shares.
 *
 * A chapter's model plugs in through `language_model`: where its parameters
 * and gradients live, a forward pass that returns the loss, and a backward
 * pass. The loop does the rest, the same way for the bigram and for the
 * GPT:
 *
 *     for step in 0..iters:
 *         every eval_interval steps: estimate train/val loss, log a CSV row
 *         x, y = random batch from train
 *         loss = forward(x, y); zero grads; backward()
 *         clip the gradient norm (optional); AdamW step at lr(step)
 *
 * Chapter 05 adds checkpoints and resuming through the hooks at the bottom
 * (`on_eval` and `train_state`); chapters 01-04 leave them empty.
 */
#ifndef COMMON_TRAIN_H
#define COMMON_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "adamw.h"
#include "data.h"
#include "error.h"
#include "log.h"
#include "params.h"
#include "rng.h"

struct train_config;
struct train_state;

typedef struct {
    void *self;                 /* the model, passed back to every function */
    int vocab_size, block_size;
    const param_table *table;   /* names, shapes and offsets of the parameters */
    float *params, *grads;      /* (table->total) each */
    /* Runs the model on x (B,T). With targets (B,T) it returns the mean
     * cross-entropy loss; with targets NULL it only computes logits. */
    float (*forward)(void *self, const int *x, const int *targets, int B, int T);
    /* grads += d(loss)/d(params), for the last forward (which had targets). */
    void (*backward)(void *self);
    /* The logits (B,T,V) of the last forward. */
    const float *(*logits)(void *self);
    /* Switches dropout on (training) or off (evaluation, sampling); NULL for
     * models without dropout. */
    void (*set_training)(void *self, bool training);
    /* Optional: one whole training step done by the model itself (forward,
     * backward, clipping, AdamW at lr), for models whose parameters live
     * elsewhere, like a GPU's memory (chapter 06). Returns the loss. NULL:
     * the loop runs the step on the CPU through params and grads. */
    float (*train_step)(void *self, const int *x, const int *targets, int B, int T,
                        const struct train_config *cfg, struct train_state *st, float lr);
} language_model;

/* Which parameters AdamW's weight decay applies to. */
typedef enum {
    DECAY_ALL,        /* torch.optim.AdamW(model.parameters()): chapters 01-04 */
    DECAY_2D_ONLY,    /* matrices only, not gains or biases: nanoGPT, chapter 05 */
} decay_rule;

/* Everything that must be saved to resume training exactly. */
typedef struct train_state {
    long step;           /* the next step to run */
    float *m, *v;        /* AdamW moments, same layout as the parameters */
    rng batch_rng;       /* draws the training batches */
    rng eval_rng;        /* draws the evaluation batches */
    float best_val;      /* lowest val loss seen so far */
    /* The evaluation at `step` is done (a checkpoint saved after it need
     * not repeat it; one saved by a signal during it must). */
    bool evaluated;
} train_state;

typedef struct train_config {
    long iters;
    int batch, block;
    long eval_interval;
    int eval_iters;
    adamw_config adamw;
    decay_rule decay;
    lr_schedule schedule;
    float grad_clip;           /* max gradient norm; 0: no clipping */
    const char *csv_path;      /* NULL: no CSV log */
    /* Continuing a run from its checkpoint in its own folder (chapter 05's
     * --resume): the CSV log is cut back to the checkpoint's step, then
     * appended to (st->evaluated says whether the evaluation at that step
     * was done before the checkpoint was saved). */
    bool resuming;
    /* Called after every evaluation with the state that would resume from
     * it; returns 0, or -1 (with e set) to stop training with an error. */
    int (*on_eval)(void *ctx, train_state *st, float train_loss, float val_loss, error *e);
    void *hook_ctx;
    /* When a signal handler sets *stop, training stops after the current
     * step, or abandons the current evaluation (it is redone on resuming),
     * and train_run returns TRAIN_INTERRUPTED. NULL: not watched. */
    volatile sig_atomic_t *stop;
} train_config;

typedef struct {
    long step;          /* step of the last evaluation */
    float train_loss;   /* its estimates */
    float val_loss;
    double train_seconds; /* time in training steps, evaluations excluded */
    double eval_seconds;
    double median_step_ms; /* the typical step: see STEP_TIMES_KEPT */
} train_result;

/* Steps left out of the median step time: the first few run cold (caches,
 * page faults, library set-up). The PyTorch peer skips as many. */
#define WARMUP_STEPS 5
/* The median step time is taken over at most this many steps, the last
 * ones run (the first WARMUP_STEPS left out when there are enough to
 * spare), so its memory stays fixed however long the run. */
#define STEP_TIMES_KEPT 8192

typedef enum { TRAIN_DONE = 0, TRAIN_FAILED = -1, TRAIN_INTERRUPTED = 1 } train_status;

/* Allocates the moments and seeds the RNGs for a fresh run. */
int train_state_init(train_state *st, size_t n_params, long seed, error *e);
void train_state_free(train_state *st);

/* Mean loss over n_batches random batches of one split (dropout off).
 * Once *stop is set (stop may be NULL) it gives up and returns NaN. */
float estimate_loss(language_model *m, const dataset *ds, split s, int n_batches, int B, int T,
                    rng *r, int *x, int *y, const volatile sig_atomic_t *stop);

/* Trains from st->step to cfg->iters. Prints one line per evaluation on
 * stdout and a progress line on a terminal. A non-finite loss stops
 * training with an error (TRAIN_FAILED), leaving any checkpoint the hooks
 * wrote as it was. */
train_status train_run(language_model *m, const dataset *ds, const train_config *cfg,
                       train_state *st, train_result *res, error *e);

/* Applies one AdamW step to every tensor, honouring the decay rule. */
void optimizer_step(language_model *m, const train_config *cfg, train_state *st, float lr);

#endif
