#!/bin/sh
# cli_04_block.sh - the transformer-block program as a user meets it:
# --help, short runs (with dropout on, too), clear errors.
. "$(dirname "$0")/lib.sh"
P="$BIN/04-block/block"

expect_chapter_program "$P" "04-block/block" --n-layer 2
expect_ok "$P" --help
expect_stdout "--n-layer N .*\(default 3\)"
expect_stdout "--dropout P .*\(default 0\)"
expect_chapter_program "$P" "04-block/block" --dropout 0.2 --n-embd 16 --n-head 2 --n-layer 1
expect_error "--dropout: 1.5 is out of range" "$P" --dropout 1.5
expect_error "--n-layer: 0 is out of range" "$P" --n-layer 0
expect_error "--threads: 0 is out of range" "$P" --threads 0
expect_error "--n-embd 32 is not divisible by --n-head 5" "$P" --n-head 5
expect_error "the val split has [0-9]+ tokens, but a block of 1000 needs" \
    "$P" --data "$TMP/text.txt" --block 1000
finish
