/*
 * tokenizer.h - a character-level tokenizer over UTF-8 text.
 *
 * A "token" here is one Unicode code point. The vocabulary is the set of
 * distinct code points in the training text, sorted by code point, and a
 * token id is a character's position in that sorted list. Tiny Shakespeare
 * has 65 of them: '\n', ' ', '!', ..., 'z'. Sorting makes the vocabulary a
 * pure function of the text, so two runs on the same file agree on every id.
 *
 * Text comes in as UTF-8 bytes. Invalid UTF-8 (a stray continuation byte,
 * a truncated sequence, an overlong form, a surrogate, a value past U+10FFFF)
 * is an error that names the byte offset, never a silent replacement.
 */
#ifndef COMMON_TOKENIZER_H
#define COMMON_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The longest UTF-8 encoding of one code point. */
#define UTF8_MAX_BYTES 4

typedef struct {
    int vocab_size;
    uint32_t *chars; /* (vocab_size) code points, strictly increasing */
} tokenizer;

/* Decodes the code point starting at text[*pos] (len bytes in all) and
 * advances *pos past it. Returns 0, or -1 on invalid UTF-8 at *pos. */
int utf8_decode(const char *text, size_t len, size_t *pos, uint32_t *cp);

/* Writes the UTF-8 bytes of cp (a valid code point) to out; returns how many. */
int utf8_encode(uint32_t cp, char out[UTF8_MAX_BYTES]);

/* Builds the vocabulary from every character in text. Fails on invalid UTF-8
 * (naming the byte offset) and on empty text. */
int tokenizer_build(tokenizer *tok, const char *text, size_t len, error *e);

/* Builds a tokenizer from a list of code points (e.g. from a checkpoint);
 * they must be valid and strictly increasing. */
int tokenizer_from_chars(tokenizer *tok, const uint32_t *chars, int n, error *e);

void tokenizer_free(tokenizer *tok);

/* Id of code point cp, or -1 if it is not in the vocabulary. */
int tokenizer_id(const tokenizer *tok, uint32_t cp);

/* Encodes UTF-8 text into ids (room for len ids always suffices: every
 * character is at least one byte). Sets *n_ids. Fails on invalid UTF-8 or a
 * character outside the vocabulary, naming it and its byte offset. */
int tokenizer_encode(const tokenizer *tok, const char *text, size_t len, int *ids,
                     size_t *n_ids, error *e);

/* Writes the UTF-8 bytes of token id to out; returns how many (0 for an id
 * outside the vocabulary). */
int tokenizer_decode_one(const tokenizer *tok, int id, char out[UTF8_MAX_BYTES]);

/* Decodes n ids into a NUL-terminated UTF-8 string. out must hold at least
 * n * UTF8_MAX_BYTES + 1 bytes. Returns the string length in bytes. */
size_t tokenizer_decode(const tokenizer *tok, const int *ids, size_t n, char *out);

#endif
