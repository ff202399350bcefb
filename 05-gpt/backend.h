/*
 * backend.h - where the GPT computes: the CPU (this chapter) or a GPU
 * (chapter 06), behind one small interface, so both programs share every
 * line of their command-line front end (run.c): presets, training with
 * checkpoints and resume, sampling, evaluation.
 *
 * Checkpoints are always written from and read into a host-side `gpt`
 * (its param_table names the tensors). On the CPU that host model is also
 * the one that computes; a GPU backend keeps its own copy on the device and
 * moves weights (and AdamW moments) across when a checkpoint is saved or
 * loaded.
 */
#ifndef GPT_BACKEND_H
#define GPT_BACKEND_H

#include "../common/cli.h"
#include "../common/error.h"
#include "../common/rng.h"
#include "../common/train.h"
#include "gpt.h"

typedef struct {
    const char *name;    /* "cpu", "cuda" */
    const char *program; /* "gpt", "gpt-cuda": the name its error lines start with */
    /* Where its runs go unless --out says otherwise: RUNS/PRESET, under
     * runs/ in the chapter's name ("runs/05-gpt", "runs/06-cuda"). */
    const char *runs;
    /* Options of the backend's own, accepted by every command (cli.h). */
    unsigned extra_options;
    /* Applies them after parsing (NULL: nothing to apply). */
    int (*configure)(const options *o, error *e);
    /* Builds a model for batches up to max_B: *host receives the host-side
     * gpt (weights initialised from init_rng, dropout stream dropout_rng).
     * Returns the backend's model handle, or NULL with e set. */
    void *(*create)(const gpt_config *c, int max_B, const rng *init_rng,
                    const rng *dropout_rng, gpt **host, error *e);
    void (*destroy)(void *model);
    /* The model as the training loop and the sampler drive it. */
    language_model (*language_model)(void *model);
    /* Copies weights (and with st, AdamW's moments) from the computing
     * model to the host gpt / st, before a checkpoint is written. */
    void (*download)(void *model, train_state *st);
    /* The other way, after the host gpt (and st) were read from a file. */
    void (*upload)(void *model, const train_state *st);
    /* One line for the start-up banner: BLAS core and threads, or GPU. */
    const char *(*describe)(void);
} gpt_backend;

/* Runs `gpt train|sample|eval` (argv[0] is the program) on a backend. */
int gpt_main(int argc, char **argv, const gpt_backend *backend);

#endif
