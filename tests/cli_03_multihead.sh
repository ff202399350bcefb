#!/bin/sh
# cli_03_multihead.sh - the multi-head program as a user meets it: --help,
# short runs with and without the feed-forward network (and proof that
# --no-ffn and --n-head reach the model), clear errors.
. "$(dirname "$0")/lib.sh"
P="$BIN/03-multihead/multihead"

expect_chapter_program "$P" "03-multihead/multihead" --n-embd 16 --n-head 2
expect_chapter_program "$P" "03-multihead/multihead" --no-ffn

# The options reach the model. Its size comes first in the output: with the
# fixture's 30 characters and n_embd 32, wte (30x32), wpe (8x32), c_attn
# (96x32), c_proj (32x32 + 32) and lm_head (30x32 + 30) make 6,334
# parameters, and the feed-forward network's c_fc (128x32 + 128) and c_proj
# (32x128 + 32) add 8,352.
SHORT="--data $TMP/text.txt --iters 30 --eval-interval 10 --eval-iters 2 --out $TMP/run"
# shellcheck disable=SC2086
expect_ok "$P" $SHORT
expect_stdout " 14686 parameters$"
cp "$TMP/out" "$TMP/four_heads"
# shellcheck disable=SC2086
expect_ok "$P" $SHORT --no-ffn
expect_stdout " 6334 parameters$"
# Heads cost no parameters, but two heads of 16 learn otherwise than four of 8.
# shellcheck disable=SC2086
expect_ok "$P" $SHORT --n-head 2
expect_stdout " 14686 parameters$"
if [ "$(tail -n1 "$TMP/out")" != "$(tail -n1 "$TMP/four_heads")" ]; then
    ok
else
    not_ok "--n-head 2 trained to the same losses as 4 heads: $(tail -n1 "$TMP/out")"
fi

expect_ok "$P" --help
expect_stdout "--no-ffn"
expect_stdout "--n-head N .*\(default 4\)"
expect_error "--n-embd 30 is not divisible by --n-head 4" "$P" --n-embd 30
expect_error "--n-head: 'four' is not a whole number" "$P" --n-head four
expect_error "unknown option '--n-layer'" "$P" --n-layer 2
finish
