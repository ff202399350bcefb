/* train.c - the shared training loop; see train.h. */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int train_state_init(train_state *st, size_t n_params, long seed, error *e) {
    memset(st, 0, sizeof *st);
    st->m = alloc_floats(n_params, "AdamW moments", e);
    st->v = st->m ? alloc_floats(n_params, "AdamW moments", e) : NULL;
    if (!st->v) {
        train_state_free(st);
        return -1;
    }
    rng_seed_stream(&st->batch_rng, (uint64_t)seed, STREAM_BATCH);
    rng_seed_stream(&st->eval_rng, (uint64_t)seed, STREAM_EVAL);
    st->best_val = INFINITY;
    return 0;
}

void train_state_free(train_state *st) {
    free(st->m);
    free(st->v);
    st->m = st->v = NULL;
}

static void set_training(language_model *m, bool training) {
    if (m->set_training)
        m->set_training(m->self, training);
}

float estimate_loss(language_model *m, const dataset *ds, split s, int n_batches, int B, int T,
                    rng *r, int *x, int *y, const volatile sig_atomic_t *stop) {
    set_training(m, false);
    double sum = 0.0;
    for (int i = 0; i < n_batches; i++) {
        if (stop && *stop) {
            sum = NAN;
            break;
        }
        dataset_batch(ds, s, r, B, T, x, y);
        sum += m->forward(m->self, x, y, B, T);
    }
    set_training(m, true);
    return (float)(sum / n_batches);
}

void optimizer_step(language_model *m, const train_config *cfg, train_state *st, float lr) {
    long t = st->step + 1; /* AdamW counts updates from 1 */
    const param_table *pt = m->table;
    for (int i = 0; i < pt->n_tensors; i++) {
        const tensor_info *ti = &pt->tensors[i];
        bool decay = cfg->decay == DECAY_ALL || ti->ndim >= 2;
        size_t o = ti->offset;
        adamw_update(m->params + o, m->grads + o, st->m + o, st->v + o, ti->size, &cfg->adamw,
                     lr, decay ? cfg->adamw.weight_decay : 0.0f, t);
    }
}

/* One step on the CPU: loss, gradients, clipping, AdamW. A non-finite loss
 * is returned before anything is updated, so the model stays as it was. */
static float cpu_train_step(language_model *m, const int *x, const int *y,
                            const train_config *cfg, train_state *st, float lr) {
    float loss = m->forward(m->self, x, y, cfg->batch, cfg->block);
    if (!isfinite(loss))
        return loss;
    memset(m->grads, 0, m->table->total * sizeof *m->grads);
    m->backward(m->self);
    if (cfg->grad_clip > 0)
        grad_clip(m->grads, m->table->total, cfg->grad_clip);
    optimizer_step(m, cfg, st, lr);
    return loss;
}

/* ---------------------------------------------------------------- one run */

/* The times of the last STEP_TIMES_KEPT steps, in a ring. */
typedef struct {
    double *ms; /* (STEP_TIMES_KEPT) */
    long n;     /* steps recorded so far; step k went to ms[k % STEP_TIMES_KEPT] */
} step_times;

