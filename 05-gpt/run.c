/*
 * run.c - the GPT program's commands, on any backend (backend.h):
 *
 *   gpt train  [--preset cpu-small|seed000|full] [options]   train, checkpoint, resume
 *   gpt sample --ckpt FILE [--prompt TEXT --tokens N ...]      generate text
 *   gpt eval   --ckpt FILE [--data PATH]                       loss on whole splits
 *
 * Training writes OUT/loss.csv, OUT/loss.png, OUT/best.safetensors (the
 * weights with the best val loss) and OUT/last.safetensors (everything
 * needed to resume: at every evaluation, and on Ctrl-C, SIGTERM, SIGHUP or
 * SIGPIPE).
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
/* Rows per forward pass in `gpt eval`. */
#define EVAL_BATCH 8

static const preset *find_preset(const char *name) {
    for (size_t i = 0; i < N_PRESETS; i++)
        if (strcmp(PRESETS[i].name, name) == 0)
            return &PRESETS[i];
    return NULL;
}

/* Options from a preset; out_dir (RUNS/<preset>) is filled in. */
static options preset_options(const preset *p, const gpt_backend *be, char *out_dir, size_t cap) {
    snprintf(out_dir, cap, "%s/%s", be->runs, p->name);
    return (options){
        .out = out_dir, .preset = p->name, .iters = p->iters, .batch = p->batch,
        .block = p->block, .lr = p->lr, .min_lr = p->lr * MIN_LR_FRACTION, .seed = DEFAULT_SEED,
        .warmup = p->warmup, .eval_interval = p->eval_interval, .eval_iters = p->eval_iters,
        .n_layer = p->n_layer, .n_head = p->n_head, .n_embd = p->n_embd, .dropout = p->dropout,
        .temperature = 1.0,
    };
}

/* ---------------------------------------------------------------- signals */

/* Set by SIGINT (Ctrl-C), SIGTERM, SIGHUP (the terminal went away) or
 * SIGPIPE (whatever read the output quit: `gpt train | head`); the
 * training loop stops after the current step and saves. */
static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig) { stop_signal = sig; }

