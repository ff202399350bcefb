/* tokenizer.c - UTF-8 decoding and the code-point vocabulary; see tokenizer.h. */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unicode's limits: the last code point, and the UTF-16 surrogate range that
 * is reserved and must never appear encoded in UTF-8. */
#define UNICODE_MAX 0x10FFFFu
#define SURROGATE_FIRST 0xD800u
#define SURROGATE_LAST 0xDFFFu

int utf8_decode(const char *text, size_t len, size_t *pos, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)text + *pos;
    size_t left = len - *pos;
    if (left == 0)
        return -1;
    /* The lead byte says how many bytes follow and gives the top bits;
     * min is the smallest code point that needs this many bytes (a smaller
     * one in a longer form is an "overlong" encoding, which is invalid). */
    uint32_t c;
    size_t n;
    uint32_t min;
    if (s[0] < 0x80) {
        c = s[0], n = 1, min = 0;
    } else if ((s[0] & 0xE0) == 0xC0) {
        c = s[0] & 0x1F, n = 2, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        c = s[0] & 0x0F, n = 3, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        c = s[0] & 0x07, n = 4, min = 0x10000;
    } else {
        return -1; /* a continuation byte (10xxxxxx) or 0xF8..0xFF as lead */
    }
    if (n > left)
        return -1; /* truncated sequence */
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1; /* expected a continuation byte */
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > UNICODE_MAX || (c >= SURROGATE_FIRST && c <= SURROGATE_LAST))
        return -1;
    *cp = c;
    *pos += n;
    return 0;
}

int utf8_encode(uint32_t cp, char out[UTF8_MAX_BYTES]) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Names the offending bytes in an error message: "0xC3 0x28". */
static void describe_bytes(const char *text, size_t len, size_t pos, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = pos; i < len && i < pos + UTF8_MAX_BYTES && used + 6 < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s0x%02X", i > pos ? " " : "",
                                 (unsigned char)text[i]);
}

static int invalid_utf8(const char *text, size_t len, size_t pos, error *e) {
    char bytes[32];
    describe_bytes(text, len, pos, bytes, sizeof bytes);
    return error_set(e, "invalid UTF-8 at byte offset %zu (bytes %s)", pos, bytes);
}

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sorts cps and drops repeats; returns the new count. */
static size_t sort_unique(uint32_t *cps, size_t n) {
    qsort(cps, n, sizeof *cps, compare_u32);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || cps[i] != cps[k - 1])
            cps[k++] = cps[i];
    return k;
}

int tokenizer_build(tokenizer *tok, const char *text, size_t len, error *e) {
    tok->vocab_size = 0;
    tok->chars = NULL;
    if (len == 0)
        return error_set(e, "the text is empty");
    /* One pass validates the text and collects its code points. ASCII (most
     * text) is deduplicated on the fly with a 128-entry table; other code
     * points go into a small array that is sorted and deduplicated whenever
     * it fills up, so it stays about as large as the vocabulary. */
    unsigned char seen_ascii[128] = {0};
    size_t cap = 128, n = 0;
    uint32_t *cps = malloc(cap * sizeof *cps);
    if (!cps)
        return error_set(e, "out of memory building the vocabulary");
    for (size_t pos = 0; pos < len;) {
        size_t at = pos;
        uint32_t cp;
        if (utf8_decode(text, len, &pos, &cp) != 0) {
            free(cps);
            return invalid_utf8(text, len, at, e);
        }
        if (cp < 128) {
            if (seen_ascii[cp])
                continue;
            seen_ascii[cp] = 1;
        }
        if (n == cap)
            n = sort_unique(cps, n);
        if (n == cap) {
            uint32_t *grown = realloc(cps, 2 * cap * sizeof *cps);
            if (!grown) {
                free(cps);
                return error_set(e, "out of memory building the vocabulary");
            }
            cps = grown, cap *= 2;
        }
        cps[n++] = cp;
    }
    tok->chars = cps;
    tok->vocab_size = (int)sort_unique(cps, n);
    return 0;
}

int tokenizer_from_chars(tokenizer *tok, const uint32_t *chars, int n, error *e) {
    tok->vocab_size = 0;
    tok->chars = NULL;
    if (n <= 0)
        return error_set(e, "the vocabulary is empty");
    for (int i = 0; i < n; i++) {
        uint32_t c = chars[i];
        if (c > UNICODE_MAX || (c >= SURROGATE_FIRST && c <= SURROGATE_LAST))
            return error_set(e, "vocabulary entry %d is not a valid code point (U+%X)", i, c);
        if (i > 0 && c <= chars[i - 1])
            return error_set(e, "vocabulary is not sorted and unique at entry %d", i);
    }
    tok->chars = malloc((size_t)n * sizeof *tok->chars);
    if (!tok->chars)
        return error_set(e, "out of memory for the vocabulary");
    memcpy(tok->chars, chars, (size_t)n * sizeof *chars);
    tok->vocab_size = n;
    return 0;
}

void tokenizer_free(tokenizer *tok) {
    free(tok->chars);
    tok->chars = NULL;
    tok->vocab_size = 0;
}

int tokenizer_id(const tokenizer *tok, uint32_t cp) {
    /* binary search in the sorted vocabulary */
    int lo = 0, hi = tok->vocab_size - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (tok->chars[mid] == cp)
            return mid;
        if (tok->chars[mid] < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Describes a character for an error message: 'x' when printable ASCII,
 * else U+XXXX. */
static void describe_char(uint32_t cp, char *buf, size_t cap) {
    if (cp >= 0x20 && cp < 0x7F && cp != '\'')
        snprintf(buf, cap, "'%c'", (char)cp);
    else
        snprintf(buf, cap, "U+%04X", cp);
}

int tokenizer_encode(const tokenizer *tok, const char *text, size_t len, int *ids,
                     size_t *n_ids, error *e) {
    size_t n = 0;
    for (size_t pos = 0; pos < len;) {
        size_t at = pos;
        uint32_t cp;
        if (utf8_decode(text, len, &pos, &cp) != 0)
            return invalid_utf8(text, len, at, e);
        int id = tokenizer_id(tok, cp);
        if (id < 0) {
            char what[16];
            describe_char(cp, what, sizeof what);
            return error_set(e, "character %s at byte offset %zu is not in the vocabulary", what,
                             at);
        }
        ids[n++] = id;
    }
    *n_ids = n;
    return 0;
}

int tokenizer_decode_one(const tokenizer *tok, int id, char out[UTF8_MAX_BYTES]) {
    if (id < 0 || id >= tok->vocab_size)
        return 0;
    return utf8_encode(tok->chars[id], out);
}

size_t tokenizer_decode(const tokenizer *tok, const int *ids, size_t n, char *out) {
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        used += (size_t)tokenizer_decode_one(tok, ids[i], out + used);
    out[used] = '\0';
    return used;
}
