#!/bin/sh
# cli_02_attention.sh - the one-head attention program as a user meets it:
# --help, a short training run with its outputs, and clear errors.
. "$(dirname "$0")/lib.sh"
P="$BIN/02-self-attention/attention"

expect_chapter_program "$P" "02-self-attention/attention" --n-embd 16 --threads 1
expect_ok "$P" --help
expect_stdout "--n-embd N .*\(default 32\)"
expect_error "--n-embd: 0 is out of range" "$P" --n-embd 0
expect_error "unknown option '--n-head'" "$P" --n-head 4 # one head: not an option here
expect_error "cannot open '$TMP/none.txt': No such file" "$P" --data "$TMP/none.txt"
finish
