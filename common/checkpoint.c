/* checkpoint.c - safetensors writing and validated reading; see checkpoint.h. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokenizer.h"

#define HEADER_LEN_BYTES 8
#define HEADER_ALIGN 8       /* the data section starts 8-byte aligned */
#define JSON_MAX_DEPTH 16    /* nesting deeper than this is not a safetensors header */
#define METADATA_KEY "__metadata__"

/* ================================================================ writing */

/* A growable string, for building the JSON header. */
typedef struct {
    char *s;
    size_t len, cap;
    bool failed;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n) {
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->s = grown, b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        b->failed = true;
    else
        sb_put(b, tmp, (size_t)n);
}

/* A JSON string literal: quotes, backslashes and control characters
 * escaped; everything else (including UTF-8) passed through. */
static void sb_json_string(strbuf *b, const char *s) {
    sb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_put(b, esc, 2);
        } else if (c == '\n') {
            sb_puts(b, "\\n");
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_puts(b, "\"");
}

static size_t entry_count(const st_entry *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

static char *build_header(const st_entry *tensors, int n_tensors, const st_meta *meta,
                          int n_meta, size_t *len) {
    strbuf b = {0};
    sb_puts(&b, "{");
    if (n_meta > 0) {
        sb_json_string(&b, METADATA_KEY);
        sb_puts(&b, ":{");
        for (int i = 0; i < n_meta; i++) {
            if (i)
                sb_puts(&b, ",");
            sb_json_string(&b, meta[i].key);
            sb_puts(&b, ":");
            sb_json_string(&b, meta[i].value);
        }
        sb_puts(&b, "}");
    }
    size_t offset = 0;
    for (int i = 0; i < n_tensors; i++) {
        const st_entry *t = &tensors[i];
        if (i || n_meta > 0)
            sb_puts(&b, ",");
        sb_json_string(&b, t->name);
        sb_puts(&b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++)
            sb_printf(&b, "%s%zu", d ? "," : "", t->shape[d]);
        size_t bytes = entry_count(t) * sizeof(float);
        sb_printf(&b, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        offset += bytes;
    }
    sb_puts(&b, "}");
    /* pad with spaces (valid JSON whitespace) so the data is aligned */
    while (!b.failed && (HEADER_LEN_BYTES + b.len) % HEADER_ALIGN != 0)
        sb_puts(&b, " ");
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    *len = b.len;
    return b.s;
}

/* fwrite of all n bytes: 0, or -1 with errno set. */
static int write_all(FILE *f, const void *p, size_t n) {
    if (fwrite(p, 1, n, f) != n)
        return -1;
    return 0;
}

static int write_file(FILE *f, const char *header, size_t header_len, const st_entry *tensors,
                      int n_tensors) {
    unsigned char len_bytes[HEADER_LEN_BYTES];
    for (int i = 0; i < HEADER_LEN_BYTES; i++) /* little-endian, whatever the host */
        len_bytes[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
    if (write_all(f, len_bytes, sizeof len_bytes) != 0 || write_all(f, header, header_len) != 0)
        return -1;
    /* floats are written in host order: this code assumes a little-endian
     * host (x86-64, ARM64), as safetensors requires little-endian data */
    for (int i = 0; i < n_tensors; i++)
        if (write_all(f, tensors[i].data, entry_count(&tensors[i]) * sizeof(float)) != 0)
            return -1;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        return -1;
    return 0;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_parent_dir(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int safetensors_save(const char *path, const st_entry *tensors, int n_tensors,
                     const st_meta *meta, int n_meta, error *e) {
    size_t header_len;
    char *header = build_header(tensors, n_tensors, meta, n_meta, &header_len);
    if (!header)
        return error_set(e, "out of memory building the header of '%s'", path);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int err = errno;
        free(header);
        return error_set(e, "cannot write '%s': %s", tmp, strerror(err));
    }
    int rc = write_file(f, header, header_len, tensors, n_tensors);
    int err = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    free(header);
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        err = errno;
    }
    if (rc != 0) {
        unlink(tmp); /* the previous checkpoint at `path` is untouched */
        return error_set(e, "could not save '%s': %s (the previous file, if any, is kept)", path,
                         strerror(err));
    }
    sync_parent_dir(path);
    return 0;
}

/* ================================================================ reading */

/* A byte of the header for an error message: itself when it is printable
 * ASCII, else its code (a raw byte may be half a UTF-8 character, or a
 * control character that would break the message's line). */
typedef struct {
    char text[8];
} shown_byte;

static shown_byte show_byte(char ch) {
    shown_byte s;
    unsigned char b = (unsigned char)ch;
    snprintf(s.text, sizeof s.text, b >= 0x20 && b < 0x7F ? "'%c'" : "0x%02X", b);
    return s;
}

/* A cursor over the JSON header. Every read checks the end first. */
typedef struct {
    const char *p, *end;
    char *out;      /* where decoded strings go (inside st->strings) */
    error *e;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool consume(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static int hex4(cursor *c, uint32_t *v) {
    if (c->end - c->p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char h = *c->p++;
        int d = h >= '0' && h <= '9' ? h - '0'
                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* Parses a JSON string into c->out (NUL-terminated, valid UTF-8) and returns
 * its start, or NULL. Decoded text is never longer than its JSON form. */
static const char *parse_string(cursor *c) {
    if (!consume(c, '"')) {
        error_set(c->e, "malformed JSON header: expected a string");
        return NULL;
    }
    char *start = c->out;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20) {
            error_set(c->e, "malformed JSON header: control character in a string");
            return NULL;
        }
        if (ch != '\\') {
            /* copy one whole UTF-8 character, validating it */
            size_t pos = 0, left = (size_t)(c->end - c->p);
            uint32_t cp;
            if (utf8_decode(c->p, left, &pos, &cp) != 0) {
                error_set(c->e, "malformed JSON header: invalid UTF-8 in a string");
                return NULL;
            }
            memcpy(c->out, c->p, pos);
            c->out += pos;
            c->p += pos;
            continue;
        }
        c->p++;
        if (c->p >= c->end)
            break;
        char esc = *c->p++;
        uint32_t cp;
        switch (esc) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            if (hex4(c, &cp) != 0) {
                error_set(c->e, "malformed JSON header: bad \\u escape");
                return NULL;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair: two escapes */
                uint32_t lo;
                if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u' ||
                    (c->p += 2, hex4(c, &lo) != 0) || lo < 0xDC00 || lo > 0xDFFF) {
                    error_set(c->e, "malformed JSON header: unpaired surrogate");
                    return NULL;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                error_set(c->e, "malformed JSON header: unpaired surrogate");
                return NULL;
            }
            break;
        }
        default:
            error_set(c->e, "malformed JSON header: bad escape: a backslash before %s",
                      show_byte(esc).text);
            return NULL;
        }
        c->out += utf8_encode(cp, c->out);
    }
    if (c->p >= c->end) {
        error_set(c->e, "malformed JSON header: unterminated string");
        return NULL;
    }
    c->p++; /* closing quote */
    *c->out++ = '\0';
    return start;
}

/* A non-negative integer that fits in size_t with room to spare. */
static int parse_size(cursor *c, size_t *v) {
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return error_set(c->e, "malformed JSON header: expected a non-negative integer");
    uint64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (x > (UINT64_MAX / 4) / 10)
            return error_set(c->e, "malformed JSON header: integer too large");
        x = x * 10 + (uint64_t)(*c->p++ - '0');
    }
    *v = (size_t)x;
    return 0;
}

/* [a, b, ...] of non-negative integers, at most max of them. */
static int parse_size_array(cursor *c, size_t *v, int max, int *n) {
    *n = 0;
    if (!consume(c, '['))
        return error_set(c->e, "malformed JSON header: expected '['");
    if (consume(c, ']'))
        return 0;
    do {
        if (*n == max)
            return error_set(c->e, "malformed JSON header: array longer than %d", max);
        if (parse_size(c, &v[(*n)++]) != 0)
            return -1;
    } while (consume(c, ','));
    if (!consume(c, ']'))
        return error_set(c->e, "malformed JSON header: expected ']'");
    return 0;
}

/* Skips any JSON value (for keys we do not use). */
static int skip_value(cursor *c, int depth) {
    if (depth > JSON_MAX_DEPTH)
        return error_set(c->e, "malformed JSON header: nested too deeply");
    skip_ws(c);
    if (c->p >= c->end)
        return error_set(c->e, "malformed JSON header: unexpected end");
    char ch = *c->p;
    if (ch == '"') {
        char *saved = c->out; /* decode into scratch, then forget it */
        const char *s = parse_string(c);
        c->out = saved;
        return s ? 0 : -1;
    }
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->p++;
        if (consume(c, close))
            return 0;
        do {
            if (ch == '{') {
                char *saved = c->out;
                const char *key = parse_string(c);
                c->out = saved;
                if (!key)
                    return -1;
                if (!consume(c, ':'))
                    return error_set(c->e, "malformed JSON header: bad object");
            }
            if (skip_value(c, depth + 1) != 0)
                return -1;
        } while (consume(c, ','));
        if (!consume(c, close))
            return error_set(c->e, "malformed JSON header: expected '%c'", close);
        return 0;
    }
    /* a number, true, false or null: the characters such literals use */
    const char *start = c->p;
    while (c->p < c->end && strchr("0123456789+-.eEtruefalsn", *c->p))
        c->p++;
    if (c->p == start)
        return error_set(c->e, "malformed JSON header: unexpected character %s",
                         show_byte(ch).text);
    return 0;
}

/* Makes room for one more element in a growable array. */
static int grow(void **array, int n, int *cap, size_t elem_size) {
    if (n < *cap)
        return 0;
    int new_cap = *cap ? 2 * *cap : 16;
    void *grown = realloc(*array, (size_t)new_cap * elem_size);
    if (!grown)
        return -1;
    *array = grown;
    *cap = new_cap;
    return 0;
}

static int parse_metadata(cursor *c, safetensors *st) {
    int cap = 0;
    if (!consume(c, '{'))
        return error_set(c->e, "malformed JSON header: __metadata__ is not an object");
    if (consume(c, '}'))
        return 0;
    do {
        const char *key = parse_string(c);
        if (!key)
            return -1; /* parse_string said what is wrong */
        if (!consume(c, ':'))
            return error_set(c->e, "malformed JSON header: bad __metadata__ entry");
        skip_ws(c);
        if (c->p < c->end && *c->p != '"')
            return error_set(c->e, "malformed JSON header: __metadata__ values must be strings");
        const char *value = parse_string(c);
        if (!value)
            return -1;
        if (grow((void **)&st->meta, st->n_meta, &cap, sizeof *st->meta) != 0)
            return error_set(c->e, "out of memory for the metadata");
        st->meta[st->n_meta++] = (st_meta){key, value};
    } while (consume(c, ','));
    if (!consume(c, '}'))
        return error_set(c->e, "malformed JSON header: expected '}' after __metadata__");
    return 0;
}

static int parse_tensor(cursor *c, st_tensor *t) {
    bool have_dtype = false, have_shape = false, have_offsets = false;
    if (!consume(c, '{'))
        return error_set(c->e, "tensor '%s': its entry is not an object", t->name);
    if (!consume(c, '}')) {
        do {
            char *saved = c->out;
            const char *key = parse_string(c);
            if (!key)
                return -1;
            if (!consume(c, ':'))
                return error_set(c->e, "tensor '%s': malformed entry", t->name);
            c->out = saved;
            bool *seen = strcmp(key, "dtype") == 0          ? &have_dtype
                         : strcmp(key, "shape") == 0        ? &have_shape
                         : strcmp(key, "data_offsets") == 0 ? &have_offsets
                                                            : NULL;
            if (seen && *seen) /* which one would count? refuse to guess */
                return error_set(c->e, "tensor '%s': '%s' given twice", t->name, key);
            if (strcmp(key, "dtype") == 0) {
                const char *dtype = parse_string(c);
                if (!dtype)
                    return -1;
                snprintf(t->dtype, sizeof t->dtype, "%s", dtype);
                c->out = saved;
                have_dtype = true;
            } else if (strcmp(key, "shape") == 0) {
                if (parse_size_array(c, t->shape, ST_MAX_DIMS, &t->ndim) != 0)
                    return -1;
                have_shape = true;
            } else if (strcmp(key, "data_offsets") == 0) {
                size_t off[2];
                int n;
                if (parse_size_array(c, off, 2, &n) != 0)
                    return -1;
                if (n != 2)
                    return error_set(c->e, "tensor '%s': data_offsets needs 2 numbers", t->name);
                t->begin = off[0];
                t->end = off[1];
                have_offsets = true;
            } else if (skip_value(c, 1) != 0) {
                return -1;
            }
        } while (consume(c, ','));
        if (!consume(c, '}'))
            return error_set(c->e, "tensor '%s': malformed entry", t->name);
    }
    if (!have_dtype || !have_shape || !have_offsets)
        return error_set(c->e, "tensor '%s': missing %s", t->name,
                         !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    return 0;
}

/* Bytes per element of the dtypes safetensors defines (0: unknown). */
static size_t dtype_size(const char *dtype) {
    static const struct {
        const char *name;
        size_t size;
    } sizes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
                 {"I16", 2}, {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"U16", 2}, {"U32", 4},
                 {"U64", 8}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (strcmp(dtype, sizes[i].name) == 0)
            return sizes[i].size;
    return 0;
}

/* Checks one tensor against the data section: known dtype, offsets in
 * order and inside the data, and exactly shape x dtype bytes. */
static int check_tensor(const st_tensor *t, size_t data_len, error *e) {
    size_t elem = dtype_size(t->dtype);
    if (elem == 0)
        return error_set(e, "tensor '%s': unknown dtype '%s'", t->name, t->dtype);
    size_t count = 1;
    for (int d = 0; d < t->ndim; d++)
        if (__builtin_mul_overflow(count, t->shape[d], &count))
            return error_set(e, "tensor '%s': shape too large", t->name);
    size_t bytes;
    if (__builtin_mul_overflow(count, elem, &bytes))
        return error_set(e, "tensor '%s': shape too large", t->name);
    if (t->begin > t->end || t->end > data_len)
        return error_set(e, "tensor '%s': data offsets [%zu, %zu] lie outside the %zu data bytes",
                         t->name, t->begin, t->end, data_len);
    if (t->end - t->begin != bytes)
        return error_set(e, "tensor '%s': offsets span %zu bytes but its shape needs %zu",
                         t->name, t->end - t->begin, bytes);
    return 0;
}

static int parse_header(safetensors *st, const char *json, size_t len, error *e) {
    /* decoded strings are never longer than the JSON text that holds them,
     * so one buffer of the header's size (plus NULs) holds them all */
    st->strings = malloc(2 * len + 16);
    if (!st->strings)
        return error_set(e, "out of memory parsing a %zu-byte header", len);
    int tensor_cap = 0;
    bool seen_metadata = false;
    cursor c = {json, json + len, st->strings, e};
    if (!consume(&c, '{'))
        return error_set(e, "malformed JSON header: it is not an object");
    if (!consume(&c, '}')) {
        do {
            char *saved = c.out;
            const char *key = parse_string(&c);
            if (!key)
                return -1;
            if (!consume(&c, ':'))
                return error_set(e, "malformed JSON header: expected ':' after \"%s\"", key);
            if (strcmp(key, METADATA_KEY) == 0) {
                c.out = saved; /* the key itself is not needed */
                if (seen_metadata)
                    return error_set(e, "malformed JSON header: two __metadata__ entries");
                seen_metadata = true;
                if (parse_metadata(&c, st) != 0)
                    return -1;
                continue;
            }
            if (strlen(key) >= ST_NAME_MAX)
                return error_set(e, "tensor name too long (%zu bytes)", strlen(key));
            if (grow((void **)&st->tensors, st->n_tensors, &tensor_cap, sizeof *st->tensors) != 0)
                return error_set(e, "out of memory for the tensor list");
            st_tensor *t = &st->tensors[st->n_tensors];
            memset(t, 0, sizeof *t);
            snprintf(t->name, sizeof t->name, "%s", key);
            c.out = saved;
            if (parse_tensor(&c, t) != 0)
                return -1;
            st->n_tensors++;
        } while (consume(&c, ','));
        if (!consume(&c, '}'))
            return error_set(e, "malformed JSON header: expected ',' or '}'");
    }
    skip_ws(&c);
    if (c.p != c.end)
        return error_set(e, "malformed JSON header: text after the closing '}'");
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const st_meta *)a)->key, ((const st_meta *)b)->key);
}

