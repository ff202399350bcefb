/* cli.c - the shared option table and its parser; see cli.h. */
#include "cli.h"

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_INT, KIND_LONG, KIND_DOUBLE, KIND_STRING, KIND_FLAG } value_kind;

typedef struct {
    const char *name;
    const char *arg;   /* placeholder in --help, NULL for a flag */
    value_kind kind;
    size_t offset;     /* where the value goes in `options` */
    double min, max;   /* allowed range for numbers */
    unsigned group;
    const char *help;
} option_spec;

/* Upper bounds that keep every size product far from overflow and every
 * allocation sane; a value past them is surely a typo. The table holds its
 * bounds as doubles: every integer bound is below 2^53, so it is exact and
 * prints exactly. */
#define MAX_ITERS 1000000000L
#define MAX_BATCH 65536
#define MAX_BLOCK 65536
#define MAX_WIDTH 65536
#define MAX_LAYERS 1024
#define MAX_TOKENS 1000000000L
/* 2^53 - 1: a double holds every integer up to it exactly, so the range
 * check cannot round a larger seed into range, and rng.c's
 * seed * 16 + stream stays far below 2^64 (no two seeds share a stream). */
#define MAX_SEED 9007199254740991.0

#define FIELD(f) offsetof(options, f)

static const option_spec SPECS[] = {
    {"data", "PATH", KIND_STRING, FIELD(data), 0, 0, OPT_DATA,
     "the UTF-8 text (default: data/input.txt, else ../shared/data/tinyshakespeare.txt)"},
    {"iters", "N", KIND_LONG, FIELD(iters), 1, MAX_ITERS, OPT_TRAINING, "training steps"},
    {"batch", "N", KIND_INT, FIELD(batch), 1, MAX_BATCH, OPT_TRAINING, "sequences per batch (B)"},
    {"block", "N", KIND_INT, FIELD(block), 1, MAX_BLOCK, OPT_TRAINING, "context length (T)"},
    {"lr", "X", KIND_DOUBLE, FIELD(lr), 1e-12, 10, OPT_TRAINING, "learning rate"},
    {"seed", "N", KIND_LONG, FIELD(seed), 0, MAX_SEED, OPT_SEED, "random seed"},
    {"eval-interval", "N", KIND_LONG, FIELD(eval_interval), 1, MAX_ITERS, OPT_TRAINING,
     "evaluate every N steps"},
    {"eval-iters", "N", KIND_INT, FIELD(eval_iters), 1, 1000000, OPT_TRAINING,
     "batches per split in an evaluation"},
    {"out", "DIR", KIND_STRING, FIELD(out), 0, 0, OPT_TRAINING,
     "output directory (loss.csv, loss.png; chapters 05-06: checkpoints)"},
    {"sample", "N", KIND_LONG, FIELD(sample), 0, MAX_TOKENS, OPT_TRAINING,
     "characters to generate after training (0: none)"},
    {"n-embd", "N", KIND_INT, FIELD(n_embd), 1, MAX_WIDTH, OPT_N_EMBD, "embedding width (C)"},
    {"n-head", "N", KIND_INT, FIELD(n_head), 1, MAX_WIDTH, OPT_N_HEAD,
     "attention heads (must divide n-embd)"},
    {"n-layer", "N", KIND_INT, FIELD(n_layer), 1, MAX_LAYERS, OPT_N_LAYER, "transformer blocks"},
    {"dropout", "P", KIND_DOUBLE, FIELD(dropout), 0, 0.95, OPT_DROPOUT,
     "dropout probability while training"},
    {"no-ffn", NULL, KIND_FLAG, FIELD(no_ffn), 0, 0, OPT_NO_FFN,
     "leave out the feed-forward network (multi-head attention only)"},
    {"preset", "NAME", KIND_STRING, FIELD(preset), 0, 0, OPT_SCHEDULE,
     "cpu-small, seed000 or full (set first; other options override it)"},
    {"min-lr", "X", KIND_DOUBLE, FIELD(min_lr), 0, 10, OPT_SCHEDULE,
     "learning rate at the end of the cosine decay (unless given: --lr / 10)"},
    {"warmup", "N", KIND_LONG, FIELD(warmup), 0, MAX_ITERS, OPT_SCHEDULE,
     "linear warmup steps"},
    {"decay-iters", "N", KIND_LONG, FIELD(decay_iters), 0, MAX_ITERS, OPT_SCHEDULE,
     "steps of the cosine decay (0: --iters; a resumed run keeps its own); train 100 of 200 "
     "with --iters 100 --decay-iters 200, then --resume"},
    {"resume", "FILE", KIND_STRING, FIELD(resume), 0, 0, OPT_SCHEDULE,
     "continue training from a last.safetensors (--out: its folder)"},
    {"overwrite", NULL, KIND_FLAG, FIELD(overwrite), 0, 0, OPT_SCHEDULE,
     "replace the checkpoints of another run in --out"},
    {"threads", "N", KIND_INT, FIELD(threads), 1, 1024, OPT_THREADS,
     "CPU threads (default: OMP_NUM_THREADS or all cores)"},
    {"precision", "P", KIND_STRING, FIELD(precision), 0, 0, OPT_PRECISION,
     "matmul precision: fp32, tf32 (the default) or bf16"},
    {"ckpt", "FILE", KIND_STRING, FIELD(ckpt), 0, 0, OPT_CKPT, "checkpoint (.safetensors) to read"},
    {"prompt", "TEXT", KIND_STRING, FIELD(prompt), 0, 0, OPT_SAMPLING,
     "text to continue (default: a newline, or the first character of a vocabulary without "
     "one)"},
    {"tokens", "N", KIND_LONG, FIELD(tokens), 0, MAX_TOKENS, OPT_SAMPLING,
     "characters to generate"},
    {"temperature", "T", KIND_DOUBLE, FIELD(temperature), 1e-6, 100, OPT_SAMPLING,
     "divide logits by T before sampling (<1: safer, >1: wilder)"},
    {"top-k", "K", KIND_INT, FIELD(top_k), 0, 1000000, OPT_SAMPLING,
     "sample only among the K likeliest characters (0: all)"},
};
#define N_SPECS ((int)(sizeof SPECS / sizeof SPECS[0]))

