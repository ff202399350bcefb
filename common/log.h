/*
 * log.h - what a training run tells the world: a CSV loss log for plots and
 * a one-line progress display for the person watching.
 *
 * The CSV has one row per evaluation, with the header
 *     step,train_loss,val_loss,lr,ms_per_iter,tokens_per_s
 * where the losses are the evaluation estimates at that step, and the timing
 * columns are averages over the training steps since the previous row.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"

#define LOSS_LOG_HEADER "step,train_loss,val_loss,lr,ms_per_iter,tokens_per_s"

/* Seconds on a monotonic clock (for measuring durations only). */
double clock_seconds(void);

/* Creates every missing directory of path, like `mkdir -p`. */
int make_dirs(const char *path, error *e);

typedef struct {
    FILE *f;
    const char *path; /* for messages; the caller's, kept while open */
} loss_log;

/* Opens path for writing a fresh log with its header, or, with append set
 * and the file present, to continue it (used when resuming). */
int loss_log_open(loss_log *log, const char *path, bool append, error *e);

/* Cuts an existing log back to its rows up to last_step (the header
 * stays): a run stopped between logging an evaluation and saving its
 * checkpoint (a full disk, a kill) redoes that evaluation when resumed,
 * and would log it twice. No file: nothing to do. */
int loss_log_drop_after(const char *path, long last_step, error *e);

/* Writes one row and flushes it, so a crash loses nothing already logged.
 * A row that cannot be written (a full disk) is an error: the log is the
 * run's record, and chapters 01-04 keep no other. */
int loss_log_row(loss_log *log, long step, float train_loss, float val_loss, float lr,
                 double ms_per_iter, double tokens_per_s, error *e);

void loss_log_close(loss_log *log);

/* The console progress line:
 *   step 1200/2000 | loss 1.9821 | lr 6.1e-04 | 31.2 ms/it | 24.6k tok/s | ETA 0:25
 * On a terminal it redraws itself in place (carriage return) a few times a
 * second; when stderr is a file or pipe it prints nothing, so logs stay
 * clean (the evaluation lines on stdout carry the same information). */
typedef struct {
    long total_steps;
    bool on_terminal;
    double last_draw;
    bool drawn; /* a line is on screen and needs a newline before other output */
} progress;

void progress_init(progress *p, long total_steps);
void progress_update(progress *p, long step, float loss, float lr, double ms_per_iter,
                     double tokens_per_s);
/* Ends the line on screen (if any) so that normal output can follow. */
void progress_clear(progress *p);

#endif
