/* properties.c - the fuzzers' oracles; see properties.h. */
#include "properties.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/tokenizer.h"

/* ------------------------------------------------------------ reference */

/* One row of the Unicode standard's Table 3-7 "Well-Formed UTF-8 Byte
 * Sequences": a range of lead bytes, the sequence length, and the allowed
 * range of each byte after the lead. The narrow second-byte ranges are what
 * exclude overlong forms (E0, F0), surrogates (ED) and code points past
 * U+10FFFF (F4); C0, C1 and F5..FF appear in no row at all. */
typedef struct {
    uint8_t lead_lo, lead_hi;
    int n;
    uint8_t lo[3], hi[3];
} utf8_form;

static const utf8_form WELL_FORMED[] = {
    {0x00, 0x7F, 1, {0}, {0}},
    {0xC2, 0xDF, 2, {0x80}, {0xBF}},
    {0xE0, 0xE0, 3, {0xA0, 0x80}, {0xBF, 0xBF}},
    {0xE1, 0xEC, 3, {0x80, 0x80}, {0xBF, 0xBF}},
    {0xED, 0xED, 3, {0x80, 0x80}, {0x9F, 0xBF}},
    {0xEE, 0xEF, 3, {0x80, 0x80}, {0xBF, 0xBF}},
    {0xF0, 0xF0, 4, {0x90, 0x80, 0x80}, {0xBF, 0xBF, 0xBF}},
    {0xF1, 0xF3, 4, {0x80, 0x80, 0x80}, {0xBF, 0xBF, 0xBF}},
    {0xF4, 0xF4, 4, {0x80, 0x80, 0x80}, {0x8F, 0xBF, 0xBF}},
};
#define N_FORMS (sizeof WELL_FORMED / sizeof WELL_FORMED[0])

static const utf8_form *form_of(uint8_t lead) {
    for (size_t f = 0; f < N_FORMS; f++)
        if (lead >= WELL_FORMED[f].lead_lo && lead <= WELL_FORMED[f].lead_hi)
            return &WELL_FORMED[f];
    return NULL;
}

size_t utf8_reference_first_invalid(const uint8_t *data, size_t len) {
    size_t i = 0;
    while (i < len) {
        const utf8_form *f = form_of(data[i]);
        if (!f || (size_t)f->n > len - i)
            return i;
        for (int k = 1; k < f->n; k++)
            if (data[i + k] < f->lo[k - 1] || data[i + k] > f->hi[k - 1])
                return i;
        i += (size_t)f->n;
    }
    return len;
}

/* ------------------------------------------------------------ checks */