/* getopt_long returns an option's `val`; ours is LONG_VAL_BASE + its index
 * in SPECS (--help is index N_SPECS). The base lies above every char, so a
 * long option's val can never be mistaken for a short option like 'h' when
 * getopt reports it back in `optopt`. */
#define LONG_VAL_BASE 256
#define HELP_INDEX N_SPECS

static void *field_ptr(options *o, const option_spec *s) { return (char *)o + s->offset; }
static const void *field(const options *o, const option_spec *s) {
    return (const char *)o + s->offset;
}

static const option_spec *find_spec(const char *name) {
    for (int i = 0; i < N_SPECS; i++)
        if (strcmp(SPECS[i].name, name) == 0)
            return &SPECS[i];
    return NULL;
}

/* A number option's value as a double (exact within the bounds above). */
static double number_value(const options *o, const option_spec *s) {
    switch (s->kind) {
    case KIND_INT: return *(const int *)field(o, s);
    case KIND_LONG: return (double)*(const long *)field(o, s);
    default: return *(const double *)field(o, s);
    }
}

/* " (default X)", unless the option is a flag, an unset string, or a
 * number outside its range: that stands for "not given", and the help text
 * says what happens then (--threads: OMP_NUM_THREADS or all cores). */
static void print_default(const options *o, const option_spec *s) {
    if (s->kind == KIND_FLAG)
        return;
    if (s->kind == KIND_STRING) {
        /* where the help text names the default itself ("a newline"),
         * printing the string could only garble it */
        const char *text = *(const char *const *)field(o, s);
        if (text && !strstr(s->help, "(default"))
            printf(" (default %s)", text);
        return;
    }
    double x = number_value(o, s);
    if (x < s->min || x > s->max)
        return;
    if (s->kind == KIND_DOUBLE)
        printf(" (default %g)", x);
    else
        printf(" (default %.0f)", x);
}

static void print_usage(const options *o, unsigned mask, const char *usage) {
    printf("%s\n\nOptions:\n", usage);
    for (int i = 0; i < N_SPECS; i++) {
        const option_spec *s = &SPECS[i];
        if (!(s->group & mask))
            continue;
        char left[40];
        snprintf(left, sizeof left, "--%s%s%s", s->name, s->arg ? " " : "", s->arg ? s->arg : "");
        printf("  %-22s %s", left, s->help);
        print_default(o, s);
        printf("\n");
    }
    printf("  %-22s %s\n", "--help", "show this help and exit");
}

/* Parses a number with strtoll/strtod, rejecting empty strings, trailing
 * junk, overflow, NaN and values outside [min, max]. The message names the
 * text, not the option: the caller says where the text came from. */
