#!/bin/sh
# cli_01_bigram.sh - the bigram program as a user meets it: --help, a short
# training run with its outputs, and clear errors for bad input.
. "$(dirname "$0")/lib.sh"
P="$BIN/01-bigram/bigram"

expect_chapter_program "$P" "01-bigram/bigram"
expect_error "cannot open '$TMP/none.txt': No such file" "$P" --data "$TMP/none.txt"
expect_error "is a directory" "$P" --data "$TMP"

# ---- what stops the plot, each said in its own note (training goes on)
SHORT="--data $TMP/text.txt --iters 5 --eval-interval 5 --eval-iters 1"
# shellcheck disable=SC2086
expect_ok "$P" $SHORT --out "$TMP/it's"
expect_stdout "^note: not plotting \(the output path .*/it's has a single quote"
mkdir -p "$TMP/elsewhere" && cp "$P" "$TMP/elsewhere/bigram"
# shellcheck disable=SC2086
expect_ok "$TMP/elsewhere/bigram" $SHORT --out "$TMP/elsewhere-run"
expect_stdout "^note: not plotting \(no .*/common/plot/loss.gp\)$"
finish