/* Sorts n items of `size` bytes with cmp and returns the index of one that
 * equals the one before it, or -1. Sorted, a name given twice shows up as
 * two neighbours, and lookups are binary searches: a header of a million
 * entries costs n log n string comparisons, where checking every name
 * against all the others would cost n^2 (hours). */
static int sort_find_twice(void *items, int n, size_t size,
                           int (*cmp)(const void *, const void *)) {
    if (n > 1)
        qsort(items, (size_t)n, size, cmp);
    const char *p = items;
    for (int i = 1; i < n; i++)
        if (cmp(p + (size_t)(i - 1) * size, p + (size_t)i * size) == 0)
            return i;
    return -1;
}

/* Tensor names and metadata keys are unique: of a name or a key given
 * twice (n_layer "1", then n_layer "60000"), which would count? */
static int sort_and_check_unique(safetensors *st, error *e) {
    int twice = sort_find_twice(st->tensors, st->n_tensors, sizeof *st->tensors, by_name);
    if (twice >= 0)
        return error_set(e, "tensor '%s' appears twice", st->tensors[twice].name);
    twice = sort_find_twice(st->meta, st->n_meta, sizeof *st->meta, by_key);
    if (twice >= 0)
        return error_set(e, "metadata key '%s' appears twice", st->meta[twice].key);
    return 0;
}

