/*
 * error.h - one way to report a failure: a message buffer filled by the
 * function that failed, printed once by the program that called it.
 *
 * Library code never prints and never exits. A function that can fail takes
 * an `error *` as its last argument, fills it with one human sentence and
 * returns -1 (or NULL). main() prints that sentence as the single line on
 * stderr and exits non-zero. This keeps every error message in one place and
 * lets the tests check the message text.
 */
#ifndef COMMON_ERROR_H
#define COMMON_ERROR_H

#define ERROR_MAX 512

typedef struct {
    char msg[ERROR_MAX];
} error;

/* Formats the message into e (if e is not NULL) and returns -1, so a failing
 * function can end with `return error_set(e, "...", ...);`. Control
 * characters in the result (from a quoted name or path) become '?'. */
int error_set(error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Puts where a failure happened before the message e already holds,
 * "CONTEXT: MESSAGE" (the caller knows the file or option, the callee
 * what went wrong). Returns -1, like error_set. */
int error_prefix(error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "PROGRAM: error: MESSAGE" on stderr: the one line a user sees. */
void error_print(const char *program, const error *e);

/* At the end of a program: whether all it printed reached stdout. Output
 * lost to a full disk (`gpt sample > story.txt`) is a failure, not a
 * success: returns 0, or prints the one error line and returns -1. */
int finish_stdout(const char *program);

#endif
