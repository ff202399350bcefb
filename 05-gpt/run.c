/*
 * run.c - the GPT program's commands, on any backend (backend.h):
 *
 *   gpt train  [--preset cpu-small|seed000|full] [options]   train, checkpoint, resume
 *   gpt sample --ckpt FILE [--prompt TEXT --tokens N ...]      generate text
 *   gpt eval   --ckpt FILE [--data PATH]                       loss on whole splits
 *
 * Training writes OUT/loss.csv, OUT/loss.png, OUT/best.safetensors (the
 * weights with the best val loss) and OUT/last.safetensors (everything
 * needed to resume: at every evaluation, and on Ctrl-C or SIGTERM).
 */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../01-bigram/chapter.h"
#include "../01-bigram/generate.h"
#include "../common/cli.h"
#include "../common/data.h"
#include "backend.h"
#include "blas.h"
#include "ckpt.h"
#include "gpt.h"

/* ---------------------------------------------------------------- presets */

typedef struct {
    const char *name;
    int n_layer, n_head, n_embd, block, batch;
    double dropout, lr;
    long iters, warmup, eval_interval;
    int eval_iters;
} preset;

/* The configurations of DESIGN.md; min_lr is lr/10 in all of them. */
static const preset PRESETS[] = {
    /* name         L  H  C    T    B   drop lr    iters warm eval eval-iters */
    {"cpu-small",   4, 4, 128, 64,  12, 0.0, 1e-3, 2000, 100, 250, 20},
    {"seed000",     4, 4, 128, 64,  16, 0.1, 1e-3, 9000, 100, 250, 20},
    {"full",        6, 6, 384, 256, 64, 0.2, 1e-3, 5000, 100, 250, 200},
};
#define N_PRESETS (sizeof PRESETS / sizeof PRESETS[0])
#define DEFAULT_PRESET "cpu-small"
#define MIN_LR_FRACTION 0.1
#define GRAD_CLIP 1.0f
#define DEFAULT_SEED 1337
#define DEFAULT_SAMPLE_TOKENS 500
#define DEFAULT_CKPT "runs/05-gpt/cpu-small/best.safetensors"
/* Rows per forward pass in `gpt eval`. */
#define EVAL_BATCH 8

static const preset *find_preset(const char *name) {
    for (size_t i = 0; i < N_PRESETS; i++)
        if (strcmp(PRESETS[i].name, name) == 0)
            return &PRESETS[i];
    return NULL;
}

/* Options from a preset; out_dir (runs/05-gpt/<preset>) is filled in. */
static options preset_options(const preset *p, char *out_dir, size_t cap) {
    snprintf(out_dir, cap, "runs/05-gpt/%s", p->name);
    return (options){
        .out = out_dir, .preset = p->name, .iters = p->iters, .batch = p->batch,
        .block = p->block, .lr = p->lr, .min_lr = p->lr * MIN_LR_FRACTION, .seed = DEFAULT_SEED,
        .warmup = p->warmup, .eval_interval = p->eval_interval, .eval_iters = p->eval_iters,
        .n_layer = p->n_layer, .n_head = p->n_head, .n_embd = p->n_embd, .dropout = p->dropout,
        .temperature = 1.0,
    };
}

/* ---------------------------------------------------------------- signals */

/* Set by SIGINT/SIGTERM; the training loop stops after the current step. */
static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig) { stop_signal = sig; }

static void watch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---------------------------------------------------------------- the model */

/* A model on a backend, and the host copy checkpoints go through. */
typedef struct {
    const gpt_backend *backend;
    void *model;
    gpt *host;
} session;

static int session_create(session *s, const gpt_backend *be, const gpt_config *c, int max_B,
                          long seed, error *e) {
    rng init_rng, dropout_rng;
    rng_seed_stream(&init_rng, (uint64_t)seed, STREAM_INIT);
    rng_seed_stream(&dropout_rng, (uint64_t)seed, STREAM_DROPOUT);
    s->backend = be;
    s->host = NULL;
    s->model = be->create(c, max_B, &init_rng, &dropout_rng, &s->host, e);
    return s->model ? 0 : -1;
}