static int by_offsets(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* The tensors' byte ranges must tile the data section: taken in order of
 * their offsets, each starts where the previous one ended, the first at 0
 * and the last at the end of the file. So no byte is read as two tensors
 * and none is left over. Python's safetensors demands the same, which
 * keeps every file accepted here loadable there. */
static int check_tiling(const safetensors *st, error *e) {
    size_t n = (size_t)st->n_tensors;
    const st_tensor **order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return error_set(e, "out of memory checking %zu tensors", n);
    for (size_t i = 0; i < n; i++)
        order[i] = &st->tensors[i];
    qsort(order, n, sizeof *order, by_offsets);
    size_t next = 0; /* the first data byte no tensor has claimed yet */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const st_tensor *t = order[i];
        if (t->begin < next)
            rc = error_set(e, "tensors '%s' and '%s' overlap: data offsets [%zu, %zu] and "
                              "[%zu, %zu]",
                           order[i - 1]->name, t->name, order[i - 1]->begin, order[i - 1]->end,
                           t->begin, t->end);
        else if (t->begin > next)
            rc = error_set(e, "data bytes [%zu, %zu) belong to no tensor", next, t->begin);
        next = t->end;
    }
    if (rc == 0 && next != st->data_len)
        rc = error_set(e, "data bytes [%zu, %zu) belong to no tensor", next, st->data_len);
    free(order);
    return rc;
}

