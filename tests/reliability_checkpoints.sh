#!/bin/sh
# reliability_checkpoints.sh - the GPT program meets a bad checkpoint the
# way every program meets bad data: one line on stderr that names the file
# and the problem, a non-zero exit, no crash, no sanitizer or valgrind
# report (lib.sh's expect_error), and never a huge allocation: everything
# runs under a memory cap, so a loader that believed a size in the file and
# asked for gigabytes says "out of memory" and fails the pattern.
#
# The files are the hand-made corpus of tests/data/checkpoints/ (see its
# index and tests/make_bad_checkpoints.py), each fed to the three commands
# that read a checkpoint: gpt sample, gpt eval and gpt train --resume.
#
# Then what can go wrong while training writes checkpoints: a NaN loss, and
# a full disk. A NaN loss stops training with a message and writes nothing.
# A full disk is made without root or a test-only hook: `ulimit -f` caps the
# size of any file the program writes, and with SIGXFSZ ignored (an ignored
# signal stays ignored across exec) a write past the cap fails with EFBIG,
# "File too large", exactly where a full disk fails with ENOSPC. The error
# must be reported and the previous checkpoints must survive, whole. (The
# checkpoint writer meets the same failure in-process in test_common.c's
# test_checkpoint_write_fault_keeps_old_file, through setrlimit; signals and
# kill -9 are in cli_05_gpt.sh.)
. "$(dirname "$0")/lib.sh"
P="$BIN/05-gpt/gpt"
DIR=$(dirname "$0")/data/checkpoints
text="$DIR/train.txt"
memory_limit 1024

# ---- the corpus: every file has its line in the index
for f in "$DIR"/*.safetensors; do
    if grep -q "^$(basename "$f")|" "$DIR/index"; then ok; else not_ok "$f is not in $DIR/index"; fi
done

# Each line: FILE|COMMANDS|PATTERN|WHAT. Every command reads FILE; resume
# trains 2 more steps (good-last is at step 2) into a scratch directory of
# its own (without --out it would write beside FILE).
# Under valgrind ($RUNNER), where each run takes seconds, a line tries only
# its first command: all three open the file with the same gpt_open.
grep -v '^#' "$DIR/index" >"$TMP/cases"
while IFS='|' read -r file commands expected _ <&3; do
    ckpt="$DIR/$file"
    [ -n "${RUNNER:-}" ] && commands=${commands%%,*}
    for cmd in $(echo "$commands" | tr ',' ' '); do
        case $cmd in
        sample) set -- "$P" sample --ckpt "$ckpt" --tokens 3 ;;
        eval) set -- "$P" eval --ckpt "$ckpt" --data "$text" ;;
        resume) set -- "$P" train --data "$text" --resume "$ckpt" --iters 4 \
            --out "$TMP/resumed-${file%.safetensors}" ;;
        *) not_ok "$DIR/index: unknown command '$cmd' for $file" && continue ;;
        esac
        if [ "$expected" = OK ]; then
            expect_ok "$@"
        else
            # the one line names the file, then the problem
            expect_error "^gpt: error: [^']*'$ckpt'.*$expected" "$@"
        fi
    done
done 3<"$TMP/cases"
memory_limit off

# ---- a NaN loss: resuming from weights with a NaN stops at the first step,
# says why, and leaves both checkpoints as they were
out="$TMP/nan"
mkdir -p "$out"
cp "$DIR/nan-weights.safetensors" "$out/last.safetensors"
cp "$DIR/good-best.safetensors" "$out/best.safetensors"
sums=$(cksum "$out/last.safetensors" "$out/best.safetensors")
expect_error "^gpt: error: the training loss became NaN at step 2; training stopped \(the last checkpoint is kept\)$" \
    "$P" train --data "$text" --resume "$out/last.safetensors" --iters 4 --out "$out"
if [ "$(cksum "$out/last.safetensors" "$out/best.safetensors")" = "$sums" ]; then ok; else
    not_ok "a NaN loss changed the checkpoints"
fi

# ---- a full disk: train a model whose checkpoints are ~100 kB, then resume
# it with files capped below that size
out="$TMP/full"
fixture="$TMP/text.txt"
make_fixture_text "$fixture"
expect_ok "$P" train --data "$fixture" --n-layer 2 --n-head 2 --n-embd 32 --block 16 --batch 4 \
    --iters 4 --eval-interval 2 --eval-iters 1 --out "$out"
sums=$(cksum "$out/last.safetensors" "$out/best.safetensors")
# 64 blocks: 32 kB (dash counts 512-byte blocks) or 64 kB (bash, 1024):
# far above the log lines on stdout, far below a checkpoint
FILE_CAP_BLOCKS=64
full_disk() {
    (trap '' XFSZ && ulimit -f $FILE_CAP_BLOCKS && exec ${RUNNER:-} "$@") >"$TMP/out" 2>"$TMP/err"
    rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ] || [ "$lines" -ne 1 ]; then
        not_ok "with files capped, '$*' exited $rc with: $(head -c 400 "$TMP/err")"
    elif grep -Eq "^gpt: error: could not save '$out/(best|last).safetensors': File too large \(the previous file, if any, is kept\)$" "$TMP/err"; then
        ok
    else
        not_ok "with files capped: '$(cat "$TMP/err")'"
    fi
}
full_disk "$P" train --data "$fixture" --resume "$out/last.safetensors" \
    --iters 8 --out "$out"
if [ "$(cksum "$out/last.safetensors" "$out/best.safetensors")" = "$sums" ]; then ok; else
    not_ok "a failed save changed the previous checkpoints"
fi
for f in "$out"/*.tmp.*; do
    if [ -e "$f" ]; then not_ok "a failed save left a temporary file: $f"; else ok; fi
done
# the survivor is whole: training resumes from it once there is room again
expect_ok "$P" train --data "$fixture" --resume "$out/last.safetensors" \
    --iters 6 --out "$out"
expect_stdout "resuming from .* at step 4$"
finish
