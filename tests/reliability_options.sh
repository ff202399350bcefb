#!/bin/sh
# reliability_options.sh - every program meets a bad command line the same
# way: one clear line on stderr naming the option and what is wrong with
# it, a non-zero exit, no crash (see lib.sh's expect_error). A wrong value
# is never replaced by a default in silence.
#
# The GPT's own options (the model's shape, dropout, the schedule, presets,
# --resume and a block larger than its checkpoint's) are checked here too;
# its sampling options (--tokens 0, --temperature 0, --top-k -1, a --prompt
# with characters outside the vocabulary, a prompt longer than the block)
# are in cli_05_gpt.sh.
. "$(dirname "$0")/lib.sh"

# The programs that take the shared training options, relative to $BIN
# (after a colon, the command that trains: see lib.sh's use_program).
PROGRAMS="01-bigram/bigram 05-gpt/gpt:train"

text="$TMP/text.txt"
make_fixture_text "$text"
# 20 fixtures: long enough for a block of 8000 in both splits
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do cat "$text"; done >"$TMP/long.txt"

# OPTIONS|MESSAGE: bad options, and the error (an extended regex) they give.
cat >"$TMP/cases" <<'EOF'
--bogus|unknown option '--bogus' \(see --help\)$
--bogus=3|unknown option '--bogus' \(see --help\)$
-x|unknown option '-x'
-qx|unknown option '-q'
--eval 3|option '--eval' is ambiguous \(--eval-interval, --eval-iters\)$
--help=yes|option '--help' takes no value$
extra|unexpected argument 'extra'
--iters|option '--iters' needs a value$
--data|option '--data' needs a value$
--iters=|--iters: '' is not a whole number$
--out=|--out: the value is empty$
--iters ten|--iters: 'ten' is not a whole number$
--iters 1e3|--iters: '1e3' is not a whole number$
--batch 12abc|--batch: '12abc' is not a whole number$
--block 8.5|--block: '8.5' is not a whole number$
--seed 0x10|--seed: '0x10' is not a whole number$
--lr fast|--lr: 'fast' is not a number$
--lr nan|--lr: 'nan' is not a number$
--lr 1e-3x|--lr: '1e-3x' is not a number$
--iters 0|--iters: 0 is out of range \(1 to 1000000000\)$
--iters -5|--iters: -5 is out of range
--batch 0|--batch: 0 is out of range \(1 to 65536\)$
--batch -1|--batch: -1 is out of range
--block 0|--block: 0 is out of range
--lr 0|--lr: 0 is out of range \(1e-12 to 10\)$
--lr -1|--lr: -1 is out of range
--eval-interval 0|--eval-interval: 0 is out of range
--eval-iters 0|--eval-iters: 0 is out of range
--seed -1|--seed: -1 is out of range
--sample -1|--sample: -1 is out of range
--iters 99999999999999999999|--iters: 99999999999999999999 is out of range
--iters -99999999999999999999|--iters: -99999999999999999999 is out of range
--seed 99999999999999999999|--seed: 99999999999999999999 is out of range
--seed 9007199254740992|--seed: 9007199254740992 is out of range \(0 to 9007199254740991\)$
--seed 9223372036854775808|--seed: 9223372036854775808 is out of range \(0 to 9007199254740991\)$
--batch 4294967297|--batch: 4294967297 is out of range
--block 2147483648|--block: 2147483648 is out of range
--batch 65537|--batch: 65537 is out of range
--lr 1e999|--lr: 1e999 is out of range
--lr inf|--lr: inf is out of range
EOF

# option_error PATTERN OPTION...: program $P, given a valid, quick command
# line and then OPTION..., fails with PATTERN. The bad option comes last, so
# a value wrongly accepted would override the valid one and still show.
option_error() {
    pattern=$1
    shift
    # shellcheck disable=SC2086 # $CMD is a word or nothing
    expect_error "$pattern" "$P" $CMD --data "$text" --iters 2 --eval-interval 1 --eval-iters 1 \
        --out "$TMP/run" "$@"
}

