/*
 * main.c - chapter 04: a stack of transformer blocks with residual
 * connections, layer norms and (optional) dropout.
 *
 *     04-block/block [--n-layer 3 --dropout 0.2 --sample 300 ...]
 *
 * The lecture's settings (n_embd 32, 4 heads, 3 blocks, block 8, batch 32,
 * lr 1e-3, 5000 steps, no dropout); the final validation loss lands near
 * 2.06, against chapter 03's 2.2.
 */
#include <stdlib.h>

#include "../01-bigram/chapter.h"
#include "../02-self-attention/defaults.h"
#include "model.h"

static int build(language_model *lm, const options *o, int vocab_size, rng *r, error *e) {
    transformer_config cfg = {
        .V = vocab_size,
        .n_layer = o->n_layer,
        .block = {.C = o->n_embd, .NH = o->n_head, .bias = true, .act = &RELU,
                  .dropout = (float)o->dropout},
        .max_B = o->batch,
        .max_T = o->block,
    };
    transformer_model *m = malloc(sizeof *m);
    if (!m)
        return error_set(e, "out of memory");
    if (transformer_init(m, &cfg, &REFERENCE_OPS, r, (uint64_t)o->seed, e) != 0) {
        free(m);
        return -1;
    }
    *lm = transformer_language_model(m);
    return 0;
}

static void destroy(language_model *lm) {
    transformer_free(lm->self);
    free(lm->self);
}

int main(int argc, char **argv) {
    chapter ch = {
        .program = "block",
        .usage = "usage: 04-block/block [options]\n\n"
                 "Trains a stack of transformer blocks (pre-layernorm, multi-head attention\n"
                 "and a ReLU MLP, each with a residual connection; a final layernorm; lm_head)\n"
                 "and writes OUT/loss.csv and OUT/loss.png.",
        .options = OPT_DATA | OPT_TRAINING | OPT_SEED | OPT_THREADS | OPT_N_EMBD | OPT_N_HEAD |
                   OPT_N_LAYER | OPT_DROPOUT,
        .defaults = chapter_attention_options("runs/04-block"),
        .build = build,
        .destroy = destroy,
    };
    return chapter_main(argc, argv, &ch);
}
