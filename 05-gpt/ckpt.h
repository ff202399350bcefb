/*
 * ckpt.h - GPT checkpoints: the model (and, for resuming, the whole
 * training state) in a safetensors file.
 *
 * Two files per run:
 *   best.safetensors  the weights with the lowest val loss so far, plus the
 *                     config and vocabulary in __metadata__ (everything
 *                     `gpt sample` and `gpt eval` need, without the text)
 *                     and the step the weights were saved at.
 *   last.safetensors  the same plus AdamW's moments (adamw.m, adamw.v), the
 *                     random streams (batches, evaluation, dropout) and the
 *                     training options, the preset's name among them:
 *                     everything `gpt train --resume` needs to continue bit
 *                     for bit.
 * Tensor names are nanoGPT's (transformer.wte.weight, transformer.h.0.
 * ln_1.weight, ...); the tied lm_head is stored once, as wte.
 */
#ifndef GPT_CKPT_H
#define GPT_CKPT_H

#include "../common/checkpoint.h"
#include "../common/cli.h"
#include "../common/error.h"
#include "../common/tokenizer.h"
#include "../common/train.h"
#include "gpt.h"

/* Saves the weights, config and vocabulary. With st, also the step it
 * reached (best.safetensors); with st and o, the run's options, also
 * everything `gpt train --resume` needs (last.safetensors): AdamW's
 * moments, the best val loss, the random streams and o. */
int gpt_save(const char *path, gpt *m, const tokenizer *tok, const train_state *st,
             const options *o, error *e);

/* Opens a checkpoint and reads its config and vocabulary (validated). */
int gpt_open(safetensors *f, gpt_config *c, tokenizer *tok, const char *path, error *e);

/* Copies the weights of an opened checkpoint into m, whose config must be
 * the checkpoint's: every tensor present with the right shape, nothing
 * unexpected beside them. */
int gpt_load_weights(const safetensors *f, gpt *m, error *e);

/* Restores the training state of an opened last.safetensors into st (whose
 * moments are allocated for m) and m's dropout stream. */
int gpt_load_state(const safetensors *f, gpt *m, train_state *st, error *e);

/* Fills the training options stored in a last.safetensors into o, each
 * parsed and range-checked as on the command line (cli_set; an error names
 * the metadata key); the command line then overrides them. The preset
 * and the data are optional (older files lack them; a data path that is
 * not UTF-8 is not stored): o->preset and o->data are left as they were. */
int gpt_load_options(const safetensors *f, options *o, error *e);

#endif
