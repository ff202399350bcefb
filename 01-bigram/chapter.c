/* chapter.c - the shared program skeleton of chapters 01-04; see chapter.h. */
#include "chapter.h"

#include <errno.h>
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "generate.h"

options chapter_default_options(const char *out_dir) {
    return (options){
        .data = NULL,
        .out = out_dir,
        .iters = 3000,
        .batch = 32,
        .block = 8,
        .lr = 1e-2,
        .seed = 1337,
        .eval_interval = 300,
        .eval_iters = 200,
        .sample = 0,
        .temperature = 1.0,
    };
}

int load_data(dataset *ds, const char *path, const tokenizer *vocab, const char *program,
              error *e) {
    if (!path)
        path = data_default_path();
    if (!path)
        return error_set(e, "no training text: neither %s nor %s exists (paths from the "
                            "current folder: run `make data` and %s from the repository's top "
                            "folder, or pass --data PATH)",
                         DATA_LOCAL_PATH, DATA_SHARED_PATH, program);
    return dataset_load(ds, path, vocab, e);
}

/* The directory holding this executable, to find common/plot/ beside it. */
static int exe_dir(char *buf, size_t cap) {
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

void plot_loss(const char *out_dir) {
    char dir[PATH_MAX], script[PATH_MAX + 64], expr[2 * PATH_MAX + 64], png[PATH_MAX + 16];
    snprintf(png, sizeof png, "%s/loss.png", out_dir);
    remove(png); /* an older run's plot must not pass for this one's */
    if (exe_dir(dir, sizeof dir) != 0)
        return;
    snprintf(script, sizeof script, "%s/../common/plot/loss.gp", dir);
    if (access(script, R_OK) != 0) {
        printf("note: not plotting (no %s)\n", script);
        return;
    }
    if (strchr(out_dir, '\'')) { /* it would end the '...' strings of the -e below */
        printf("note: not plotting (the output path %s has a single quote, which the gnuplot "
               "command cannot carry)\n",
               out_dir);
        return;
    }
    snprintf(expr, sizeof expr, "csv='%s/loss.csv'; out='%s'", out_dir, png);
    /* fork + exec rather than system(): no shell sees the path */
    pid_t pid = fork();
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", "-e", expr, script, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    pid_t waited = pid;
    while (pid > 0 && (waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ; /* a signal (Ctrl-C) arrived while gnuplot draws: wait on */
    bool exited = pid > 0 && waited == pid && WIFEXITED(status);
    if (exited && WEXITSTATUS(status) == 0) {
        printf("plot: %s\n", png);
        return;
    }
    remove(png); /* half drawn, if at all */
    if (exited && WEXITSTATUS(status) == 127)
        printf("note: not plotting (gnuplot is not installed: `make deps`)\n");
    else
        printf("note: gnuplot could not draw %s\n", png);
}

void print_final(const train_result *res) {
    printf("final step=%ld train_loss=%.4f val_loss=%.4f\n", res->step, res->train_loss,
           res->val_loss);
}

int sample_text(language_model *lm, const tokenizer *tok, const int *ids, size_t n_ids, long n,
                const options *o, error *e) {
    rng r;
    rng_seed_stream(&r, (uint64_t)o->seed, STREAM_SAMPLE);
    sampler_config sc = {(float)o->temperature, o->top_k};
    return generate(lm, tok, ids, n_ids, n, &sc, &r, stdout, e);
}

int sample_start(const tokenizer *tok) {
    int id = tokenizer_id(tok, '\n');
    return id >= 0 ? id : 0;
}

/* Generates o->sample characters after sample_start's token, then ends
 * the line. */
int print_sample(language_model *lm, const tokenizer *tok, const options *o, error *e) {
    int start = sample_start(tok);
    printf("--- sample (%ld characters) ---\n", o->sample);
    if (sample_text(lm, tok, &start, 1, o->sample, o, e) != 0)
        return -1;
    printf("\n---\n");
    return 0;
}

static train_config chapter_train_config(const options *o, const char *csv) {
    float lr = (float)o->lr;
    return (train_config){
        .iters = o->iters,
        .batch = o->batch,
        .block = o->block,
        .eval_interval = o->eval_interval,
        .eval_iters = o->eval_iters,
        .adamw = ADAMW_TORCH_DEFAULTS,
        .decay = DECAY_ALL,
        .schedule = {lr, lr, 0, o->iters}, /* constant: the lecture's plain recipe */
        .grad_clip = 0.0f,
        .csv_path = csv,
    };
}

int chapter_main(int argc, char **argv, const chapter *ch) {
    options o = ch->defaults;
    error e = {{0}};
    cli_result cr = cli_parse(argc, argv, &o, ch->options, ch->usage, &e);
    if (cr == CLI_HELP)
        return finish_stdout(ch->program) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    if (cr == CLI_ERROR) {
        error_print(ch->program, &e);
        return EXIT_FAILURE;
    }

    /* --threads (chapters that offer it): on a machine where other programs
     * are busy, fewer threads than cores is faster, because at the end of
     * every parallel loop each thread waits for the slowest one */
    if (o.threads > 0)
        omp_set_num_threads(o.threads);

    dataset ds;
    language_model lm = {0};
    train_state st = {0};
    int rc = EXIT_FAILURE;
    if (load_data(&ds, o.data, NULL, ch->program, &e) != 0) {
        error_print(ch->program, &e);
        return EXIT_FAILURE;
    }
    char csv[PATH_MAX];
    snprintf(csv, sizeof csv, "%s/loss.csv", o.out);
    rng init_rng;
    rng_seed_stream(&init_rng, (uint64_t)o.seed, STREAM_INIT);
    if (dataset_check(&ds, o.block, &e) != 0 || make_dirs(o.out, &e) != 0 ||
        ch->build(&lm, &o, ds.tok.vocab_size, &init_rng, &e) != 0)
        goto fail;
    if (train_state_init(&st, lm.table->total, o.seed, &e) != 0)
        goto fail;
    printf("%s: vocab %d, train %zu tokens, val %zu tokens, %zu parameters\n", ch->program,
           ds.tok.vocab_size, ds.n_train, ds.n_tokens - ds.n_train, lm.table->total);
    printf("batch %d, block %d, lr %g, %ld steps, seed %ld, OpenMP threads %d\n", o.batch, o.block,
           o.lr, o.iters, o.seed, omp_get_max_threads());

    train_config cfg = chapter_train_config(&o, csv);
    train_result res;
    if (train_run(&lm, &ds, &cfg, &st, &res, &e) != TRAIN_DONE)
        goto fail;
    printf("trained in %.1f s (+%.1f s evaluating); log: %s\n", res.train_seconds,
           res.eval_seconds, csv);
    plot_loss(o.out);
    if (o.sample > 0 && print_sample(&lm, &ds.tok, &o, &e) != 0)
        goto fail;
    print_final(&res);
    rc = EXIT_SUCCESS;
    goto done;
fail:
    fflush(stdout);
    error_print(ch->program, &e);
done:
    if (rc == EXIT_SUCCESS && finish_stdout(ch->program) != 0)
        rc = EXIT_FAILURE;
    train_state_free(&st);
    if (lm.self)
        ch->destroy(&lm);
    dataset_free(&ds);
    return rc;
}
