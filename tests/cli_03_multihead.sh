#!/bin/sh
# cli_03_multihead.sh - the multi-head program as a user meets it: --help,
# short runs with and without the feed-forward network, clear errors.
. "$(dirname "$0")/lib.sh"
P="$BIN/03-multihead/multihead"

expect_chapter_program "$P" "03-multihead/multihead" --n-embd 16 --n-head 2
expect_chapter_program "$P" "03-multihead/multihead" --no-ffn
expect_ok "$P" --help
expect_stdout "--no-ffn"
expect_stdout "--n-head N .*\(default 4\)"
expect_error "--n-embd 30 is not divisible by --n-head 4" "$P" --n-embd 30
expect_error "--n-head: 'four' is not a whole number" "$P" --n-head four
expect_error "unknown option '--n-layer'" "$P" --n-layer 2
finish
