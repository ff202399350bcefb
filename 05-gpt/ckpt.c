/* ckpt.c - GPT checkpoints; see ckpt.h. */
#include "ckpt.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Identifies our files (and their layout version) in __metadata__. */
#define FORMAT_KEY "format"
#define FORMAT_VALUE "gpt-from-scratch/1"
/* The largest sizes a checkpoint may claim: anything beyond is corrupt,
 * and refusing it keeps a bad file from costing a huge allocation. */
#define MAX_CKPT_DIM 65536
#define MAX_CKPT_VOCAB 1114112 /* every Unicode code point */

/* ---------------------------------------------------------------- saving */

/* A small integer or float rendered into its own buffer, so metadata
 * entries can point at it. */
typedef struct {
    char text[40];
} number;

static number num_i(long long x) {
    number n;
    snprintf(n.text, sizeof n.text, "%lld", x);
    return n;
}
static number num_u(uint64_t x) {
    number n;
    snprintf(n.text, sizeof n.text, "%" PRIu64, x);
    return n;
}
static number num_f(double x) {
    number n;
    snprintf(n.text, sizeof n.text, "%.9g", x); /* round-trips a float exactly */
    return n;
}

/* The vocabulary as one UTF-8 string, characters in id order. */
static char *vocab_string(const tokenizer *tok) {
    char *s = malloc((size_t)tok->vocab_size * UTF8_MAX_BYTES + 1);
    if (!s)
        return NULL;
    size_t used = 0;
    for (int i = 0; i < tok->vocab_size; i++)
        used += (size_t)utf8_encode(tok->chars[i], s + used);
    s[used] = '\0';
    return s;
}

/* The options a last.safetensors keeps, under their metadata keys. Both
 * ways go through cli.h (cli_format, cli_set), so a stored value is read
 * with the command line's own parser and ranges: a file cannot hold an lr
 * of inf or 2^62 iterations that the command line would refuse. */
static const struct {
    const char *key, *option;
    bool optional; /* older files lack it */
} STORED_OPTIONS[] = {
    {"train.batch", "batch", false},
    {"train.lr", "lr", false},
    {"train.min_lr", "min-lr", false},
    {"train.warmup", "warmup", false},
    {"train.iters", "iters", false},
    {"train.decay_iters", "decay-iters", false},
    {"train.dropout", "dropout", false},
    {"train.eval_interval", "eval-interval", false},
    {"train.eval_iters", "eval-iters", false},
    {"train.seed", "seed", false},
    {"train.preset", "preset", true},
    {"train.data", "data", true}, /* absent: older files, a path not in UTF-8 */
};
#define N_STORED_OPTIONS (sizeof STORED_OPTIONS / sizeof STORED_OPTIONS[0])
#define OPTION_TEXT_MAX PATH_MAX /* the data's path */

/* Room for the config, the vocabulary, the step, the training state and
 * the stored options. */
#define MAX_META 32

/* The texts of what a resumable file adds to the metadata: the best val
 * loss so far, the random streams and the options (the entries point at
 * them, so they live as long as the entries). */
typedef struct {
    number best, rng_batch, rng_eval, rng_dropout;
    char options[N_STORED_OPTIONS][OPTION_TEXT_MAX];
} state_texts;

static int add_state_meta(st_meta *meta, int n_meta, state_texts *t, gpt *m,
                          const train_state *st, const options *o) {
    t->best = num_f(st->best_val);
    t->rng_batch = num_u(st->batch_rng.state);
    t->rng_eval = num_u(st->eval_rng.state);
    t->rng_dropout = num_u(gpt_dropout_rng(m)->state);
    meta[n_meta++] = (st_meta){"best_val_loss", t->best.text};
    meta[n_meta++] = (st_meta){"rng.batch", t->rng_batch.text};
    meta[n_meta++] = (st_meta){"rng.eval", t->rng_eval.text};
    meta[n_meta++] = (st_meta){"rng.dropout", t->rng_dropout.text};
    meta[n_meta++] = (st_meta){"evaluated", st->evaluated ? "1" : "0"};
    for (size_t i = 0; i < N_STORED_OPTIONS; i++)
        /* the options that can be unset: the preset (of a run resumed from
         * an older file that did not record it) and the data (a path that
         * is not UTF-8) */
        if (cli_format(o, STORED_OPTIONS[i].option, t->options[i], OPTION_TEXT_MAX) == 0)
            meta[n_meta++] = (st_meta){STORED_OPTIONS[i].key, t->options[i]};
    return n_meta;
}