static int parse_number(const option_spec *s, const char *text, options *o, error *e) {
    char *end;
    errno = 0;
    if (s->kind == KIND_DOUBLE) {
        double x = strtod(text, &end);
        if (end == text || *end != '\0' || isnan(x))
            return error_set(e, "'%s' is not a number", text);
        if (errno == ERANGE || x < s->min || x > s->max)
            return error_set(e, "%s is out of range (%g to %g)", text, s->min, s->max);
        *(double *)field_ptr(o, s) = x;
        return 0;
    }
    long long x = strtoll(text, &end, 10);
    if (end == text || *end != '\0')
        return error_set(e, "'%s' is not a whole number", text);
    if (errno == ERANGE || (double)x < s->min || (double)x > s->max)
        return error_set(e, "%s is out of range (%.0f to %.0f)", text, s->min, s->max);
    if (s->kind == KIND_INT)
        *(int *)field_ptr(o, s) = (int)x;
    else
        *(long *)field_ptr(o, s) = (long)x;
    return 0;
}

/* Sets a value option (a number or a string) from text. */
static int set_value(const option_spec *s, const char *text, options *o, error *e) {
    if (s->kind != KIND_STRING)
        return parse_number(s, text, o, e);
    if (text[0] == '\0')
        return error_set(e, "the value is empty");
    *(const char **)field_ptr(o, s) = text;
    return 0;
}

/* Sets what one command-line option says: a flag, or a value for which a
 * bad text becomes "--NAME: what is wrong". */
static int set_option(const option_spec *s, const char *text, options *o, error *e) {
    if (s->kind == KIND_FLAG) {
        *(bool *)field_ptr(o, s) = true;
        return 0;
    }
    return set_value(s, text, o, e) == 0 ? 0 : error_prefix(e, "--%s", s->name);
}

/* The name of a long option as typed, without any "=value": "--bogus". */
static void typed_name(const char *arg, char *buf, size_t cap) {
    size_t len = strcspn(arg, "=");
    snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), arg);
}

/* Explains why getopt_long rejected an argument ('?'). getopt tells the
 * cases apart only through optopt: the unknown character of a short option
 * ("-x", which may sit inside a cluster like "-xy", so argv[optind - 1] is
 * not the place to look), the val of a long option that takes no value but
 * was given one ("--help=3"), or 0 for a long option it did not recognise,
 * either unknown or an ambiguous prefix ("--eval" could be --eval-interval
 * or --eval-iters). */
static void bad_option(const struct option *table, int argc, char **argv, error *e) {
    if (optopt > 0 && optopt < LONG_VAL_BASE) {
        error_set(e, "unknown option '-%c' (see --help)", optopt);
        return;
    }
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    char name[128];
    typed_name(arg, name, sizeof name);
    if (optopt >= LONG_VAL_BASE) {
        error_set(e, "option '%s' takes no value", name);
        return;
    }
    /* Count the options this prefix could abbreviate (getopt_long accepts
     * any unambiguous prefix, so two or more matches is the only way an
     * existing name can be rejected). */
    size_t len = strlen(name + 2);
    int matches = 0;
    char list[ERROR_MAX / 2] = "";
    for (const struct option *o = table; o->name; o++) {
        if (strncmp(o->name, name + 2, len) != 0)
            continue;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s--%s", matches ? ", " : "", o->name);
        matches++;
    }
    if (strncmp(name, "--", 2) == 0 && len > 0 && matches >= 2)
        error_set(e, "option '%s' is ambiguous (%s)", name, list);
    else
        error_set(e, "unknown option '%s' (see --help)", name);
}

/* getopt_long's table of the options in mask, plus --help; the `val` of
 * each entry is LONG_VAL_BASE + its index into SPECS. table has room for
 * N_SPECS + 2 entries (the last one all zero). */
static void build_table(unsigned mask, struct option *table) {
    int n = 0;
    for (int i = 0; i < N_SPECS; i++) {
        if (!(SPECS[i].group & mask))
            continue;
        table[n++] = (struct option){SPECS[i].name,
                                     SPECS[i].kind == KIND_FLAG ? no_argument : required_argument,
                                     NULL, LONG_VAL_BASE + i};
    }
    table[n++] = (struct option){"help", no_argument, NULL, LONG_VAL_BASE + HELP_INDEX};
    table[n] = (struct option){NULL, 0, NULL, 0};
}

/* The next option getopt_long finds in argv: its val, ':' for a missing
 * value, '?' for anything else it rejects, or -1 at the end. The first
 * call of a pass must set *start. */