check_option_errors() {
    use_program "$1"
    # under valgrind ($RUNNER), where a run takes seconds, the shared cases
    # go through the first program only: every program parses them with the
    # same cli_parse
    if [ -n "${RUNNER:-}" ] && [ "$1" != "${PROGRAMS%% *}" ]; then
        : >"$TMP/cases"
    fi
    while IFS='|' read -r line message <&3; do
        # shellcheck disable=SC2086 # the words of $line are the options
        option_error "^[a-z]+: error: $message" $line
    done 3<"$TMP/cases"
    option_error "'/dev/null' exists and is not a directory" --out /dev/null/run
    # an option of a later chapter is unknown to an earlier one
    if [ "$1" = 01-bigram/bigram ]; then
        option_error "unknown option '--n-embd'" --n-embd 32
    fi
    if [ "$1" = 05-gpt/gpt:train ]; then
        check_gpt_option_errors
    fi
    # valid values in themselves whose product asks for far more memory
    # than there is: the model's logits for 65536 x 8000 tokens
    memory_limit 1024
    option_error "^[a-z]+: error: out of memory" --data "$TMP/long.txt" --batch 65536 --block 8000
    memory_limit off
    # --help wins over everything and exits 0
    # shellcheck disable=SC2086
    expect_ok "$P" $CMD --help --iters 0
}

# The options only the GPT takes: the model's shape, dropout, the schedule.
check_gpt_option_errors() {
    option_error "^gpt: error: --n-embd 30 is not divisible by --n-head 4$" --n-embd 30 --n-head 4
    option_error "^gpt: error: --n-embd: 0 is out of range \(1 to 65536\)$" --n-embd 0
    option_error "^gpt: error: --n-head: -2 is out of range" --n-head -2
    option_error "^gpt: error: --n-layer: 0 is out of range \(1 to 1024\)$" --n-layer 0
    option_error "^gpt: error: --n-layer: 99999 is out of range" --n-layer 99999
    option_error "^gpt: error: --n-embd: 'wide' is not a whole number$" --n-embd wide
    option_error "^gpt: error: --dropout: 1 is out of range \(0 to 0.95\)$" --dropout 1
    option_error "^gpt: error: --dropout: -0.1 is out of range" --dropout -0.1
    option_error "^gpt: error: --warmup: -1 is out of range" --warmup -1
    option_error "^gpt: error: --min-lr 0.5 is larger than --lr 0.1$" --lr 0.1 --min-lr 0.5
    option_error "^gpt: error: --preset: unknown preset 'huge' \(cpu-small, seed000 or full\)$" \
        --preset huge
    # read as the parse reads it: abbreviated, and the last of two counts
    option_error "^gpt: error: --preset: unknown preset 'huge'" --pre huge
    option_error "^gpt: error: --preset: unknown preset 'huge'" --preset full --preset huge
    option_error "^gpt: error: option '--overwrite' takes no value$" --overwrite=yes
    option_error "^gpt: error: option '--resume' needs a value$" --resume
    option_error "^gpt: error: option '--threads' needs a value$" --threads
    option_error "^gpt: error: --threads: 0 is out of range" --threads 0
    # a block larger than the checkpoint's, when resuming
    expect_ok "$P" train --data "$text" --n-layer 1 --n-head 2 --n-embd 8 --block 8 --batch 2 \
        --iters 1 --eval-iters 1 --out "$TMP/ckpt"
    option_error "^gpt: error: --block 16 does not match the checkpoint's block_size 8$" \
        --resume "$TMP/ckpt/last.safetensors" --block 16
    option_error "^gpt: error: --n-layer/--n-head/--n-embd 2/2/8 do not match the checkpoint's 1/2/8$" \
        --resume "$TMP/ckpt/last.safetensors" --n-layer 2
}

for program in $PROGRAMS; do
    check_option_errors "$program"
done
finish
