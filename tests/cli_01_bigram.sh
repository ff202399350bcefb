#!/bin/sh
# cli_01_bigram.sh - the bigram program as a user meets it: --help, a short
# training run with its outputs, and clear errors for bad input.
. "$(dirname "$0")/lib.sh"
P="$BIN/01-bigram/bigram"

expect_chapter_program "$P" "01-bigram/bigram"
expect_error "cannot open '$TMP/none.txt': No such file" "$P" --data "$TMP/none.txt"
expect_error "is a directory" "$P" --data "$TMP"
finish