static void session_destroy(session *s) {
    if (s->model)
        s->backend->destroy(s->model);
    s->model = NULL;
}

/* Writes a checkpoint of the computing model, with the step st reached;
 * with o (the run's options) also everything to resume from (ckpt.h). */
static int session_save(session *s, const char *path, const tokenizer *tok, train_state *st,
                        const options *o, error *e) {
    s->backend->download(s->model, o ? st : NULL); /* AdamW's moments: only to resume */
    return gpt_save(path, s->host, tok, st, o, e);
}

/* Opens a checkpoint and builds a model from it for B <= max_B, dropout off. */
static int session_from_checkpoint(session *s, const gpt_backend *be, const char *path,
                                   int max_B, tokenizer *tok, error *e) {
    safetensors f;
    gpt_config cfg;
    if (gpt_open(&f, &cfg, tok, path, e) != 0)
        return -1;
    int rc = session_create(s, be, &cfg, max_B, 0, e);
    if (rc == 0 && gpt_load_weights(&f, s->host, e) != 0) {
        char why[ERROR_MAX];
        snprintf(why, sizeof why, "%s", e->msg);
        rc = error_set(e, "checkpoint '%s': %s", path, why);
    }
    safetensors_free(&f);
    if (rc != 0) {
        session_destroy(s);
        return -1;
    }
    be->upload(s->model, NULL);
    language_model lm = be->language_model(s->model);
    lm.set_training(lm.self, false);
    return 0;
}

/* ---------------------------------------------------------------- train */

typedef struct {
    session *s;
    const tokenizer *tok;
    const options *opts;
    char best_path[PATH_MAX], last_path[PATH_MAX];
} run_files;

/* After every evaluation: the best weights if val improved, and always the
 * state to resume from. */
static int save_checkpoints(void *ctx, train_state *st, float train_loss, float val_loss,
                            error *e) {
    (void)train_loss;
    run_files *rf = ctx;
    if (val_loss <= st->best_val &&
        session_save(rf->s, rf->best_path, rf->tok, st, NULL, e) != 0)
        return -1;
    return session_save(rf->s, rf->last_path, rf->tok, st, rf->opts, e);
}

static void print_banner(const options *o, const gpt_config *c, size_t n_params,
                         const dataset *ds, const gpt_backend *be) {
    printf("gpt: preset %s | %d layers, %d heads, %d embd, block %d, vocab %d | %zu parameters "
           "(%.2fM)\n",
           o->preset, c->n_layer, c->n_head, c->n_embd, c->block_size, c->vocab_size, n_params,
           (double)n_params / 1e6);
    printf("gpt: batch %d, lr %g -> %g (warmup %ld, cosine to step %ld), %ld steps, dropout %g, "
           "seed %ld\n",
           o->batch, o->lr, o->min_lr, o->warmup, o->decay_iters, o->iters, o->dropout, o->seed);
    printf("gpt: data %zu train / %zu val tokens | %s\n", ds->n_train, ds->n_tokens - ds->n_train,
           be->describe());
    fflush(stdout);
}

/* The dataset must use the checkpoint's vocabulary, id for id. */
static int same_vocab(const tokenizer *data, const tokenizer *ckpt, error *e) {
    if (data->vocab_size != ckpt->vocab_size ||
        memcmp(data->chars, ckpt->chars, (size_t)data->vocab_size * sizeof *data->chars) != 0)
        return error_set(e, "the data's vocabulary (%d characters) differs from the "
                            "checkpoint's (%d characters)",
                         data->vocab_size, ckpt->vocab_size);
    return 0;
}

/* When resuming, the options that fix the model's shape must match. */
static int check_resume_shape(const options *o, const gpt_config *c, error *e) {
    if (o->n_layer != c->n_layer || o->n_head != c->n_head || o->n_embd != c->n_embd)
        return error_set(e, "--n-layer/--n-head/--n-embd %d/%d/%d do not match the checkpoint's "
                            "%d/%d/%d",
                         o->n_layer, o->n_head, o->n_embd, c->n_layer, c->n_head, c->n_embd);
    if (o->block != c->block_size)
        return error_set(e, "--block %d does not match the checkpoint's block_size %d", o->block,
                         c->block_size);
    return 0;
}

