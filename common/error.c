/* error.c - see error.h. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int error_set(error *e, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void error_print(const char *program, const error *e) {
    fprintf(stderr, "%s: error: %s\n", program, e->msg[0] ? e->msg : "unknown error");
}
