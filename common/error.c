/* error.c - see error.h. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ASCII_DEL 0x7F

int error_set(error *e, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        /* A message quotes what it is about: a path from the command line,
         * a name from a file. A control character there (a newline, a
         * terminal escape) becomes '?', so the message stays one line. */
        for (char *p = e->msg; *p; p++)
            if ((unsigned char)*p < ' ' || *p == ASCII_DEL)
                *p = '?';
    }
    return -1;
}

int error_prefix(error *e, const char *fmt, ...) {
    if (!e)
        return -1;
    char why[ERROR_MAX], context[ERROR_MAX];
    snprintf(why, sizeof why, "%s", e->msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    return error_set(e, "%s: %s", context, why);
}

void error_print(const char *program, const error *e) {
    fprintf(stderr, "%s: error: %s\n", program, e->msg[0] ? e->msg : "unknown error");
}

int finish_stdout(const char *program) {
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    fprintf(stderr, "%s: error: could not write the output: %s\n", program,
            errno ? strerror(errno) : "write error");
    return -1;
}
