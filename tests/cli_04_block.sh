#!/bin/sh
# cli_04_block.sh - the transformer-block program as a user meets it:
# --help, short runs (with dropout on, too, and proof that --n-layer and
# --dropout reach the model), clear errors.
. "$(dirname "$0")/lib.sh"
P="$BIN/04-block/block"

expect_chapter_program "$P" "04-block/block" --n-layer 2
expect_ok "$P" --help
expect_stdout "--n-layer N .*\(default 3\)"
expect_stdout "--dropout P .*\(default 0\)"
expect_chapter_program "$P" "04-block/block" --dropout 0.2 --n-embd 16 --n-head 2 --n-layer 1

# The options reach the model. Its size comes first in the output: with the
# fixture's 30 characters and n_embd 32, wte (30x32), wpe (8x32), ln_f
# (2x32) and lm_head (30x32 + 30) make 2,270 parameters, and each block
# 12,704: ln_1 and ln_2 (2x32 each), c_attn (96x32 + 96), attn.c_proj
# (32x32 + 32), c_fc (128x32 + 128), mlp.c_proj (32x128 + 32).
SHORT="--data $TMP/text.txt --iters 30 --eval-interval 10 --eval-iters 2 --out $TMP/run"
# shellcheck disable=SC2086
expect_ok "$P" $SHORT --n-layer 1
expect_stdout " 14974 parameters$"
# shellcheck disable=SC2086
expect_ok "$P" $SHORT
expect_stdout " 40382 parameters$" # three blocks by default
cp "$TMP/out" "$TMP/no_dropout"
# Dropout draws its masks from a stream of its own: the same seed, the same
# batches, and only the dropped activations make the losses differ.
# shellcheck disable=SC2086
expect_ok "$P" $SHORT --dropout 0.2
if [ "$(tail -n1 "$TMP/out")" != "$(tail -n1 "$TMP/no_dropout")" ]; then
    ok
else
    not_ok "--dropout 0.2 trained to the same losses as no dropout: $(tail -n1 "$TMP/out")"
fi
expect_error "--dropout: 1.5 is out of range" "$P" --dropout 1.5
expect_error "--n-layer: 0 is out of range" "$P" --n-layer 0
expect_error "--threads: 0 is out of range" "$P" --threads 0
expect_error "--n-embd 32 is not divisible by --n-head 5" "$P" --n-head 5
expect_error "the val split has [0-9]+ tokens, but a block of 1000 needs" \
    "$P" --data "$TMP/text.txt" --block 1000
finish
