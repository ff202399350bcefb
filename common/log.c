/* log.c - CSV loss log and progress line; see log.h. */
#include "log.h"

#include "data.h" /* read_file */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The progress line is redrawn at most this often, so printing it never
 * costs measurable time even at thousands of steps per second. */
#define PROGRESS_REDRAW_SECONDS 0.1

double clock_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int make_dirs(const char *path, error *e) {
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return error_set(e, "bad directory path '%s'", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return error_set(e, "cannot create directory '%s': %s", buf, strerror(errno));
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return error_set(e, "'%s' exists and is not a directory", buf);
        buf[i] = saved;
    }
    return 0;
}

void loss_log_close(loss_log *log) {
    if (log->f)
        fclose(log->f);
    log->f = NULL;
}

static int write_failed(const loss_log *log, error *e) {
    return error_set(e, "cannot write the loss log '%s': %s", log->path,
                     errno ? strerror(errno) : "write error");
}

int loss_log_open(loss_log *log, const char *path, bool append, error *e) {
    /* an empty file (a log cut back to nothing) gets its header again */
    struct stat st;
    bool continuing = append && stat(path, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_size > 0);
    log->path = path;
    errno = 0;
    log->f = fopen(path, continuing ? "a" : "w");
    if (!log->f)
        return write_failed(log, e);
    if (!continuing && (fprintf(log->f, "%s\n", LOSS_LOG_HEADER) < 0 || fflush(log->f) != 0)) {
        write_failed(log, e);
        loss_log_close(log);
        return -1;
    }
    return 0;
}

/* The step of a row, "STEP,...", in line [p, end); -1 if the line is not
 * a row (the header, a torn or foreign line). */
static long row_step(const char *p, const char *end) {
    long step = 0;
    const char *q = p;
    for (; q < end && *q >= '0' && *q <= '9' && step < LONG_MAX / 10; q++)
        step = 10 * step + (*q - '0');
    return q > p && q < end && *q == ',' ? step : -1;
}

int loss_log_drop_after(const char *path, long last_step, error *e) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return 0; /* no log (or nothing a resume could cut) */
    char *bytes;
    size_t len;
    if (read_file(path, &bytes, &len, e) != 0)
        return error_prefix(e, "the loss log");
    /* whole lines only, in step order: keep them up to the first row past
     * last_step; a last line without its newline (a torn write) goes too */
    const char *p = bytes, *end = bytes + len, *nl;
    size_t keep = 0;
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL &&
           row_step(p, nl) <= last_step) {
        p = nl + 1;
        keep = (size_t)(p - bytes);
    }
    free(bytes);
    if (keep < len && truncate(path, (off_t)keep) != 0)
        return error_set(e, "cannot cut the loss log '%s' back to step %ld: %s", path, last_step,
                         strerror(errno));
    return 0;
}

int loss_log_row(loss_log *log, long step, float train_loss, float val_loss, float lr,
                 double ms_per_iter, double tokens_per_s, error *e) {
    if (!log->f)
        return 0;
    errno = 0;
    if (fprintf(log->f, "%ld,%.6f,%.6f,%.6g,%.4f,%.1f\n", step, train_loss, val_loss, lr,
                ms_per_iter, tokens_per_s) < 0 ||
        fflush(log->f) != 0)
        return write_failed(log, e);
    return 0;
}

void progress_init(progress *p, long total_steps) {
    p->total_steps = total_steps;
    p->on_terminal = isatty(STDERR_FILENO);
    p->last_draw = 0.0;
    p->drawn = false;
}

/* "12.3k" style numbers keep the line short. */
static void human_rate(char *buf, size_t cap, double x) {
    if (x >= 1e6)
        snprintf(buf, cap, "%.2fM", x / 1e6);
    else if (x >= 1e3)
        snprintf(buf, cap, "%.1fk", x / 1e3);
    else
        snprintf(buf, cap, "%.0f", x);
}

void progress_update(progress *p, long step, float loss, float lr, double ms_per_iter,
                     double tokens_per_s) {
    if (!p->on_terminal)
        return;
    double now = clock_seconds();
    if (p->drawn && now - p->last_draw < PROGRESS_REDRAW_SECONDS && step < p->total_steps)
        return;
    p->last_draw = now;
    long eta = (long)((double)(p->total_steps - step) * ms_per_iter / 1000.0 + 0.5);
    char rate[16];
    human_rate(rate, sizeof rate, tokens_per_s);
    /* \r returns to the line start; \033[K clears what a longer line left */
    fprintf(stderr, "\rstep %ld/%ld | loss %.4f | lr %.1e | %.2f ms/it | %s tok/s | ETA %ld:%02ld\033[K",
            step, p->total_steps, loss, lr, ms_per_iter, rate, eta / 60, eta % 60);
    fflush(stderr);
    p->drawn = true;
}

void progress_clear(progress *p) {
    if (p->drawn) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    p->drawn = false;
}