static const unsigned TRAIN_OPTIONS = OPT_DATA | OPT_TRAINING | OPT_SEED | OPT_N_EMBD |
                                      OPT_N_HEAD | OPT_N_LAYER | OPT_DROPOUT | OPT_SCHEDULE |
                                      OPT_THREADS;

static const char TRAIN_USAGE[] =
    "usage: gpt train [--preset cpu-small|seed000|full] [options]\n\n"
    "Trains the GPT. Every eval interval it logs OUT/loss.csv, saves OUT/best.safetensors\n"
    "when val improves and OUT/last.safetensors always (also on Ctrl-C / SIGTERM);\n"
    "--resume OUT/last.safetensors continues exactly where it stopped, with the options\n"
    "stored in it unless given again.";

/* What a resumed run starts from. */
typedef struct {
    safetensors file;
    gpt_config cfg;
    tokenizer tok;
} resume_point;

/* The preset, then (when resuming) the options stored in the checkpoint,
 * then the command line on top. Returns 0, 1 for --help, or -1. */
static int train_options(int argc, char **argv, const gpt_backend *be, options *o,
                         char *out_dir, size_t cap, resume_point *rp, error *e) {
    unsigned mask = TRAIN_OPTIONS | be->extra_options;
    const char *name = cli_peek(argc, argv, mask, "preset");
    const preset *p = find_preset(name ? name : DEFAULT_PRESET);
    if (!p)
        return error_set(e, "--preset: unknown preset '%s' (cpu-small, seed000 or full)", name);
    *o = preset_options(p, out_dir, cap);
    const char *resume_path = cli_peek(argc, argv, mask, "resume");
    if (resume_path) {
        if (gpt_open(&rp->file, &rp->cfg, &rp->tok, resume_path, e) != 0)
            return -1;
        if (gpt_load_options(&rp->file, o, e) != 0) {
            char why[ERROR_MAX];
            snprintf(why, sizeof why, "%s", e->msg);
            return error_set(e, "cannot resume from '%s' (not a last.safetensors?): %s",
                             resume_path, why);
        }
        o->n_layer = rp->cfg.n_layer;
        o->n_head = rp->cfg.n_head;
        o->n_embd = rp->cfg.n_embd;
        o->block = rp->cfg.block_size;
    }
    cli_result r = cli_parse(argc, argv, o, mask, TRAIN_USAGE, e);
    if (r != CLI_OK)
        return r == CLI_HELP ? 1 : -1;
    if (be->configure && be->configure(o, e) != 0)
        return -1;
    if (o->decay_iters == 0)
        o->decay_iters = o->iters;
    if (o->min_lr > o->lr)
        return error_set(e, "--min-lr %g is larger than --lr %g", o->min_lr, o->lr);
    if (resume_path && check_resume_shape(o, &rp->cfg, e) != 0)
        return -1;
    return 0;
}