static void step_times_add(step_times *t, double ms) {
    t->ms[t->n % STEP_TIMES_KEPT] = ms;
    t->n++;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of the kept times. While the ring has not wrapped, the first
 * WARMUP_STEPS are left out when there are enough to spare; once it has,
 * they are gone already. Sorts the kept times. */
static double step_times_median(step_times *t) {
    long kept = t->n < STEP_TIMES_KEPT ? t->n : STEP_TIMES_KEPT;
    long skip = t->n == kept && kept > 2 * WARMUP_STEPS ? WARMUP_STEPS : 0;
    if (kept - skip <= 0)
        return 0.0;
    qsort(t->ms + skip, (size_t)(kept - skip), sizeof *t->ms, compare_double);
    return t->ms[skip + (kept - skip) / 2];
}

/* What train_run works with beside the model, the data and the state. */
typedef struct {
    int *x, *y;            /* one batch: inputs and targets (B*T each) */
    step_times times;
    loss_log log;
    progress bar;
    double window_seconds; /* training time since the last evaluation */
    long window_steps;
} run_context;

static int run_open(run_context *r, const train_config *cfg, const train_state *st, error *e) {
    memset(r, 0, sizeof *r);
    progress_init(&r->bar, cfg->iters);
    size_t n = (size_t)cfg->batch * cfg->block;
    r->x = malloc(n * sizeof *r->x);
    r->y = malloc(n * sizeof *r->y);
    if (!r->x || !r->y)
        return error_set(e, "out of memory for a batch of %zu tokens", n);
    r->times.ms = malloc(STEP_TIMES_KEPT * sizeof *r->times.ms);
    if (!r->times.ms)
        return error_set(e, "out of memory for %d step times", STEP_TIMES_KEPT);
    /* a resumed run logs again from its step on (that step's row too, when
     * its evaluation is owed) */
    long logged = st->evaluated ? st->step : st->step - 1;
    if (cfg->csv_path && cfg->resuming && loss_log_drop_after(cfg->csv_path, logged, e) != 0)
        return -1;
    if (cfg->csv_path && loss_log_open(&r->log, cfg->csv_path, cfg->resuming, e) != 0)
        return -1;
    return 0;
}

static void run_close(run_context *r, train_result *res) {
    if (r->times.ms)
        res->median_step_ms = step_times_median(&r->times);
    free(r->times.ms);
    progress_clear(&r->bar);
    loss_log_close(&r->log);
    free(r->x);
    free(r->y);
}

/* What a message about a failed run adds when the run saves checkpoints
 * (an on_eval hook); chapters 01-04 keep none. */
static const char *kept_note(const train_config *cfg) {
    return cfg->on_eval ? " (the last checkpoint is kept)" : "";
}

/* The evaluation line on stdout and its row in the CSV log. */
static int report_eval(run_context *r, const train_config *cfg, long step, float train_loss,
                       float val_loss, bool best, float lr, double ms_per_iter, error *e) {
    double tokens_per_s =
        ms_per_iter > 0 ? (double)cfg->batch * cfg->block / (ms_per_iter / 1000.0) : 0.0;
    printf("step %5ld: train loss %.4f, val loss %.4f%s", step, train_loss, val_loss,
           best ? " (best)" : "");
    if (ms_per_iter > 0)
        printf(" | %.2f ms/it, %.0f tok/s", ms_per_iter, tokens_per_s);
    printf("\n");
    fflush(stdout);
    return loss_log_row(&r->log, step, train_loss, val_loss, lr, ms_per_iter, tokens_per_s, e);
}

/* Evaluates both splits at st->step, reports it, and calls the hook.
 * Returns 0, -1 (e set), or 1 when a signal stopped it midway: then the
 * evaluation stream is as it was before, so that redoing the evaluation
 * after a resume draws the same batches. */
static int evaluate(language_model *m, const dataset *ds, const train_config *cfg,
                    train_state *st, run_context *r, float lr, train_result *res, error *e) {
    double t0 = clock_seconds();
    double ms_per_iter = r->window_steps ? 1000.0 * r->window_seconds / r->window_steps : 0.0;
    progress_clear(&r->bar);
    rng before = st->eval_rng;
    float train_loss = estimate_loss(m, ds, SPLIT_TRAIN, cfg->eval_iters, cfg->batch,
                                     cfg->block, &st->eval_rng, r->x, r->y, cfg->stop);
    float val_loss = estimate_loss(m, ds, SPLIT_VAL, cfg->eval_iters, cfg->batch, cfg->block,
                                   &st->eval_rng, r->x, r->y, cfg->stop);
    res->eval_seconds += clock_seconds() - t0;
    if (cfg->stop && *cfg->stop) {
        st->eval_rng = before;
        return 1;
    }
    st->evaluated = true;
    bool best = val_loss < st->best_val;
    if (best)
        st->best_val = val_loss;
    int rc = report_eval(r, cfg, st->step, train_loss, val_loss, best, lr, ms_per_iter, e);
    res->step = st->step;
    res->train_loss = train_loss;
    res->val_loss = val_loss;
    r->window_seconds = 0.0;
    r->window_steps = 0;
    if (rc != 0)
        return rc;
    if (!isfinite(train_loss) || !isfinite(val_loss))
        rc = error_set(e, "the evaluation loss became %s at step %ld; training stopped%s",
                       isnan(val_loss) || isnan(train_loss) ? "NaN" : "infinite", st->step,
                       kept_note(cfg));
    else if (cfg->on_eval && cfg->on_eval(cfg->hook_ctx, st, train_loss, val_loss, e) != 0)
        rc = -1;
    return rc;
}

/* One timed training step at lr on a fresh batch. A non-finite loss stops
 * training before st->step moves on. */
static int train_step(language_model *m, const dataset *ds, const train_config *cfg,
                      train_state *st, run_context *r, float lr, train_result *res, error *e) {
    double t0 = clock_seconds();
    dataset_batch(ds, SPLIT_TRAIN, &st->batch_rng, cfg->batch, cfg->block, r->x, r->y);
    float loss = m->train_step
                     ? m->train_step(m->self, r->x, r->y, cfg->batch, cfg->block, cfg, st, lr)
                     : cpu_train_step(m, r->x, r->y, cfg, st, lr);
    if (!isfinite(loss)) {
        progress_clear(&r->bar);
        return error_set(e, "the training loss became %s at step %ld; training stopped%s",
                         isnan(loss) ? "NaN" : "infinite", st->step, kept_note(cfg));
    }
    st->step++;
    st->evaluated = false;
    double dt = clock_seconds() - t0;
    step_times_add(&r->times, 1000.0 * dt);
    r->window_seconds += dt;
    r->window_steps++;
    res->train_seconds += dt;
    double ms = 1000.0 * r->window_seconds / r->window_steps;
    progress_update(&r->bar, st->step, loss, lr, ms,
                    (double)cfg->batch * cfg->block / (ms / 1000.0));
    return 0;
}

static train_status train_loop(language_model *m, const dataset *ds, const train_config *cfg,
                               train_state *st, run_context *r, train_result *res, error *e) {
    set_training(m, true);
    for (;;) {
        long step = st->step;
        float lr = lr_at(&cfg->schedule, step); /* at the last evaluation: the next lr */
        bool due = step % cfg->eval_interval == 0 || step == cfg->iters;
        int rc = due && !st->evaluated ? evaluate(m, ds, cfg, st, r, lr, res, e) : 0;
        if (rc != 0)
            return rc > 0 ? TRAIN_INTERRUPTED : TRAIN_FAILED;
        if (step >= cfg->iters)
            return TRAIN_DONE;
        if (cfg->stop && *cfg->stop)
            return TRAIN_INTERRUPTED;
        if (train_step(m, ds, cfg, st, r, lr, res, e) != 0)
            return TRAIN_FAILED;
    }
}

train_status train_run(language_model *m, const dataset *ds, const train_config *cfg,
                       train_state *st, train_result *res, error *e) {
    memset(res, 0, sizeof *res);
    run_context r;
    train_status status =
        run_open(&r, cfg, st, e) == 0 ? train_loop(m, ds, cfg, st, &r, res, e) : TRAIN_FAILED;
    run_close(&r, res);
    return status;
}