int safetensors_parse(safetensors *st, unsigned char *bytes, size_t len, error *e) {
    memset(st, 0, sizeof *st);
    st->file = bytes;
    st->file_len = len;
    if (len < HEADER_LEN_BYTES) {
        safetensors_free(st);
        return error_set(e, "not a safetensors file: only %zu bytes", len);
    }
    uint64_t header_len = 0;
    for (int i = HEADER_LEN_BYTES - 1; i >= 0; i--)
        header_len = header_len << 8 | bytes[i];
    if (header_len > len - HEADER_LEN_BYTES) {
        safetensors_free(st);
        return error_set(e, "not a safetensors file (or truncated): header length %llu but "
                            "only %zu bytes follow",
                         (unsigned long long)header_len, len - HEADER_LEN_BYTES);
    }
    if (header_len > ST_MAX_HEADER) {
        safetensors_free(st);
        return error_set(e, "header length %llu: more than the %u MiB a header may take",
                         (unsigned long long)header_len, ST_MAX_HEADER >> 20);
    }
    const char *json = (const char *)bytes + HEADER_LEN_BYTES;
    st->data = bytes + HEADER_LEN_BYTES + header_len;
    st->data_len = len - HEADER_LEN_BYTES - (size_t)header_len;
    if (parse_header(st, json, (size_t)header_len, e) != 0) {
        safetensors_free(st);
        return -1;
    }
    for (int i = 0; i < st->n_tensors; i++) {
        if (check_tensor(&st->tensors[i], st->data_len, e) != 0) {
            safetensors_free(st);
            return -1;
        }
    }
    if (sort_and_check_unique(st, e) != 0 || check_tiling(st, e) != 0) {
        safetensors_free(st);
        return -1;
    }
    return 0;
}