static const int WATCHED[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define N_WATCHED (sizeof WATCHED / sizeof WATCHED[0])

static void set_handler(int sig, void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void watch_signals(void) {
    for (size_t i = 0; i < N_WATCHED; i++) {
        struct sigaction old;
        /* `nohup gpt train` ignores SIGHUP so the run outlives the terminal:
         * what the launcher ignores stays ignored (not SIGINT: a shell
         * starts background jobs with it ignored, and Ctrl-C must stop) */
        bool keep_ignored = WATCHED[i] == SIGHUP || WATCHED[i] == SIGPIPE;
        if (keep_ignored && sigaction(WATCHED[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        set_handler(WATCHED[i], on_signal);
    }
}

/* Once training is over, the signals it caught end the program again: the
 * sample of --sample stops at Ctrl-C, or when its reader quits (`| head`). */
static void unwatch_signals(void) {
    for (size_t i = 0; i < N_WATCHED; i++) {
        struct sigaction now;
        if (sigaction(WATCHED[i], NULL, &now) == 0 && now.sa_handler == on_signal)
            set_handler(WATCHED[i], SIG_DFL);
    }
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
    if (rc == 0 && gpt_load_weights(&f, s->host, e) != 0)
        rc = error_prefix(e, "checkpoint '%s'", path);
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

/* Where a run writes, and what its checkpoints are made from. */
typedef struct {
    session *s;
    const tokenizer *tok;
    const options *opts;
    char best_path[PATH_MAX], last_path[PATH_MAX], csv_path[PATH_MAX];
} run_files;

static void run_files_init(run_files *f, session *s, const tokenizer *tok, const options *o) {
    *f = (run_files){.s = s, .tok = tok, .opts = o};
    snprintf(f->best_path, sizeof f->best_path, "%s/best.safetensors", o->out);
    snprintf(f->last_path, sizeof f->last_path, "%s/last.safetensors", o->out);
    snprintf(f->csv_path, sizeof f->csv_path, "%s/loss.csv", o->out);
}

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

/* The folder of a file: "runs/x" for "runs/x/last.safetensors", "." for
 * "last.safetensors", "/" for "/last.safetensors". */
static void folder_of(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else
        snprintf(dir, cap, "%.*s", (int)(slash == path ? 1 : slash - path), path);
}

/* Whether directory dir is the folder that holds file (both exist). */
static bool holds_file(const char *dir, const char *file) {
    char folder[PATH_MAX];
    folder_of(file, folder, sizeof folder);
    struct stat a, b;
    return stat(dir, &a) == 0 && stat(folder, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Whether the run resumes in the folder of its --resume file: continuing
 * that run's files, not another's. */
static bool resumes_in_place(const options *o) {
    return o->resume && holds_file(o->out, o->resume);
}

/* A run rewrites OUT's loss.csv, its best.safetensors at its first
 * evaluation (the step-0 weights are the best so far) and last.safetensors
 * after it: refuse to replace another run's, unless --overwrite. A resumed run
 * continues its own, in the folder of its --resume file. */
static int check_out_dir(const run_files *f, const options *o, error *e) {
    struct stat csv; /* a log of just the header: a run that died before its first row */
    bool logged = stat(f->csv_path, &csv) == 0 && csv.st_size > (off_t)sizeof LOSS_LOG_HEADER;
    bool last = access(f->last_path, F_OK) == 0,
         others = access(f->best_path, F_OK) == 0 || logged;
    if (!(last || others) || o->overwrite || resumes_in_place(o))
        return 0;
    if (last)
        return error_set(e, "'%s' already holds a run's checkpoints: continue that run with "
                            "--resume %s, choose another --out, or pass --overwrite to replace "
                            "them",
                         o->out, f->last_path);
    return error_set(e, "'%s' already holds another run's files (loss.csv or best.safetensors): "
                        "choose another --out, or pass --overwrite to replace them",
                     o->out);
}

static void print_banner(const options *o, const gpt_config *c, size_t n_params,
                         const dataset *ds, const gpt_backend *be) {
    printf("gpt: preset %s | %d layers, %d heads, %d embd, block %d, vocab %d | %zu parameters "
           "(%.2fM)\n",
           o->preset ? o->preset : "(not recorded)", c->n_layer, c->n_head, c->n_embd,
           c->block_size, c->vocab_size, n_params, (double)n_params / 1e6);
    printf("gpt: batch %d, lr %g -> %g (warmup %ld, cosine to step %ld), %ld steps, dropout %g, "
           "seed %ld\n",
           o->batch, o->lr, o->min_lr, o->warmup, o->decay_iters, o->iters, o->dropout, o->seed);
    printf("gpt: data %zu train / %zu val tokens | %s | out %s\n", ds->n_train,
           ds->n_tokens - ds->n_train, be->describe(), o->out);
    fflush(stdout);
}

/* A resumed run's text must have the checkpoint's vocabulary, id for id
 * (a text with fewer characters would build other ids). */
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

/* The commands' usage texts name the program and its runs folder (gpt and
 * runs/05-gpt, or gpt-cuda and runs/06-cuda): usage_text fills them in. */
static const char TRAIN_USAGE[] =
    "usage: %s train [--preset cpu-small|seed000|full] [options]\n\n"
    "Trains the GPT into OUT (unless --out: %s/PRESET). Every eval interval it logs\n"
    "OUT/loss.csv, saves OUT/best.safetensors when val improves and OUT/last.safetensors\n"
    "always (also when stopped: Ctrl-C, SIGTERM, SIGHUP, SIGPIPE); it leaves another run's\n"
    "checkpoints and log alone unless --overwrite. --resume OUT/last.safetensors continues\n"
    "exactly where it stopped, in OUT, with the options and text stored in it unless given\n"
    "again.";

static const char *usage_text(const char *format, const gpt_backend *be) {
    static char text[1024];
    snprintf(text, sizeof text, format, be->program, be->runs);
    return text;
}

/* What a resumed run starts from. */
typedef struct {
    safetensors file;
    gpt_config cfg;
    tokenizer tok;
} resume_point;

/* Everything `gpt train` holds, set up step by step and freed in one place. */
typedef struct {
    options o;
    char out_dir[PATH_MAX];
    char data_path[PATH_MAX]; /* --data made absolute */
    int out_lock;             /* OUT, open and locked while training (-1: not yet) */
    resume_point rp;  /* when resuming */
    dataset ds;
    gpt_config cfg;
    session s;
    train_state st;
    run_files files;
} trainer;

/* Resuming: the checkpoint's options and model shape replace the preset's,
 * its preset is the run's (a different --preset is an error: the options
 * it would bring are the checkpoint's now), and OUT defaults to its folder. */
static int resume_options(trainer *t, const char *path, const char *given_preset, error *e) {
    options *o = &t->o;
    resume_point *rp = &t->rp;
    if (gpt_open(&rp->file, &rp->cfg, &rp->tok, path, e) != 0)
        return -1;
    o->preset = NULL; /* unless the file names it */
    if (gpt_load_options(&rp->file, o, e) != 0)
        return error_prefix(e, "cannot resume from '%s' (not a last.safetensors?)", path);
    if (o->preset && !find_preset(o->preset))
        return error_set(e, "cannot resume from '%s': its preset '%s' is unknown (cpu-small, "
                            "seed000 or full)",
                         path, o->preset);
    if (given_preset && o->preset && strcmp(given_preset, o->preset) != 0)
        return error_set(e, "--preset %s: '%s' was trained with preset %s (a resumed run keeps "
                            "its options; override them one by one)",
                         given_preset, path, o->preset);
    o->n_layer = rp->cfg.n_layer;
    o->n_head = rp->cfg.n_head;
    o->n_embd = rp->cfg.n_embd;
    o->block = rp->cfg.block_size;
    folder_of(path, t->out_dir, sizeof t->out_dir);
    o->out = t->out_dir;
    return 0;
}

/* What follows from other options unless given: the cosine decay spans
 * --iters, and min_lr is lr / 10 (DESIGN.md), so it follows --lr; when
 * resuming, the stored min_lr stands unless --lr is given anew, and so does
 * the stored decay (a run extended past it trains at min_lr: said once). */
static void derive_schedule(int argc, char **argv, unsigned mask, options *o) {
    if (o->decay_iters == 0)
        o->decay_iters = o->iters;
    bool lr_given = cli_peek(argc, argv, mask, "lr") != NULL;
    if (!cli_peek(argc, argv, mask, "min-lr") && (lr_given || !o->resume))
        o->min_lr = o->lr * MIN_LR_FRACTION;
    if (o->resume && o->iters > o->decay_iters && !cli_peek(argc, argv, mask, "decay-iters"))
        printf("note: the resumed run's cosine decay ends at step %ld: the steps after it train "
               "at min_lr %g (--decay-iters N stretches it)\n",
               o->decay_iters, o->min_lr);
}

/* The preset (or, when resuming, the checkpoint), then the command line on
 * top. Returns 0, 1 for --help, or -1. */
static int train_options(trainer *t, int argc, char **argv, const gpt_backend *be, error *e) {
    unsigned mask = TRAIN_OPTIONS | be->extra_options;
    options *o = &t->o;
    /* --help wins: it shows the preset's values (the default one's if the
     * name is wrong) and opens no checkpoint */
    bool help = cli_wants_help(argc, argv, mask);
    const char *name = cli_peek(argc, argv, mask, "preset");
    const preset *p = find_preset(name ? name : DEFAULT_PRESET);
    if (!p && !help)
        return error_set(e, "--preset: unknown preset '%s' (cpu-small, seed000 or full)", name);
    *o = preset_options(p ? p : find_preset(DEFAULT_PRESET), be, t->out_dir, sizeof t->out_dir);
    const char *resume = help ? NULL : cli_peek(argc, argv, mask, "resume");
    if (resume && resume_options(t, resume, name, e) != 0)
        return -1;
    cli_result r = cli_parse(argc, argv, o, mask, usage_text(TRAIN_USAGE, be), e);
    if (r != CLI_OK)
        return r == CLI_HELP ? 1 : -1;
    if (be->configure && be->configure(o, e) != 0)
        return -1;
    derive_schedule(argc, argv, mask, o);
    if (o->min_lr > o->lr)
        return error_set(e, "--min-lr %g is larger than --lr %g", o->min_lr, o->lr);
    if (resume && check_resume_shape(o, &t->rp.cfg, e) != 0)
        return -1;
    return 0;
}

/* The checkpoint's weights, AdamW moments, step and random streams, into
 * the model just built. --iters must lie beyond that step, or be that step
 * when its evaluation is still owed (a run stopped before it: the resumed
 * one evaluates, saves and ends). Resumed in another folder, the run starts
 * a fresh log there, and a best of its own: best.safetensors there holds
 * the best weights of its evaluations. */
static int resume_state(trainer *t, error *e) {
    if (gpt_load_weights(&t->rp.file, t->s.host, e) != 0 ||
        gpt_load_state(&t->rp.file, t->s.host, &t->st, e) != 0)
        return error_prefix(e, "cannot resume from '%s'", t->o.resume);
    if (t->o.iters < t->st.step || (t->o.iters == t->st.step && t->st.evaluated))
        return error_set(e, "--iters %ld: '%s' is already at step %ld (give a larger --iters to "
                            "train on)",
                         t->o.iters, t->o.resume, t->st.step);
    if (!resumes_in_place(&t->o))
        t->st.best_val = INFINITY;
    t->s.backend->upload(t->s.model, &t->st);
    return 0;
}

static bool is_utf8(const char *s) {
    size_t len = strlen(s), pos = 0;
    uint32_t cp;
    while (pos < len)
        if (utf8_decode(s, len, &pos, &cp) != 0)
            return false;
    return true;
}

/* One run at a time in a folder: two would interleave their rows of
 * loss.csv and write over each other's checkpoints. The lock is on the
 * folder itself (no file of its own to leave behind), for this machine's
 * processes, and ends with the process however it ends (close-on-exec:
 * gnuplot does not inherit it). Where folders cannot be locked (or read),
 * the run goes on without. */
static int lock_out_dir(trainer *t, error *e) {
    t->out_lock = open(t->o.out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (t->out_lock >= 0 && flock(t->out_lock, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        return error_set(e, "another run is training in '%s' (one at a time)", t->o.out);
    return 0;
}

/* The data, the model (from the checkpoint when resuming) and OUT: all
 * checked before anything is written. */
static int train_setup(trainer *t, const gpt_backend *be, error *e) {
    const options *o = &t->o;
    set_threads(o->threads);
    if (load_data(&t->ds, o->data, NULL, be->program, e) != 0 ||
        dataset_check(&t->ds, o->block, e) != 0 ||
        (o->resume && same_vocab(&t->ds.tok, &t->rp.tok, e) != 0))
        return -1;
    /* last.safetensors stores the text's path (--data, or the default it
     * found) for --resume: absolute, so that a resumed run reads the same
     * text from whatever folder it starts in; its JSON header holds UTF-8
     * only */
    const char *text = o->data ? o->data : data_default_path();
    if (text && realpath(text, t->data_path))
        t->o.data = t->data_path;
    if (o->data && !is_utf8(o->data)) {
        printf("note: the --data path is not UTF-8, so last.safetensors cannot record it: give "
               "--data again to --resume\n");
        t->o.data = NULL;
    }
    t->cfg = (gpt_config){o->n_layer, o->n_head, o->n_embd, o->block, t->ds.tok.vocab_size,
                          (float)o->dropout};
    if (gpt_config_check(&t->cfg, e) != 0 ||
        session_create(&t->s, be, &t->cfg, o->batch, o->seed, e) != 0 ||
        train_state_init(&t->st, gpt_params_table(t->s.host)->total, o->seed, e) != 0 ||
        (o->resume && resume_state(t, e) != 0))
        return -1;
    run_files_init(&t->files, &t->s, &t->ds.tok, o);
    if (make_dirs(o->out, e) != 0 || lock_out_dir(t, e) != 0)
        return -1;
    return check_out_dir(&t->files, o, e);
}

static train_config train_config_of(trainer *t) {
    const options *o = &t->o;
    return (train_config){
        .iters = o->iters, .batch = o->batch, .block = o->block,
        .eval_interval = o->eval_interval, .eval_iters = o->eval_iters,
        .adamw = ADAMW_NANOGPT, .decay = DECAY_2D_ONLY,
        .schedule = {(float)o->lr, (float)o->min_lr, o->warmup, o->decay_iters},
        .grad_clip = GRAD_CLIP, .csv_path = t->files.csv_path,
        .resuming = resumes_in_place(o), /* resumed elsewhere: a fresh log there */
        .on_eval = save_checkpoints, .hook_ctx = &t->files, .stop = &stop_signal,
    };
}

/* --sample N: as chapters 01-04 print theirs (chapter.h). */
static int sample_after_training(trainer *t, error *e) {
    language_model lm = t->s.backend->language_model(t->s.model);
    return print_sample(&lm, &t->ds.tok, &t->o, e);
}

/* After training: the steps, time and speed, the plot, the sample asked
 * for, and the final line. */
static int report(trainer *t, const train_result *res, long start_step, error *e) {
    const options *o = &t->o;
    double tokens = (double)o->batch * o->block, ms = res->median_step_ms;
    printf("gpt: trained %ld steps in %.1f s, evaluation %.1f s; best val %.4f -> %s\n",
           o->iters - start_step, res->train_seconds, res->eval_seconds, t->st.best_val,
           t->files.best_path);
    if (ms > 0)
        printf("gpt: speed median_ms_per_iter=%.2f tokens_per_s=%.0f gflops=%.1f\n", ms,
               tokens / (ms / 1000.0), gpt_flops_per_token(&t->cfg) * tokens / (ms * 1e6));
    plot_loss(o->out);
    if (o->sample > 0 && sample_after_training(t, e) != 0)
        return EXIT_FAILURE;
    print_final(res);
    return EXIT_SUCCESS;
}

/* Stopped by a signal: last.safetensors at the step reached. */
static int save_on_signal(trainer *t, error *e) {
    if (session_save(&t->s, t->files.last_path, &t->ds.tok, &t->st, &t->o, e) != 0)
        return EXIT_FAILURE;
    printf("gpt: stopped by signal %d at step %ld; saved %s (continue with --resume %s)\n",
           (int)stop_signal, t->st.step, t->files.last_path, t->files.last_path);
    return 128 + (int)stop_signal;
}

/* Trains from the set-up state; returns the exit status. */
static int train_and_report(trainer *t, const gpt_backend *be, error *e) {
    train_config tc = train_config_of(t);
    /* watched before the banner appears: a signal sent once it is there
     * always ends in a saved checkpoint */
    watch_signals();
    print_banner(&t->o, &t->cfg, gpt_params_table(t->s.host)->total, &t->ds, be);
    if (t->o.resume)
        printf("gpt: resuming from %s at step %ld\n", t->o.resume, t->st.step);
    long start_step = t->st.step;
    language_model lm = be->language_model(t->s.model);
    train_result res;
    train_status status = train_run(&lm, &t->ds, &tc, &t->st, &res, e);
    if (status == TRAIN_INTERRUPTED)
        return save_on_signal(t, e); /* still watching: a second Ctrl-C cannot cut it short */
    if (status != TRAIN_DONE)
        return EXIT_FAILURE;
    unwatch_signals();
    return report(t, &res, start_step, e);
}

static void trainer_free(trainer *t) {
    if (t->out_lock >= 0)
        close(t->out_lock);
    safetensors_free(&t->rp.file);
    tokenizer_free(&t->rp.tok);
    train_state_free(&t->st);
    session_destroy(&t->s);
    dataset_free(&t->ds);
}

static int cmd_train(int argc, char **argv, const gpt_backend *be) {
    trainer t = {.out_lock = -1};
    error e = {{0}};
    int parsed = train_options(&t, argc, argv, be, &e);
    int rc = parsed == 1 ? EXIT_SUCCESS : EXIT_FAILURE;
    if (parsed == 0 && train_setup(&t, be, &e) == 0)
        rc = train_and_report(&t, be, &e);
    if (rc == EXIT_FAILURE) {
        fflush(stdout);
        error_print(be->program, &e);
    }
    trainer_free(&t);
    return rc;
}

/* ---------------------------------------------------------------- sample */

/* Parses a sample/eval command line (plus the backend's own options) and
 * applies the backend's options; prints the error itself. */
static cli_result parse_command(int argc, char **argv, options *o, unsigned mask,
                                const char *usage, const gpt_backend *be, error *e) {
    cli_result r = cli_parse(argc, argv, o, mask | be->extra_options, usage_text(usage, be), e);
    if (r == CLI_OK && be->configure && be->configure(o, e) != 0)
        r = CLI_ERROR;
    if (r == CLI_ERROR)
        error_print(be->program, e);
    return r;
}

static const char SAMPLE_USAGE[] =
    "usage: %s sample --ckpt FILE [--prompt TEXT] [--tokens N] [--temperature T]\n"
    "         [--top-k K] [--seed N]\n\n"
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
    if (tokenizer_encode(tok, prompt, len, *ids, n, e) != 0)
        return error_prefix(e, "--prompt");
    return 0;
}

/* What sample and eval read without --ckpt: the default preset's best
 * weights, where this program trains them. */
static const char *default_ckpt(const gpt_backend *be) {
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/best.safetensors", be->runs, DEFAULT_PRESET);
    return path;
}

static int cmd_sample(int argc, char **argv, const gpt_backend *be) {
    options o = {.ckpt = default_ckpt(be), .prompt = NULL, .tokens = DEFAULT_SAMPLE_TOKENS,
                 .temperature = 1.0, .top_k = 0, .seed = DEFAULT_SEED};
    error e = {{0}};
    cli_result r = parse_command(argc, argv, &o, OPT_CKPT | OPT_SAMPLING | OPT_SEED | OPT_THREADS,
                                 SAMPLE_USAGE, be, &e);
    if (r != CLI_OK)
        return r == CLI_HELP ? EXIT_SUCCESS : EXIT_FAILURE;
    set_threads(o.threads);
    tokenizer tok = {0};
    session s = {0};
    int *ids = NULL, rc = EXIT_FAILURE, start = 0;
    size_t n_ids = 1;
    if (session_from_checkpoint(&s, be, o.ckpt, 1, &tok, &e) != 0 ||
        (o.prompt && encode_prompt(&tok, o.prompt, &ids, &n_ids, &e) != 0))
        goto fail;
    if (!o.prompt)
        start = sample_start(&tok); /* a text's own start, as --sample in training */
    language_model lm = be->language_model(s.model);
    if (sample_text(&lm, &tok, o.prompt ? ids : &start, n_ids, o.tokens, &o, &e) != 0)
        goto fail;
    if (o.tokens > 0)
        printf("\n");
    rc = EXIT_SUCCESS;
    goto done;
fail:
    fflush(stdout);
    error_print(be->program, &e);
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
    "usage: %s eval --ckpt FILE [--data PATH]\n\n"
    "The loss over the whole train and val splits, in consecutive blocks: deterministic,\n"
    "unlike the random-batch estimates printed during training. Any text whose characters\n"
    "are all in the checkpoint's vocabulary can be scored; the default is the default\n"
    "training text, so a checkpoint trained on another needs --data.";

static int cmd_eval(int argc, char **argv, const gpt_backend *be) {
    options o = {.ckpt = default_ckpt(be)};
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
        load_data(&ds, o.data, &tok, be->program, &e) != 0 || dataset_check(&ds, 1, &e) != 0)
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
    error_print(be->program, &e);
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
        fprintf(stderr, "%s: error: no command given (train, sample or eval; see --help)\n",
                backend->program);
        return EXIT_FAILURE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf(USAGE, argv[0]);
        return finish_stdout(backend->program) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    const char *cmd = argv[1];
    int (*run)(int, char **, const gpt_backend *) = strcmp(cmd, "train") == 0    ? cmd_train
                                                    : strcmp(cmd, "sample") == 0 ? cmd_sample
                                                    : strcmp(cmd, "eval") == 0   ? cmd_eval
                                                                                 : NULL;
    if (run) {
        int rc = run(argc - 1, argv + 1, backend);
        return rc == EXIT_SUCCESS && finish_stdout(backend->program) != 0 ? EXIT_FAILURE : rc;
    }
    fprintf(stderr, "%s: error: unknown command '%s' (expected train, sample or eval)\n",
            backend->program, cmd);
    return EXIT_FAILURE;
}