static int cmd_train(int argc, char **argv, const gpt_backend *be) {
    options o;
    char out_dir[64];
    error e = {{0}};
    resume_point rp = {0};
    dataset ds = {0};
    session s = {0};
    train_state st = {0};
    int rc = EXIT_FAILURE;

    int parsed = train_options(argc, argv, be, &o, out_dir, sizeof out_dir, &rp, &e);
    if (parsed != 0) {
        rc = parsed == 1 ? EXIT_SUCCESS : EXIT_FAILURE;
        goto fail;
    }
    set_threads(o.threads);
    gpt_config cfg;
    if (load_data(&ds, o.data, "gpt", &e) != 0 || dataset_check(&ds, o.block, &e) != 0 ||
        (o.resume && same_vocab(&ds.tok, &rp.tok, &e) != 0))
        goto fail;
    cfg = (gpt_config){o.n_layer, o.n_head, o.n_embd, o.block, ds.tok.vocab_size,
                       (float)o.dropout};
    if (gpt_config_check(&cfg, &e) != 0 || make_dirs(o.out, &e) != 0 ||
        session_create(&s, be, &cfg, o.batch, o.seed, &e) != 0 ||
        train_state_init(&st, gpt_params_table(s.host)->total, o.seed, &e) != 0)
        goto fail;
    if (o.resume) {
        if (gpt_load_weights(&rp.file, s.host, &e) != 0 ||
            gpt_load_state(&rp.file, s.host, &st, &e) != 0) {
            char why[ERROR_MAX];
            snprintf(why, sizeof why, "%s", e.msg);
            error_set(&e, "cannot resume from '%s': %s", o.resume, why);
            goto fail;
        }
        be->upload(s.model, &st);
    }
    /* watched before the banner appears: a signal sent once it is there
     * always ends in a saved checkpoint */
    watch_signals();
    print_banner(&o, &cfg, gpt_params_table(s.host)->total, &ds, be);
    if (o.resume)
        printf("gpt: resuming from %s at step %ld\n", o.resume, st.step);

    run_files files = {&s, &ds.tok, &o, {0}, {0}};
    snprintf(files.best_path, sizeof files.best_path, "%s/best.safetensors", o.out);
    snprintf(files.last_path, sizeof files.last_path, "%s/last.safetensors", o.out);
    char csv[PATH_MAX];
    snprintf(csv, sizeof csv, "%s/loss.csv", o.out);
    train_config tc = {
        .iters = o.iters, .batch = o.batch, .block = o.block,
        .eval_interval = o.eval_interval, .eval_iters = o.eval_iters,
        .adamw = ADAMW_NANOGPT, .decay = DECAY_2D_ONLY,
        .schedule = {(float)o.lr, (float)o.min_lr, o.warmup, o.decay_iters},
        .grad_clip = GRAD_CLIP, .csv_path = csv, .resuming = o.resume != NULL,
        .on_eval = save_checkpoints, .hook_ctx = &files, .stop = &stop_signal,
    };
    language_model lm = be->language_model(s.model);
    long start_step = st.step;
    train_result res;
    train_status status = train_run(&lm, &ds, &tc, &st, &res, &e);
    if (status == TRAIN_INTERRUPTED) {
        if (session_save(&s, files.last_path, &ds.tok, &st, &o, &e) != 0)
            goto fail;
        printf("gpt: stopped by signal %d at step %ld; saved %s (continue with --resume %s)\n",
               (int)stop_signal, st.step, files.last_path, files.last_path);
        rc = 128 + (int)stop_signal;
        goto done;
    }
    if (status != TRAIN_DONE)
        goto fail;
    long steps = o.iters - start_step;
    double tokens = (double)o.batch * o.block, ms = res.median_step_ms;
    printf("gpt: trained %ld steps in %.1f s, evaluation %.1f s; best val %.4f -> %s\n", steps,
           res.train_seconds, res.eval_seconds, st.best_val, files.best_path);
    if (ms > 0)
        printf("gpt: speed median_ms_per_iter=%.2f tokens_per_s=%.0f gflops=%.1f\n", ms,
               tokens / (ms / 1000.0), gpt_flops_per_token(&cfg) * tokens / (ms * 1e6));
    plot_loss(o.out);
    print_final(&res);
    rc = EXIT_SUCCESS;
    goto done;
fail:
    if (rc != EXIT_SUCCESS) {
        fflush(stdout);
        error_print("gpt", &e);
    }
done:
    safetensors_free(&rp.file);
    tokenizer_free(&rp.tok);
    train_state_free(&st);
    session_destroy(&s);
    dataset_free(&ds);
    return rc;
}

/* ---------------------------------------------------------------- sample */

/* Parses a sample/eval command line (plus the backend's own options) and
 * applies the backend's options; prints the error itself. */