static int next_option(int argc, char **argv, const struct option *table, bool *start) {
    if (*start) {
        opterr = 0; /* we print our own, single-line errors */
        /* getopt keeps global state, including a pointer into the
         * argument it stopped in (after "-qx" failed at 'q', it would
         * resume at "x" of that old argv). Setting optind to 0, not 1,
         * makes glibc reset all of it, so parsing can repeat. */
        optind = 0;
        *start = false;
    }
    optopt = 0;
    return getopt_long(argc, argv, ":h", table, NULL);
}

cli_result cli_parse(int argc, char **argv, options *opts, unsigned mask, const char *usage,
                     error *e) {
    struct option table[N_SPECS + 2];
    build_table(mask, table);
    bool start = true;
    for (;;) {
        int c = next_option(argc, argv, table, &start);
        if (c == -1)
            break;
        if (c == 'h' || c == LONG_VAL_BASE + HELP_INDEX) {
            print_usage(opts, mask, usage);
            return CLI_HELP;
        }
        if (c == ':') { /* only long options take values */
            error_set(e, "option '%s' needs a value", argv[optind - 1]);
            return CLI_ERROR;
        }
        int i = c - LONG_VAL_BASE;
        if (c == '?' || i < 0 || i >= N_SPECS) {
            bad_option(table, argc, argv, e);
            return CLI_ERROR;
        }
        if (set_option(&SPECS[i], optarg, opts, e) != 0)
            return CLI_ERROR;
    }
    if (optind < argc) {
        error_set(e, "unexpected argument '%s' (see --help)", argv[optind]);
        return CLI_ERROR;
    }
    if ((mask & OPT_N_HEAD) && opts->n_head > 0 && opts->n_embd % opts->n_head != 0) {
        error_set(e, "--n-embd %d is not divisible by --n-head %d", opts->n_embd, opts->n_head);
        return CLI_ERROR;
    }
    return CLI_OK;
}

/* Reads argv as cli_parse does without acting on it: whether an option
 * whose val is a or b is there, and in *arg (unless NULL) the value of the
 * last one. What getopt rejects is skipped: cli_parse reports it. */
static bool scan_argv(int argc, char **argv, unsigned mask, int a, int b, const char **arg) {
    struct option table[N_SPECS + 2];
    build_table(mask, table);
    bool start = true, found = false;
    for (int c; (c = next_option(argc, argv, table, &start)) != -1;)
        if (c == a || c == b) {
            found = true;
            if (arg)
                *arg = optarg;
        }
    return found;
}

const char *cli_peek(int argc, char **argv, unsigned mask, const char *name) {
    const option_spec *want = find_spec(name);
    if (!want || !(want->group & mask))
        return NULL;
    int val = LONG_VAL_BASE + (int)(want - SPECS);
    const char *value = NULL;
    scan_argv(argc, argv, mask, val, val, &value);
    return value;
}

bool cli_wants_help(int argc, char **argv, unsigned mask) {
    return scan_argv(argc, argv, mask, 'h', LONG_VAL_BASE + HELP_INDEX, NULL);
}

int cli_set(options *o, const char *name, const char *text, error *e) {
    const option_spec *s = find_spec(name);
    if (!s || s->kind == KIND_FLAG)
        return error_set(e, "no option '--%s' takes a value", name);
    return set_value(s, text, o, e);
}

/* The shortest "%.*g" text that strtod reads back as x exactly (17
 * significant digits always do): 0.001 stays "0.001". */
static int format_double(double x, char *buf, size_t cap) {
    int n = 0;
    for (int digits = 1; digits <= DBL_DECIMAL_DIG; digits++) {
        n = snprintf(buf, cap, "%.*g", digits, x);
        if (n < 0 || (size_t)n >= cap || strtod(buf, NULL) == x)
            break;
    }
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

int cli_format(const options *o, const char *name, char *buf, size_t cap) {
    const option_spec *s = find_spec(name);
    if (!s || s->kind == KIND_FLAG)
        return -1;
    int n;
    switch (s->kind) {
    case KIND_STRING: {
        const char *text = *(const char *const *)field(o, s);
        if (!text)
            return -1;
        n = snprintf(buf, cap, "%s", text);
        break;
    }
    case KIND_DOUBLE: return format_double(*(const double *)field(o, s), buf, cap);
    case KIND_INT: n = snprintf(buf, cap, "%d", *(const int *)field(o, s)); break;
    default: n = snprintf(buf, cap, "%ld", *(const long *)field(o, s)); break;
    }
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}
