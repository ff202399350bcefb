/*
 * cli.h - one command line for every chapter.
 *
 * All programs share a single table of options (name, type, range, help
 * text). A chapter picks the ones that apply to it with a bit mask and sets
 * its own defaults before parsing, so `--iters`, `--lr` or `--seed` mean the
 * same thing everywhere and are validated the same way: a malformed,
 * out-of-range or unknown option is one clear error line, never a silent
 * default.
 */
#ifndef COMMON_CLI_H
#define COMMON_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Which options a program accepts. */
enum {
    OPT_DATA = 1u << 0,        /* --data */
    OPT_TRAINING = 1u << 1,    /* --iters --batch --block --lr --eval-interval --eval-iters --out --sample */
    OPT_SEED = 1u << 2,        /* --seed */
    OPT_N_EMBD = 1u << 3,      /* --n-embd */
    OPT_N_HEAD = 1u << 4,      /* --n-head */
    OPT_N_LAYER = 1u << 5,     /* --n-layer */
    OPT_DROPOUT = 1u << 6,     /* --dropout */
    OPT_NO_FFN = 1u << 7,      /* --no-ffn */
    OPT_SCHEDULE = 1u << 8,    /* --preset --min-lr --warmup --decay-iters --resume --overwrite */
    OPT_CKPT = 1u << 9,        /* --ckpt */
    OPT_SAMPLING = 1u << 10,   /* --prompt --tokens --temperature --top-k */
    OPT_THREADS = 1u << 11,    /* --threads */
    OPT_PRECISION = 1u << 12,  /* --precision */
};

typedef struct {
    /* data and outputs */
    const char *data;     /* text file; NULL: the default search (data.h) */
    const char *out;      /* directory for loss.csv, loss.png, checkpoints */
    /* training */
    long iters;           /* optimizer steps */
    int batch;            /* B: rows per batch */
    int block;            /* T: context length */
    double lr;            /* peak learning rate */
    long seed;
    long eval_interval;   /* evaluate every this many steps */
    int eval_iters;       /* batches per split in an evaluation */
    long sample;          /* characters to generate after training */
    /* model size (chapters 02+) */
    int n_embd, n_head, n_layer;
    double dropout;
    bool no_ffn;
    /* chapter 05/06 training */
    const char *preset;
    double min_lr;
    long warmup;
    long decay_iters;     /* the cosine schedule's length (0: --iters) */
    const char *resume;
    bool overwrite;       /* replace the checkpoints of another run in --out */
    int threads;          /* 0: leave OpenMP's default */
    const char *precision;/* 06: "fp32", "tf32" or "bf16" */
    /* sampling and evaluation from a checkpoint */
    const char *ckpt;
    const char *prompt;
    long tokens;
    double temperature;
    int top_k;            /* 0: no top-k filtering */
} options;

typedef enum { CLI_OK, CLI_HELP, CLI_ERROR } cli_result;

/* Parses argv[1..argc) into opts (which holds the defaults on entry),
 * accepting only the options in mask. On --help prints the usage (with the
 * defaults) to stdout and returns CLI_HELP; on a bad option fills e and
 * returns CLI_ERROR. `usage` is the text shown above the option list. */
cli_result cli_parse(int argc, char **argv, options *opts, unsigned mask, const char *usage,
                     error *e);

/* The value cli_parse would give option NAME (which takes a value) from
 * argv, or NULL when it is not there: read the same way, abbreviations
 * ("--pre") resolved and the last of repeated options winning. Used to
 * read --preset and --resume before the other options, so that they can
 * override what those two bring. */
const char *cli_peek(int argc, char **argv, unsigned mask, const char *name);

/* True when argv asks for --help (or -h): it wins over everything, so a
 * program checks it before acting on what cli_peek found. */
bool cli_wants_help(int argc, char **argv, unsigned mask);

/* Sets option NAME (as on the command line, without the dashes; not a
 * flag) from text, with the command line's parsing and range checks: the
 * way a value stored in a file is read back. On failure e holds the
 * problem alone ("'x' is not a number"), for the caller to say where the
 * text came from. */
int cli_set(options *o, const char *name, const char *text, error *e);

/* Writes the value of option NAME (not a flag) as text that cli_set reads
 * back to the very same value. Returns -1 when there is none to write (a
 * string option left unset) or it does not fit in cap bytes. */
int cli_format(const options *o, const char *name, char *buf, size_t cap);

#endif