int gpt_save(const char *path, gpt *m, const tokenizer *tok, const train_state *st,
             const options *o, error *e) {
    const gpt_config *c = gpt_get_config(m);
    const param_table *pt = gpt_params_table(m);
    float *params = gpt_params(m);
    bool resumable = st && o;
    char *vocab = vocab_string(tok);
    int n_tensors = pt->n_tensors + (resumable ? 2 : 0);
    st_entry *tensors = calloc((size_t)n_tensors, sizeof *tensors);
    if (!vocab || !tensors) {
        free(vocab);
        free(tensors);
        return error_set(e, "out of memory saving '%s'", path);
    }
    for (int i = 0; i < pt->n_tensors; i++) {
        const tensor_info *t = &pt->tensors[i];
        tensors[i] = (st_entry){t->name, params + t->offset, t->ndim, {t->shape[0], t->shape[1]}};
    }
    number n_layer = num_i(c->n_layer), n_head = num_i(c->n_head), n_embd = num_i(c->n_embd),
           block = num_i(c->block_size), vsize = num_i(c->vocab_size),
           step = num_i(st ? st->step : 0);
    st_meta meta[MAX_META] = {
        {FORMAT_KEY, FORMAT_VALUE}, {"n_layer", n_layer.text}, {"n_head", n_head.text},
        {"n_embd", n_embd.text},    {"block_size", block.text}, {"vocab_size", vsize.text},
        {"vocab", vocab},
    };
    int n_meta = 7;
    if (st)
        meta[n_meta++] = (st_meta){"step", step.text};
    state_texts texts;
    if (resumable) { /* only in last.safetensors */
        tensors[pt->n_tensors] = (st_entry){"adamw.m", st->m, 1, {pt->total}};
        tensors[pt->n_tensors + 1] = (st_entry){"adamw.v", st->v, 1, {pt->total}};
        n_meta = add_state_meta(meta, n_meta, &texts, m, st, o);
    }
    int rc = safetensors_save(path, tensors, n_tensors, meta, n_meta, e);
    free(vocab);
    free(tensors);
    return rc;
}

/* ---------------------------------------------------------------- loading */

/* Parses metadata `key` as an integer in [lo, hi]. */
static int meta_long(const safetensors *f, const char *key, long long lo, long long hi,
                     long long *out, error *e) {
    const char *s = safetensors_meta(f, key);
    if (!s)
        return error_set(e, "its metadata lacks '%s'", key);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || x < lo || x > hi)
        return error_set(e, "metadata '%s' = '%s' is not a whole number in [%lld, %lld]", key, s,
                         lo, hi);
    *out = x;
    return 0;
}

static int meta_int(const safetensors *f, const char *key, int lo, int hi, int *out, error *e) {
    long long x;
    if (meta_long(f, key, lo, hi, &x, e) != 0)
        return -1;
    *out = (int)x;
    return 0;
}

static int meta_u64(const safetensors *f, const char *key, uint64_t *out, error *e) {
    const char *s = safetensors_meta(f, key);
    if (!s)
        return error_set(e, "its metadata lacks '%s'", key);
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || s[0] == '-')
        return error_set(e, "metadata '%s' = '%s' is not an unsigned number", key, s);
    *out = (uint64_t)x;
    return 0;
}

static int meta_double(const safetensors *f, const char *key, double *out, error *e) {
    const char *s = safetensors_meta(f, key);
    if (!s)
        return error_set(e, "its metadata lacks '%s'", key);
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || isnan(x))
        return error_set(e, "metadata '%s' = '%s' is not a number", key, s);
    *out = x;
    return 0;
}

static int read_vocab(const safetensors *f, int vocab_size, tokenizer *tok, error *e) {
    const char *s = safetensors_meta(f, "vocab");
    if (!s)
        return error_set(e, "its metadata lacks 'vocab'");
    size_t len = strlen(s), pos = 0;
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    if (!cps)
        return error_set(e, "out of memory reading the vocabulary");
    int n = 0;
    while (pos < len) {
        if (utf8_decode(s, len, &pos, &cps[n]) != 0) {
            free(cps);
            return error_set(e, "its vocabulary is not valid UTF-8");
        }
        n++;
    }
    int rc = 0;
    if (n != vocab_size)
        rc = error_set(e, "its vocabulary has %d characters but vocab_size is %d", n, vocab_size);
    else
        rc = tokenizer_from_chars(tok, cps, n, e);
    free(cps);
    return rc;
}

/* AdamW's moments in a last.safetensors: not model tensors. */
#define STATE_PREFIX "adamw."

/* f holds every tensor of pt, as F32 with pt's shape, and nothing else
 * beside the training state. */
static int check_tensors(const safetensors *f, const param_table *pt, error *e) {
    for (int i = 0; i < pt->n_tensors; i++) {
        const tensor_info *t = &pt->tensors[i];
        if (safetensors_check_f32(f, t->name, t->ndim, t->shape, e) != 0)
            return -1;
    }
    /* a tensor we do not know means a different architecture (more layers,
     * biases, ...): refuse rather than silently ignore half the model */
    for (int i = 0; i < f->n_tensors; i++) {
        const char *name = f->tensors[i].name;
        if (!param_table_find(pt, name) && strncmp(name, STATE_PREFIX, strlen(STATE_PREFIX)) != 0)
            return error_set(e, "unexpected tensor '%s' (a different model configuration?)",
                             name);
    }
    return 0;
}

/* The config in the metadata must describe the tensors beside it. This is
 * checked before any model of that config is built: a corrupt config
 * (n_layer 60000, n_embd 65536) in a 2 kB file is then an error that names
 * the mismatch, not gigabytes allocated, or minutes spent, first. */
