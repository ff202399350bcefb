#!/bin/sh
# cli_05_gpt.sh - the GPT program as a user meets it: train, sample and
# eval on a small fixture; resuming bit for bit, and what a resumed run
# takes from its checkpoint (options, preset, folder); runs that would
# replace another's checkpoints; Ctrl-C, SIGTERM and kill -9 during
# training; and clear errors for bad prompts, options and checkpoints
# (under a memory cap, so a bad file cannot pass by luck).
. "$(dirname "$0")/lib.sh"
P="$BIN/05-gpt/gpt"

# expect_same_run REF DIR WHAT: the last run (into DIR) ended with the line
# REF's run ended with (saved in REF/final), and DIR/loss.csv has REF's
# losses, row for row (the timing columns aside).
expect_same_run() {
    if tail -n1 "$TMP/out" | cmp -s - "$1/final"; then ok; else
        not_ok "$3 ended '$(tail -n1 "$TMP/out")', not '$(cat "$1/final")'"
    fi
    if [ "$(cut -d, -f1-4 "$1/loss.csv")" = "$(cut -d, -f1-4 "$2/loss.csv")" ]; then ok; else
        not_ok "$3: its loss.csv differs from $1/loss.csv"
    fi
}
# wait_for_checkpoint FILE: until a run started in the background has
# written FILE (10 s at most)
wait_for_checkpoint() {
    i=0
    while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
# wait_for_line PATTERN LOG: until a run started in the background has
# written a line matching PATTERN to LOG (20 s at most)
wait_for_line() {
    i=0
    while ! grep -q "$1" "$2" && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
}
text="$TMP/text.txt"
make_fixture_text "$text"
# a small model that trains in about a second
SMALL="--data $text --n-layer 2 --n-head 2 --n-embd 32 --block 16 --batch 4 --warmup 5 --eval-iters 2"

# ---- the commands and their help
expect_ok "$P" --help
expect_stdout "train +train a GPT"
for cmd in train sample eval; do
    expect_ok "$P" $cmd --help
    expect_stdout "^usage: gpt $cmd"
done
expect_error "^gpt: error: no command given" "$P"
expect_error "^gpt: error: unknown command 'fly'" "$P" fly
# chapter 06's program runs the same code: its errors carry its own name
if [ -x "$BIN/06-cuda/gpt-cuda" ]; then
    expect_error "^gpt-cuda: error: unknown command 'fly'" "$BIN/06-cuda/gpt-cuda" fly
    expect_ok "$BIN/06-cuda/gpt-cuda" train --help
    expect_stdout "^usage: gpt-cuda train"
    expect_stdout "unless --out: runs/06-cuda/PRESET"
    expect_error "^gpt-cuda: error: --lr: inf is out of range" "$BIN/06-cuda/gpt-cuda" train --lr inf
fi
# --help wins over what the other options would open or reject
expect_ok "$P" train --resume "$TMP/no-such/last.safetensors" --help
expect_stdout "^usage: gpt train"
expect_ok "$P" train --preset huge -h
expect_stdout "^usage: gpt train"

# ---- train, sample, eval
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --iters 40 --eval-interval 10 --out "$TMP/run"
expect_last_line "^final step=40 train_loss=[0-9]+\.[0-9]{4} val_loss=[0-9]+\.[0-9]{4}$"
cp "$TMP/out" "$TMP/run.log"
expect_stdout "^gpt: speed median_ms_per_iter="
expect_file_starts "$TMP/run/loss.csv" "step,train_loss,val_loss,lr,ms_per_iter,tokens_per_s"
for f in best last; do
    if [ -s "$TMP/run/$f.safetensors" ]; then ok; else not_ok "no $f.safetensors"; fi
done
expect_ok "$P" sample --ckpt "$TMP/run/best.safetensors" --tokens 40 --seed 3
cp "$TMP/out" "$TMP/sample1"
expect_ok "$P" sample --ckpt "$TMP/run/best.safetensors" --tokens 40 --seed 3
if cmp -s "$TMP/out" "$TMP/sample1"; then ok; else not_ok "the same seed sampled different text"; fi
chars=$(tr -d '\n' <"$TMP/sample1" | wc -m)
if [ "$chars" -ge 30 ]; then ok; else not_ok "a 40-character sample has $chars characters"; fi
# --top-k 1 and a temperature near 0 both pick the likeliest character
# every time (greedy: the seed does not matter), unlike plain sampling
expect_ok "$P" sample --ckpt "$TMP/run/best.safetensors" --tokens 40 --seed 3 --top-k 1
cp "$TMP/out" "$TMP/greedy1"
expect_ok "$P" sample --ckpt "$TMP/run/best.safetensors" --tokens 40 --seed 5 --temperature 1e-6
if cmp -s "$TMP/out" "$TMP/greedy1"; then ok; else
    not_ok "--top-k 1 sampled '$(cat "$TMP/greedy1")', --temperature 1e-6 '$(cat "$TMP/out")'"
fi
if ! cmp -s "$TMP/greedy1" "$TMP/sample1"; then ok; else not_ok "--top-k 1 changed nothing"; fi
expect_ok "$P" sample --ckpt "$TMP/run/best.safetensors" --tokens 0
if [ ! -s "$TMP/out" ]; then ok; else not_ok "--tokens 0 printed something"; fi
# a sample that cannot be written (a full disk) is a failure, said once,
# at once (a billion characters are not generated first)
expect_lost_output gpt "$P" sample --ckpt "$TMP/run/best.safetensors" --tokens 1000000000
# a text without a newline: the sample starts from its first character
tr '\n' ' ' <"$text" >"$TMP/one-line.txt"
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --data "$TMP/one-line.txt" --iters 2 --out "$TMP/one-line"
expect_ok "$P" sample --ckpt "$TMP/one-line/best.safetensors" --tokens 20
long=$(printf 'Speak, speak. %.0s' 1 2 3 4 5 6) # 84 characters > block 16: cropped
expect_ok "$P" sample --ckpt "$TMP/run/best.safetensors" --tokens 20 --prompt "$long"
cp "$TMP/out" "$TMP/sample-long"
# ... to its last 16 characters: they alone give the same text
expect_ok "$P" sample --ckpt "$TMP/run/best.safetensors" --tokens 20 \
    --prompt "$(printf '%s' "$long" | tail -c 16)"
if cmp -s "$TMP/out" "$TMP/sample-long"; then ok; else
    not_ok "a long prompt sampled '$(cat "$TMP/sample-long")', its last 16 characters '$(cat "$TMP/out")'"
fi
expect_error "--prompt: character 'Q' at byte offset 3 is not in the vocabulary" \
    "$P" sample --ckpt "$TMP/run/best.safetensors" --prompt "SpeQ"
expect_error "--temperature: 0 is out of range" \
    "$P" sample --ckpt "$TMP/run/best.safetensors" --temperature 0
expect_error "--top-k: -1 is out of range" "$P" sample --ckpt "$TMP/run/best.safetensors" --top-k -1
expect_ok "$P" eval --ckpt "$TMP/run/best.safetensors" --data "$text"
expect_stdout "^eval .*: train_loss=[0-9]+\.[0-9]{4} val_loss=[0-9]+\.[0-9]{4}$"
# eval scores any text written in the checkpoint's characters, fewer of
# them too, and names a character outside them
fewer="$TMP/fewer-chars.txt"
repeat_text "$fewer" 40 'hear me speak.\n'
expect_ok "$P" eval --ckpt "$TMP/run/best.safetensors" --data "$fewer"
expect_stdout "^eval .*: train_loss=[0-9]+\.[0-9]{4} val_loss=[0-9]+\.[0-9]{4}$"
printf 'hear me speak!\n' >"$TMP/unknown-char.txt"
expect_error "unknown-char.txt: character '!' at byte offset 13 is not in the vocabulary" \
    "$P" eval --ckpt "$TMP/run/best.safetensors" --data "$TMP/unknown-char.txt"

# --sample N after training, as chapters 01-04 print it: the text is what
# `gpt sample` writes from the final weights (last.safetensors) after a
# newline with the same seed, so dropout is off and the sampler is the same
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --dropout 0.1 --iters 10 --eval-interval 10 --seed 4 --sample 60 \
    --out "$TMP/sampled"
expect_stdout "^--- sample \(60 characters\) ---$"
expect_last_line "^final step=10 "
sed -n '/^--- sample (60 characters) ---$/,/^---$/p' "$TMP/out" | sed '1d;$d' >"$TMP/trained.sample"
expect_ok "$P" sample --ckpt "$TMP/sampled/last.safetensors" --tokens 60 --seed 4
if cmp -s "$TMP/out" "$TMP/trained.sample"; then ok; else
    not_ok "train --sample wrote '$(cat "$TMP/trained.sample")', gpt sample '$(cat "$TMP/out")'"
fi
# once training is over, Ctrl-C and a reader that quits end the program
# again, in the middle of a long --sample (the checkpoints are saved)
LONG_SAMPLE="--iters 2 --sample 100000000"
# shellcheck disable=SC2086
"$P" train $SMALL $LONG_SAMPLE --out "$TMP/sample-int" >"$TMP/sample-int.log" 2>&1 &
pid=$!
wait_for_line "^--- sample" "$TMP/sample-int.log"
kill -INT $pid
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then
    not_ok "Ctrl-C did not stop the sample after training"
    kill -9 $pid
fi
wait $pid
code=$?
if [ $code -eq 130 ]; then ok; else not_ok "Ctrl-C during the sample: exit $code, expected 130"; fi
# shellcheck disable=SC2086
(
    timeout -k 5 60 "$P" train $SMALL $LONG_SAMPLE --out "$TMP/sample-pipe" 2>&1
    echo $? >"$TMP/sample-pipe.code"
) | sed -n '/^--- sample/q'
code=$(cat "$TMP/sample-pipe.code")
if [ "$code" -eq 141 ]; then ok; else not_ok "the sample's reader quit: exit $code, expected 141"; fi

# best.safetensors keeps the step of its weights: the last "(best)" one
best_step=$(grep '(best)' "$TMP/run.log" | tail -n1 | sed 's/^step *\([0-9]*\):.*/\1/')
if grep -aq "\"step\":\"$best_step\"" "$TMP/run/best.safetensors"; then ok; else
    not_ok "best.safetensors has no step $best_step (its val loss's) in its metadata"
fi
expect_error "--n-embd 30 is not divisible by --n-head 4" "$P" train --n-embd 30 --n-head 4
expect_error "--preset: unknown preset 'huge'" "$P" train --preset huge

# ---- resume: 40 steps straight == 20 steps (of a 40-step schedule) +
# resume to 40, bit for bit, with dropout on (its random stream must
# resume too)
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --dropout 0.1 --iters 40 --eval-interval 10 --out "$TMP/straight"
tail -n1 "$TMP/out" >"$TMP/straight/final"
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --dropout 0.1 --iters 20 --decay-iters 40 --eval-interval 10 \
    --out "$TMP/resumed"
# as if the run had gone on to log step 30 and then failed to save it (a
# full disk, a kill): the resumed run logs step 30 once, its own
echo "30,9.000000,9.000000,0.001,1.0000,1.0" >>"$TMP/resumed/loss.csv"
expect_ok "$P" train --data "$text" --resume "$TMP/resumed/last.safetensors" --iters 40 \
    --out "$TMP/resumed"
expect_stdout "resuming from .* at step 20$"
expect_same_run "$TMP/straight" "$TMP/resumed" "the resumed run"
expect_error "--block 32 does not match the checkpoint's block_size 16" \
    "$P" train --data "$text" --resume "$TMP/resumed/last.safetensors" --block 32
expect_error "cannot resume from .*best.safetensors" \
    "$P" train --data "$text" --resume "$TMP/resumed/best.safetensors"

# ---- what a resumed run takes from its checkpoint. Another 20-step run
# (its --data a relative path) resumed by an abbreviated, repeated option
# (the last one counts, as in every option), from another folder, without
# --out or --data: it continues in its own folder, on its own text, with
# its preset, and still matches the straight run bit for bit
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --data "$(realpath --relative-to=. "$text")" --dropout 0.1 \
    --iters 20 --decay-iters 40 --eval-interval 10 --out "$TMP/half"
cp -r "$TMP/half" "$TMP/half-copy"
if grep -aq '"train.data":"/' "$TMP/half/last.safetensors"; then ok; else
    not_ok "last.safetensors does not hold --data as an absolute path"
fi
program=$(absolute_path "$P")
cd "$TMP" || exit 1
expect_ok "$program" train --resume "$TMP/none.safetensors" --resu "$TMP/half/last.safetensors" \
    --iters 40
cd "$OLDPWD" || exit 1
expect_stdout "resuming from $TMP/half/last.safetensors at step 20$"
expect_stdout "^gpt: preset cpu-small \|"
expect_stdout "\| out $TMP/half$"
expect_same_run "$TMP/straight" "$TMP/half" "resumed without --out"
# a preset is an abbreviation of options too: --pre
expect_ok "$P" train --pre full --help
expect_stdout "--n-layer N +transformer blocks \(default 6\)$"
# the checkpoint fixes the preset; a finished run has nothing left to do
expect_error "^gpt: error: --preset full: '$TMP/half-copy/last.safetensors' was trained with preset cpu-small" \
    "$P" train --data "$text" --resume "$TMP/half-copy/last.safetensors" --preset full
expect_error "^gpt: error: --iters 40: '$TMP/half/last.safetensors' is already at step 40 \(give a larger --iters to train on\)$" \
    "$P" train --data "$text" --resume "$TMP/half/last.safetensors"
expect_error "^gpt: error: --iters 15: '$TMP/half-copy/last.safetensors' is already at step 20 " \
    "$P" train --data "$text" --resume "$TMP/half-copy/last.safetensors" --iters 15
# resumed into another folder, a run keeps a best of its own there, though
# its val loss is worse than that of the run it came from (lr 1 ruins it)
expect_ok "$P" train --data "$text" --resume "$TMP/half-copy/last.safetensors" --iters 22 \
    --lr 1 --min-lr 1 --out "$TMP/branch"
expect_stdout "best val [0-9.]+ -> $TMP/branch/best.safetensors$"
if grep -aq '"step":"22"' "$TMP/branch/best.safetensors"; then ok; else
    not_ok "a run resumed into another folder left no best.safetensors of its own there"
fi

# ---- min_lr is lr / 10 and follows --lr, unless given; a resumed run keeps
# its stored min_lr unless --lr is given anew
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --iters 2 --eval-interval 1 --lr 5e-5 --out "$TMP/lr-follows"
expect_stdout "^gpt: batch 4, lr 5e-05 -> 5e-06 "
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --iters 2 --eval-interval 1 --lr 3e-4 --min-lr 2e-5 --out "$TMP/lr"
expect_stdout "^gpt: batch 4, lr 0.0003 -> 2e-05 "
cp -r "$TMP/lr" "$TMP/lr-copy"
expect_ok "$P" train --data "$text" --resume "$TMP/lr/last.safetensors" --iters 3
expect_stdout "^gpt: batch 4, lr 0.0003 -> 2e-05 "
# ... and its cosine decay, which a longer run outlasts: said once
expect_stdout "^note: the resumed run's cosine decay ends at step 2: the steps after it train at min_lr 2e-05 "
expect_ok "$P" train --data "$text" --resume "$TMP/lr-copy/last.safetensors" --iters 3 --lr 1e-3
expect_stdout "^gpt: batch 4, lr 0.001 -> 0.0001 "

# ---- a run does not replace another run's checkpoints (its step-0
# weights would count as the best): not a fresh run, not a resumed one
# written elsewhere; --overwrite allows it
sums=$(cksum "$TMP/run/best.safetensors" "$TMP/run/last.safetensors")
# shellcheck disable=SC2086
expect_error "^gpt: error: '$TMP/run' already holds a run's checkpoints: continue that run with --resume $TMP/run/last.safetensors, choose another --out, or pass --overwrite to replace them$" \
    "$P" train $SMALL --iters 2 --out "$TMP/run"
expect_error "already holds a run's checkpoints" \
    "$P" train --data "$text" --resume "$TMP/half-copy/last.safetensors" --iters 30 --out "$TMP/run"
if [ "$(cksum "$TMP/run/best.safetensors" "$TMP/run/last.safetensors")" = "$sums" ]; then ok; else
    not_ok "a refused run changed the checkpoints it found"
fi
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --iters 2 --out "$TMP/run" --overwrite
expect_last_line "^final step=2 "
if grep -aq '"step":"2"' "$TMP/run/best.safetensors"; then ok; else
    not_ok "--overwrite left the old best.safetensors"
fi
# nor another program's log: a folder with a loss.csv is taken too, but
# not one with just its header (a run that died before its first row)
mkdir -p "$TMP/bigram-run" "$TMP/died-run"
cp "$TMP/run/loss.csv" "$TMP/bigram-run/loss.csv"
# shellcheck disable=SC2086
expect_error "^gpt: error: '$TMP/bigram-run' already holds another run's files \(loss.csv or best.safetensors\): choose another --out, or pass --overwrite to replace them$" \
    "$P" train $SMALL --iters 2 --out "$TMP/bigram-run"
head -n1 "$TMP/run/loss.csv" >"$TMP/died-run/loss.csv"
# shellcheck disable=SC2086
expect_ok "$P" train $SMALL --iters 2 --out "$TMP/died-run"

# ---- a signal during the first evaluation stops the run at step 0; the
# resumed run does not repeat that evaluation (a second row for step 0, and
# other evaluation batches after it), so it matches a run never stopped.
# The signal is sent once the banner is out (the handler is set before it)
# while the long step-0 evaluation runs. Not under valgrind ($RUNNER), where
# these long evaluations take minutes; the resume above takes the same path.
if [ -z "${RUNNER:-}" ]; then
    EVAL0="--iters 20 --eval-interval 10 --eval-iters 1000" # ~1 s for the signal to land in
    # shellcheck disable=SC2086
    expect_ok "$P" train $SMALL $EVAL0 --out "$TMP/no-stop"
    tail -n1 "$TMP/out" >"$TMP/no-stop/final"
    # shellcheck disable=SC2086
    "$P" train $SMALL $EVAL0 --out "$TMP/stop0" >"$TMP/stop0.log" 2>&1 &
    pid=$!
    wait_for_line "^gpt: data" "$TMP/stop0.log"
    kill -TERM $pid
    wait $pid
    if grep -q "stopped by signal 15 at step 0; saved" "$TMP/stop0.log"; then ok; else
        not_ok "SIGTERM during the step-0 evaluation: $(tail -n2 "$TMP/stop0.log")"
    fi
    expect_ok "$P" train --data "$text" --resume "$TMP/stop0/last.safetensors" --out "$TMP/stop0"
    expect_same_run "$TMP/no-stop" "$TMP/stop0" "resumed from step 0"
fi

# ---- signals: Ctrl-C, SIGTERM, SIGHUP (the terminal closed) and SIGPIPE
# (the reader of the output quit: `gpt train | head`) save a resumable
# last.safetensors and leave best.safetensors as it was
for sig in INT TERM HUP PIPE; do
    out="$TMP/sig$sig"
    # shellcheck disable=SC2086
    "$P" train $SMALL --iters 100000 --eval-interval 100000 --out "$out" >"$out.log" 2>&1 &
    pid=$!
    wait_for_checkpoint "$out/best.safetensors"
    sleep 0.5
    best_before=$(cksum <"$out/best.safetensors")
    if [ $sig = INT ]; then # one run at a time in a folder (here, a resumed one)
        expect_error "^gpt: error: another run is training in '$out' \(one at a time\)$" \
            "$P" train --data "$text" --resume "$out/last.safetensors" --iters 200000
    fi
    kill -$sig $pid
    wait $pid
    code=$?
    expected=130
    [ $sig = TERM ] && expected=143
    [ $sig = HUP ] && expected=129
    [ $sig = PIPE ] && expected=141
    if [ $code -eq $expected ]; then ok; else not_ok "SIG$sig: exit $code, expected $expected"; fi
    if grep -q "stopped by signal .* at step [0-9]*; saved" "$out.log"; then ok; else
        not_ok "SIG$sig: no 'stopped ... saved' line: $(tail -n2 "$out.log")"
    fi
    if [ "$(cksum <"$out/best.safetensors")" = "$best_before" ]; then ok; else
        not_ok "SIG$sig changed best.safetensors"
    fi
    step=$(sed -n 's/.*at step \([0-9]*\); saved.*/\1/p' "$out.log")
    if [ $sig = INT ]; then # a run ends where it was stopped: the evaluation owed there
        cp -r "$out" "$out-ended"
        expect_ok "$P" train --data "$text" --resume "$out-ended/last.safetensors" --iters "$step"
        expect_last_line "^final step=$step "
    fi
    expect_ok "$P" train --data "$text" --resume "$out/last.safetensors" --iters $((step + 2)) \
        --eval-interval 100000 --out "$out"
    expect_stdout "resuming from .* at step $step$"
done
# under nohup (the launcher ignores SIGHUP) the run outlives a hang-up
out="$TMP/nohup"
# shellcheck disable=SC2086
nohup "$P" train $SMALL --iters 100000 --eval-interval 100000 --out "$out" >"$out.log" 2>&1 &
pid=$!
wait_for_checkpoint "$out/best.safetensors"
kill -HUP $pid
sleep 0.5
kill -TERM $pid
wait $pid
# the run went on after SIGHUP: SIGTERM is what stopped it
if grep -q "stopped by signal 15 at step" "$out.log"; then ok; else
    not_ok "a run under nohup did not outlive SIGHUP: $(tail -n1 "$out.log")"
fi

# ---- kill -9 while checkpoints are written every step: whatever moment
# the process dies, last.safetensors is a whole, loadable file. Each run
# starts in an empty folder and dies at a different time after its first
# checkpoint appeared (waited for, so the check cannot be skipped).
out="$TMP/kill9"
for delay in 0 0.05 0.1 0.15 0.2; do
    rm -rf "$out"
    # shellcheck disable=SC2086
    "$P" train $SMALL --iters 100000 --eval-interval 1 --eval-iters 1 --out "$out" \
        >/dev/null 2>&1 &
    pid=$!
    i=0
    while [ ! -e "$out/last.safetensors" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    sleep $delay
    kill -9 $pid
    wait $pid 2>/dev/null
    if [ -e "$out/last.safetensors" ]; then
        expect_ok "$P" sample --ckpt "$out/last.safetensors" --tokens 3
    else
        not_ok "kill -9: no last.safetensors within 10 s"
    fi
done

# ---- bad checkpoints: one clear line naming the problem, never a crash or
# a huge allocation
memory_limit 1024
good="$TMP/run/best.safetensors"
size=$(wc -c <"$good")
head -c $((size / 2)) "$good" >"$TMP/truncated.safetensors"
expect_error "lie outside the|truncated" "$P" sample --ckpt "$TMP/truncated.safetensors"
cp "$text" "$TMP/text.safetensors"
expect_error "not a safetensors file" "$P" sample --ckpt "$TMP/text.safetensors"
printf '\377\377\377\377\377\377\377\177{}' >"$TMP/huge-header.safetensors"
expect_error "header length 9223372036854775807" "$P" sample --ckpt "$TMP/huge-header.safetensors"
# patch bytes of the JSON header in place (offsets found with grep -bo)
patch() { # file, old text, new text of the same length
    at=$(grep -abo "$2" "$1" | head -n1 | cut -d: -f1)
    printf '%s' "$3" | dd of="$1" bs=1 seek="$at" conv=notrunc 2>/dev/null
}
cp "$good" "$TMP/f16.safetensors"
patch "$TMP/f16.safetensors" '"dtype":"F32"' '"dtype":"F16"'
expect_error "offsets span .* but its shape needs" "$P" sample --ckpt "$TMP/f16.safetensors"
cp "$good" "$TMP/q4.safetensors"
patch "$TMP/q4.safetensors" '"dtype":"F32"' '"dtype":"Q4X"'
expect_error "unknown dtype 'Q4X'" "$P" sample --ckpt "$TMP/q4.safetensors"
cp "$good" "$TMP/json.safetensors"
patch "$TMP/json.safetensors" '"shape":\[' '"shape":{'
expect_error "malformed JSON header" "$P" sample --ckpt "$TMP/json.safetensors"
cp "$good" "$TMP/config.safetensors"
patch "$TMP/config.safetensors" '"n_embd":"32"' '"n_embd":"16"'
expect_error "has shape \[[0-9]+, 32\], expected \[[0-9]+, 16\]" \
    "$P" sample --ckpt "$TMP/config.safetensors"
cp "$good" "$TMP/vocab.safetensors"
patch "$TMP/vocab.safetensors" '"vocab_size":"' '"vocab_sizX":"'
expect_error "lacks 'vocab_size'" "$P" sample --ckpt "$TMP/vocab.safetensors"
expect_error "cannot open checkpoint .*: No such file" "$P" sample --ckpt "$TMP/none.safetensors"
expect_error "is not a regular file" "$P" eval --ckpt "$TMP"
memory_limit off
finish