int safetensors_load(safetensors *st, const char *path, error *e) {
    memset(st, 0, sizeof *st);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return error_set(e, "cannot open checkpoint '%s': %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return error_set(e, "checkpoint '%s' is not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(e, "cannot open checkpoint '%s': %s", path, strerror(errno));
    size_t len = (size_t)sb.st_size;
    unsigned char *bytes = malloc(len ? len : 1);
    if (!bytes) {
        fclose(f);
        return error_set(e, "out of memory reading checkpoint '%s' (%zu bytes)", path, len);
    }
    size_t got = fread(bytes, 1, len, f);
    fclose(f);
    if (got != len) {
        free(bytes);
        return error_set(e, "error reading checkpoint '%s'", path);
    }
    if (safetensors_parse(st, bytes, len, e) != 0)
        return error_prefix(e, "checkpoint '%s'", path);
    return 0;
}

void safetensors_free(safetensors *st) {
    free(st->tensors);
    free(st->meta);
    free(st->strings);
    free(st->file);
    memset(st, 0, sizeof *st);
}

/* bsearch comparisons of a name (the key) with a sorted array's element */
static int name_vs_tensor(const void *name, const void *t) {
    return strcmp(name, ((const st_tensor *)t)->name);
}
static int key_vs_meta(const void *key, const void *m) {
    return strcmp(key, ((const st_meta *)m)->key);
}

/* (bsearch wants an array even when there is nothing to search) */
const st_tensor *safetensors_find(const safetensors *st, const char *name) {
    if (st->n_tensors == 0)
        return NULL;
    return bsearch(name, st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, name_vs_tensor);
}

const char *safetensors_meta(const safetensors *st, const char *key) {
    if (st->n_meta == 0)
        return NULL;
    const st_meta *m = bsearch(key, st->meta, (size_t)st->n_meta, sizeof *st->meta, key_vs_meta);
    return m ? m->value : NULL;
}

static void format_shape(char *buf, size_t cap, int ndim, const size_t *shape) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%zu", d ? ", " : "", shape[d]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

int safetensors_check_f32(const safetensors *st, const char *name, int ndim, const size_t *shape,
                          error *e) {
    const st_tensor *t = safetensors_find(st, name);
    if (!t)
        return error_set(e, "tensor '%s' is missing", name);
    if (strcmp(t->dtype, "F32") != 0)
        return error_set(e, "tensor '%s' has dtype %s, expected F32", name, t->dtype);
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = t->shape[d] == shape[d];
    if (!same) {
        char got[64], want[64];
        format_shape(got, sizeof got, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, shape);
        return error_set(e, "tensor '%s' has shape %s, expected %s", name, got, want);
    }
    return 0;
}

int safetensors_read_f32(const safetensors *st, const char *name, float *dst, int ndim,
                         const size_t *shape, error *e) {
    if (safetensors_check_f32(st, name, ndim, shape, e) != 0)
        return -1;
    const st_tensor *t = safetensors_find(st, name);
    memcpy(dst, st->data + t->begin, t->end - t->begin);
    return 0;
}
