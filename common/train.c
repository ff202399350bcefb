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
                    rng *r, int *x, int *y) {
    set_training(m, false);
    double sum = 0.0;
    for (int i = 0; i < n_batches; i++) {
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

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of the step times, leaving out the first WARMUP_STEPS when
 * there are enough to spare. Sorts the array. */
static double median_ms(double *ms, long n) {
    long skip = n > 2 * WARMUP_STEPS ? WARMUP_STEPS : 0;
    if (n - skip <= 0)
        return 0.0;
    qsort(ms + skip, (size_t)(n - skip), sizeof *ms, compare_double);
    return ms[skip + (n - skip) / 2];
}

/* Evaluates both splits, prints and logs the result, and calls the hook. */
static int evaluate(language_model *m, const dataset *ds, const train_config *cfg,
                    train_state *st, loss_log *log, double ms_per_iter, float lr,
                    train_result *res, int *x, int *y, error *e) {
    float train_loss = estimate_loss(m, ds, SPLIT_TRAIN, cfg->eval_iters, cfg->batch,
                                     cfg->block, &st->eval_rng, x, y);
    float val_loss = estimate_loss(m, ds, SPLIT_VAL, cfg->eval_iters, cfg->batch, cfg->block,
                                   &st->eval_rng, x, y);
    double tokens_per_s =
        ms_per_iter > 0 ? (double)cfg->batch * cfg->block / (ms_per_iter / 1000.0) : 0.0;
    bool best = val_loss < st->best_val;
    if (best)
        st->best_val = val_loss;
    printf("step %5ld: train loss %.4f, val loss %.4f%s", st->step, train_loss, val_loss,
           best ? " (best)" : "");
    if (ms_per_iter > 0)
        printf(" | %.2f ms/it, %.0f tok/s", ms_per_iter, tokens_per_s);
    printf("\n");
    fflush(stdout);
    loss_log_row(log, st->step, train_loss, val_loss, lr, ms_per_iter, tokens_per_s);
    res->step = st->step;
    res->train_loss = train_loss;
    res->val_loss = val_loss;
    if (!isfinite(train_loss) || !isfinite(val_loss))
        return error_set(e, "the evaluation loss became %s at step %ld; training stopped (the "
                            "last checkpoint is kept)",
                         isnan(val_loss) || isnan(train_loss) ? "NaN" : "infinite", st->step);
    if (cfg->on_eval && cfg->on_eval(cfg->hook_ctx, st, train_loss, val_loss, e) != 0)
        return -1;
    return 0;
}

train_status train_run(language_model *m, const dataset *ds, const train_config *cfg,
                       train_state *st, train_result *res, error *e) {
    memset(res, 0, sizeof *res);
    size_t n = (size_t)cfg->batch * cfg->block;
    int *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    long to_run = cfg->iters > st->step ? cfg->iters - st->step : 0;
    double *step_ms = malloc((size_t)(to_run > 0 ? to_run : 1) * sizeof *step_ms);
    long timed = 0;
    loss_log log = {NULL};
    progress bar;
    progress_init(&bar, cfg->iters);
    train_status status = TRAIN_FAILED;
    if (!x || !y || !step_ms) {
        error_set(e, "out of memory for a batch of %zu tokens", n);
        goto done;
    }
    if (cfg->csv_path && loss_log_open(&log, cfg->csv_path, cfg->append_csv, e) != 0)
        goto done;

    set_training(m, true);
    double window_seconds = 0.0; /* training time since the last evaluation */
    long window_steps = 0;
    bool resumed = st->step > 0; /* the evaluation at the resume step was done before saving */
    for (;;) {
        long step = st->step;
        float lr = lr_at(&cfg->schedule, step); /* at the last evaluation: the next lr */
        bool eval_now = step % cfg->eval_interval == 0 || step == cfg->iters;
        if (eval_now && !(resumed && window_steps == 0)) {
            double ms = window_steps ? 1000.0 * window_seconds / window_steps : 0.0;
            double t0 = clock_seconds();
            progress_clear(&bar);
            int rc = evaluate(m, ds, cfg, st, &log, ms, lr, res, x, y, e);
            res->eval_seconds += clock_seconds() - t0;
            if (rc != 0)
                goto done;
            window_seconds = 0.0;
            window_steps = 0;
        }
        resumed = false;
        if (step >= cfg->iters)
            break;
        if (cfg->stop && *cfg->stop) {
            status = TRAIN_INTERRUPTED;
            goto done;
        }

        double t0 = clock_seconds();
        dataset_batch(ds, SPLIT_TRAIN, &st->batch_rng, cfg->batch, cfg->block, x, y);
        float loss = m->train_step
                         ? m->train_step(m->self, x, y, cfg->batch, cfg->block, cfg, st, lr)
                         : cpu_train_step(m, x, y, cfg, st, lr);
        if (!isfinite(loss)) {
            progress_clear(&bar);
            error_set(e, "the training loss became %s at step %ld; training stopped (the last "
                         "checkpoint is kept)",
                      isnan(loss) ? "NaN" : "infinite", step);
            goto done;
        }
        st->step++;
        double dt = clock_seconds() - t0;
        step_ms[timed++] = 1000.0 * dt;
        window_seconds += dt;
        window_steps++;
        res->train_seconds += dt;
        double ms = 1000.0 * window_seconds / window_steps;
        progress_update(&bar, st->step, loss, lr, ms, (double)n / (ms / 1000.0));
    }
    status = TRAIN_DONE;
done:
    if (step_ms)
        res->median_step_ms = median_ms(step_ms, timed);
    free(step_ms);
    progress_clear(&bar);
    loss_log_close(&log);
    free(x);
    free(y);
    return status;
}