int property_broken(char *why, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, PROPERTY_WHY_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

/* The offset in a message "... <prefix>N ...", or (size_t)-1 if absent. */
static size_t offset_after(const char *msg, const char *prefix) {
    const char *at = strstr(msg, prefix);
    size_t offset;
    if (!at || sscanf(at + strlen(prefix), "%zu", &offset) != 1)
        return (size_t)-1;
    return offset;
}

/* The vocabulary is strictly increasing, holds only valid code points, and
 * every entry is the id of some character of the text (ids from encode). */
static int check_vocabulary(const tokenizer *tok, const int *ids, size_t n_ids, char *why) {
    char *used = calloc((size_t)tok->vocab_size, 1);
    if (!used)
        return property_broken(why, "out of memory in the checker");
    int rc = 0;
    for (size_t i = 0; i < n_ids && rc == 0; i++) {
        if (ids[i] < 0 || ids[i] >= tok->vocab_size)
            rc = property_broken(why, "id %d at %zu is outside the vocabulary of %d", ids[i], i,
                                 tok->vocab_size);
        else
            used[ids[i]] = 1;
    }
    for (int v = 0; v < tok->vocab_size && rc == 0; v++) {
        uint32_t c = tok->chars[v];
        char bytes[UTF8_MAX_BYTES];
        int n = utf8_encode(c, bytes);
        if (v > 0 && c <= tok->chars[v - 1])
            rc = property_broken(why, "vocabulary not strictly increasing at entry %d", v);
        else if (utf8_reference_first_invalid((const uint8_t *)bytes, (size_t)n) != (size_t)n)
            rc = property_broken(why, "vocabulary entry %d (U+%X) is not a valid code point", v,
                                 c);
        else if (!used[v])
            rc = property_broken(why, "vocabulary entry %d (U+%X) does not occur in the text", v,
                                 c);
    }
    free(used);
    return rc;
}

/* Encodes text with tok and decodes it back. With `all_known` every
 * character must be in the vocabulary; otherwise encode may instead reject
 * a character, naming an offset in [known_until, len). */
static int check_round_trip(const tokenizer *tok, const char *text, size_t len, bool all_known,
                            size_t known_until, char *why) {
    int *ids = malloc(len * sizeof *ids);
    char *back = malloc(len * UTF8_MAX_BYTES + 1);
    error e = {{0}};
    size_t n_ids = 0;
    int rc = 0;
    if (!ids || !back) {
        rc = property_broken(why, "out of memory in the checker");
    } else if (tokenizer_encode(tok, text, len, ids, &n_ids, &e) != 0) {
        size_t at = offset_after(e.msg, "at byte offset ");
        if (all_known || !strstr(e.msg, "is not in the vocabulary"))
            rc = property_broken(why, "encoding valid text failed: %s", e.msg);
        else if (at < known_until || at >= len || ((unsigned char)text[at] & 0xC0) == 0x80)
            rc = property_broken(why,
                                 "unknown character at a wrong offset (%zu of %zu, first %zu "
                                 "known): %s",
                                 at, len, known_until, e.msg);
    } else if (n_ids > len) {
        rc = property_broken(why, "%zu ids from %zu bytes", n_ids, len);
    } else if (all_known && check_vocabulary(tok, ids, n_ids, why) != 0) {
        rc = -1;
    } else {
        size_t n = tokenizer_decode(tok, ids, n_ids, back);
        if (n != len || memcmp(back, text, len) != 0)
            rc = property_broken(why,
                                 "decode(encode(text)) differs from the text (%zu bytes, not %zu)",
                                 n, len);
    }
    free(ids);
    free(back);
    return rc;
}

/* A vocabulary built from the first half of a valid text (cut at a
 * character boundary) knows every character there. */
static int check_half_vocabulary(const char *text, size_t len, char *why) {
    size_t half = len / 2;
    while (half > 0 && ((unsigned char)text[half] & 0xC0) == 0x80)
        half--;
    if (half == 0)
        return 0;
    tokenizer tok;
    error e = {{0}};
    if (tokenizer_build(&tok, text, half, &e) != 0)
        return property_broken(why, "the valid first %zu bytes were rejected: %s", half, e.msg);
    int rc = check_round_trip(&tok, text, len, false, half, why);
    tokenizer_free(&tok);
    return rc;
}

int tokenizer_properties(const uint8_t *data, size_t len, char why[PROPERTY_WHY_MAX]) {
    const char *text = (const char *)data;
    size_t bad = utf8_reference_first_invalid(data, len);
    tokenizer tok;
    error e = {{0}};
    int built = tokenizer_build(&tok, text, len, &e) == 0;
    if (len == 0)
        return built ? property_broken(why, "the empty text was accepted") : 0;
    if (bad < len) {
        if (built) {
            tokenizer_free(&tok);
            return property_broken(why, "invalid UTF-8 at offset %zu of %zu was accepted", bad,
                                   len);
        }
        size_t named = offset_after(e.msg, "invalid UTF-8 at byte offset ");
        if (named != bad)
            return property_broken(why,
                                   "the first invalid byte is at %zu of %zu, the message says: %s",
                                   bad, len, e.msg);
        return 0;
    }
    if (!built)
        return property_broken(why, "valid UTF-8 (%zu bytes) was rejected: %s", len, e.msg);
    int rc = check_round_trip(&tok, text, len, true, len, why);
    tokenizer_free(&tok);
    return rc != 0 ? rc : check_half_vocabulary(text, len, why);
}