static int check_config_matches_tensors(const safetensors *f, const gpt_config *c, error *e) {
    /* each layer has tensors of its own, so this bounds the table below by
     * the size of the file */
    if (c->n_layer > f->n_tensors)
        return error_set(e, "its config has n_layer %d, but it holds only %d tensors", c->n_layer,
                         f->n_tensors);
    param_table pt = {0};
    int rc = gpt_declare_params(c, &pt, e);
    if (rc == 0 && check_tensors(f, &pt, e) != 0)
        rc = error_prefix(e, "its config (n_layer %d, n_head %d, n_embd %d, block_size %d, "
                             "vocab_size %d) does not match its tensors",
                          c->n_layer, c->n_head, c->n_embd, c->block_size, c->vocab_size);
    param_table_free(&pt);
    return rc;
}


int gpt_open(safetensors *f, gpt_config *c, tokenizer *tok, const char *path, error *e) {
    memset(tok, 0, sizeof *tok);
    if (safetensors_load(f, path, e) != 0)
        return -1;
    const char *format = safetensors_meta(f, FORMAT_KEY);
    memset(c, 0, sizeof *c);
    if ((format && strcmp(format, FORMAT_VALUE) != 0) ||
        meta_int(f, "n_layer", 1, MAX_CKPT_DIM, &c->n_layer, e) != 0 ||
        meta_int(f, "n_head", 1, MAX_CKPT_DIM, &c->n_head, e) != 0 ||
        meta_int(f, "n_embd", 1, MAX_CKPT_DIM, &c->n_embd, e) != 0 ||
        meta_int(f, "block_size", 1, MAX_CKPT_DIM, &c->block_size, e) != 0 ||
        meta_int(f, "vocab_size", 2, MAX_CKPT_VOCAB, &c->vocab_size, e) != 0 ||
        gpt_config_check(c, e) != 0 || read_vocab(f, c->vocab_size, tok, e) != 0 ||
        check_config_matches_tensors(f, c, e) != 0) {
        if (format && strcmp(format, FORMAT_VALUE) != 0)
            error_set(e, "unknown format '%s' (expected %s)", format, FORMAT_VALUE);
        error_prefix(e, "checkpoint '%s'", path);
        tokenizer_free(tok);
        safetensors_free(f);
        return -1;
    }
    return 0;
}

int gpt_load_weights(const safetensors *f, gpt *m, error *e) {
    const param_table *pt = gpt_params_table(m);
    if (check_tensors(f, pt, e) != 0)
        return -1;
    float *params = gpt_params(m);
    for (int i = 0; i < pt->n_tensors; i++) {
        const tensor_info *t = &pt->tensors[i];
        if (safetensors_read_f32(f, t->name, params + t->offset, t->ndim, t->shape, e) != 0)
            return -1;
    }
    return 0;
}

int gpt_load_state(const safetensors *f, gpt *m, train_state *st, error *e) {
    size_t n = gpt_params_table(m)->total;
    long long step = 0;
    double best = 0.0; /* (set below; gcc cannot always see it) */
    if (safetensors_read_f32(f, "adamw.m", st->m, 1, &n, e) != 0 ||
        safetensors_read_f32(f, "adamw.v", st->v, 1, &n, e) != 0 ||
        meta_long(f, "step", 0, LONG_MAX, &step, e) != 0 ||
        meta_double(f, "best_val_loss", &best, e) != 0 ||
        meta_u64(f, "rng.batch", &st->batch_rng.state, e) != 0 ||
        meta_u64(f, "rng.eval", &st->eval_rng.state, e) != 0 ||
        meta_u64(f, "rng.dropout", &gpt_dropout_rng(m)->state, e) != 0)
        return -1;
    if (st->batch_rng.state == 0 || st->eval_rng.state == 0 || gpt_dropout_rng(m)->state == 0)
        return error_set(e, "a random stream's state is 0, which xorshift cannot leave");
    /* whether the evaluation at `step` was done: "0" when a signal stopped
     * it midway; files from before this key were always saved after it */
    const char *evaluated = safetensors_meta(f, "evaluated");
    if (evaluated && strcmp(evaluated, "0") != 0 && strcmp(evaluated, "1") != 0)
        return error_set(e, "metadata 'evaluated' is '%s', not 0 or 1", evaluated);
    st->evaluated = !evaluated || strcmp(evaluated, "1") == 0;
    st->step = (long)step;
    st->best_val = (float)best;
    return 0;
}

int gpt_load_options(const safetensors *f, options *o, error *e) {
    for (size_t i = 0; i < N_STORED_OPTIONS; i++) {
        const char *key = STORED_OPTIONS[i].key, *text = safetensors_meta(f, key);
        if (!text && STORED_OPTIONS[i].optional)
            continue;
        if (!text)
            return error_set(e, "its metadata lacks '%s'", key);
        if (cli_set(o, STORED_OPTIONS[i].option, text, e) != 0)
            return error_prefix(e, "metadata '%s'", key);
    }
    return 0;
}
