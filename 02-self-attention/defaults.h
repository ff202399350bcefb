/*
 * defaults.h - the training settings of chapters 02-04.
 *
 * From the first attention head on, the lecture trains with a smaller
 * learning rate than the bigram's 1e-2 (self-attention, it notes, does not
 * tolerate one that high) and more steps to make up for it: 5000 steps at
 * lr 1e-3, evaluated every 500, with n_embd 32, 4 heads, 3 layers and no
 * dropout. Each program offers only the options that apply to it (chapter
 * 02 has no --n-head), and never reads the others.
 *
 * Header-only (a static inline function) so that chapter 02 adds it
 * without a new object file; chapters 03 and 04 include it too.
 */
#ifndef ATTENTION_DEFAULTS_H
#define ATTENTION_DEFAULTS_H

#include "../01-bigram/chapter.h"

/* Chapter 01's options with the settings above, writing to out_dir. */
static inline options chapter_attention_options(const char *out_dir) {
    options o = chapter_default_options(out_dir);
    o.iters = 5000;
    o.lr = 1e-3;
    o.eval_interval = 500;
    o.n_embd = 32;
    o.n_head = 4;
    o.n_layer = 3;
    o.dropout = 0.0;
    return o;
}

#endif