static cli_result parse_command(int argc, char **argv, options *o, unsigned mask,
                                const char *usage, const gpt_backend *be, error *e) {
    cli_result r = cli_parse(argc, argv, o, mask | be->extra_options, usage, e);
    if (r == CLI_OK && be->configure && be->configure(o, e) != 0)
        r = CLI_ERROR;
    if (r == CLI_ERROR)
        error_print("gpt", e);
    return r;
}

static const char SAMPLE_USAGE[] =
    "usage: gpt sample --ckpt FILE [--prompt TEXT] [--tokens N] [--temperature T]\n"
    "                  [--top-k K] [--seed N]\n\n"
    "Generates text from a checkpoint alone (its vocabulary and config are inside it),\n"
    "streaming one character at a time. A prompt longer than the block keeps its last\n"
    "block_size characters.";

/* Encodes the prompt with the checkpoint's vocabulary. */
static int encode_prompt(const tokenizer *tok, const char *prompt, int **ids, size_t *n,
                         error *e) {
    size_t len = strlen(prompt);
    if (len == 0)
        return error_set(e, "--prompt: the prompt is empty");
    *ids = malloc(len * sizeof **ids);
    if (!*ids)
        return error_set(e, "out of memory for the prompt");
    if (tokenizer_encode(tok, prompt, len, *ids, n, e) != 0) {
        char why[ERROR_MAX];
        snprintf(why, sizeof why, "%s", e->msg);
        return error_set(e, "--prompt: %s", why);
    }
    return 0;
}

static int cmd_sample(int argc, char **argv, const gpt_backend *be) {
    options o = {.ckpt = DEFAULT_CKPT, .prompt = "\n", .tokens = DEFAULT_SAMPLE_TOKENS,
                 .temperature = 1.0, .top_k = 0, .seed = DEFAULT_SEED};
    error e = {{0}};
    cli_result r = parse_command(argc, argv, &o, OPT_CKPT | OPT_SAMPLING | OPT_SEED | OPT_THREADS,
                                 SAMPLE_USAGE, be, &e);
    if (r != CLI_OK)
        return r == CLI_HELP ? EXIT_SUCCESS : EXIT_FAILURE;
    set_threads(o.threads);
    tokenizer tok = {0};
    session s = {0};
    int *ids = NULL, rc = EXIT_FAILURE;
    size_t n_ids;
    if (session_from_checkpoint(&s, be, o.ckpt, 1, &tok, &e) != 0 ||
        encode_prompt(&tok, o.prompt, &ids, &n_ids, &e) != 0)
        goto fail;
    rng sr;
    rng_seed_stream(&sr, (uint64_t)o.seed, STREAM_SAMPLE);
    sampler_config sc = {(float)o.temperature, o.top_k};
    language_model lm = be->language_model(s.model);
    if (generate(&lm, &tok, ids, n_ids, o.tokens, &sc, &sr, stdout, &e) != 0)
        goto fail;
    if (o.tokens > 0)
        printf("\n");
    rc = EXIT_SUCCESS;
    goto done;
fail:
    fflush(stdout);
    error_print("gpt", &e);
done:
    free(ids);
    tokenizer_free(&tok);
    session_destroy(&s);
    return rc;
}

/* ---------------------------------------------------------------- eval */

/* Copies `rows` consecutive blocks of len tokens, starting at token start,
 * into x and their next tokens into y. */
static void fill_blocks(const int *tokens, size_t start, int rows, int len, int *x, int *y) {
    for (int r = 0; r < rows; r++) {
        size_t at = start + (size_t)r * len;
        memcpy(x + (size_t)r * len, tokens + at, (size_t)len * sizeof *x);
        memcpy(y + (size_t)r * len, tokens + at + 1, (size_t)len * sizeof *y);
    }
}

/* Mean loss over a whole split: every token that has a successor is a
 * target once, in consecutive blocks of T (EVAL_BATCH blocks per forward
 * pass), then one shorter block for the remainder. */
static double split_loss(language_model *lm, const int *tokens, size_t n, int T, int *x,
                         int *y) {
    size_t targets = n - 1, blocks = targets / (size_t)T;
    double sum = 0.0;
    for (size_t b = 0; b < blocks; b += EVAL_BATCH) {
        int rows = blocks - b < EVAL_BATCH ? (int)(blocks - b) : EVAL_BATCH;
        fill_blocks(tokens, b * (size_t)T, rows, T, x, y);
        sum += (double)lm->forward(lm->self, x, y, rows, T) * rows * T;
    }
    int rest = (int)(targets % (size_t)T);
    if (rest > 0) {
        fill_blocks(tokens, blocks * (size_t)T, 1, rest, x, y);
        sum += (double)lm->forward(lm->self, x, y, 1, rest) * rest;
    }
    return sum / (double)targets;
}

static const char EVAL_USAGE[] =
    "usage: gpt eval --ckpt FILE [--data PATH]\n\n"
    "The loss over the whole train and val splits, in consecutive blocks: deterministic,\n"
    "unlike the random-batch estimates printed during training.";

static int cmd_eval(int argc, char **argv, const gpt_backend *be) {
    options o = {.ckpt = DEFAULT_CKPT};
    error e = {{0}};
    cli_result r = parse_command(argc, argv, &o, OPT_CKPT | OPT_DATA | OPT_THREADS, EVAL_USAGE, be,
                                 &e);
    if (r != CLI_OK)
        return r == CLI_HELP ? EXIT_SUCCESS : EXIT_FAILURE;
    set_threads(o.threads);
    tokenizer tok = {0};
    dataset ds = {0};
    session s = {0};
    int *x = NULL, *y = NULL, rc = EXIT_FAILURE;
    if (session_from_checkpoint(&s, be, o.ckpt, EVAL_BATCH, &tok, &e) != 0 ||
        load_data(&ds, o.data, "gpt", &e) != 0 || same_vocab(&ds.tok, &tok, &e) != 0 ||
        dataset_check(&ds, 1, &e) != 0)
        goto fail;
    int T = gpt_get_config(s.host)->block_size;
    x = malloc((size_t)EVAL_BATCH * T * sizeof *x);
    y = malloc((size_t)EVAL_BATCH * T * sizeof *y);
    if (!x || !y) {
        error_set(&e, "out of memory");
        goto fail;
    }
    language_model lm = be->language_model(s.model);
    double losses[2];
    for (int sp = SPLIT_TRAIN; sp <= SPLIT_VAL; sp++) {
        size_t n;
        const int *tokens = dataset_split(&ds, (split)sp, &n);
        losses[sp] = split_loss(&lm, tokens, n, T, x, y);
    }
    printf("eval %s: train_loss=%.4f val_loss=%.4f\n", o.ckpt, losses[SPLIT_TRAIN],
           losses[SPLIT_VAL]);
    rc = EXIT_SUCCESS;
    goto done;
fail:
    fflush(stdout);
    error_print("gpt", &e);
done:
    free(x);
    free(y);
    dataset_free(&ds);
    tokenizer_free(&tok);
    session_destroy(&s);
    return rc;
}

/* ---------------------------------------------------------------- dispatch */

static const char USAGE[] =
    "usage: %s COMMAND [options]   (COMMAND --help for its options)\n\n"
    "  train    train a GPT (presets cpu-small, seed000, full), with checkpoints and resume\n"
    "  sample   generate text from a checkpoint\n"
    "  eval     loss of a checkpoint over the whole train and val splits\n";

int gpt_main(int argc, char **argv, const gpt_backend *backend) {
    if (argc < 2) {
        fprintf(stderr, "gpt: error: no command given (train, sample or eval; see --help)\n");
        return EXIT_FAILURE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf(USAGE, argv[0]);
        return EXIT_SUCCESS;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 1, argv + 1, backend);
    if (strcmp(cmd, "sample") == 0)
        return cmd_sample(argc - 1, argv + 1, backend);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1, backend);
    fprintf(stderr, "gpt: error: unknown command '%s' (expected train, sample or eval)\n", cmd);
    return EXIT_FAILURE;
}
