#!/bin/sh
# cli_01_bigram.sh - the bigram program as a user meets it: --help, a short
# training run with its outputs, and clear errors for bad input.
. "$(dirname "$0")/lib.sh"
P="$BIN/01-bigram/bigram"

expect_chapter_program "$P" "01-bigram/bigram"
expect_error "cannot open '$TMP/none.txt': No such file" "$P" --data "$TMP/none.txt"
expect_error "is a directory" "$P" --data "$TMP"
# the default texts are looked for from the current folder: elsewhere the
# error says where to run from
program=$(absolute_path "$P")
mkdir -p "$TMP/elsewhere/deeper"
cd "$TMP/elsewhere/deeper" || exit 1
expect_error "^bigram: error: no training text: .* exists \(paths from the current folder: run \`make data\` and bigram from the repository's top folder, or pass --data PATH\)$" \
    "$program"
cd "$OLDPWD" || exit 1

# ---- what stops the plot, each said in its own note (training goes on).
# The program finds the plot script at ../common/plot/ from itself: a copy
# in a tree that has one, and a copy alone (whatever build this is).
SHORT="--data $TMP/text.txt --iters 5 --eval-interval 5 --eval-iters 1"
mkdir -p "$TMP/tree/01-bigram" "$TMP/tree/common/plot" "$TMP/alone"
cp "$P" "$TMP/tree/01-bigram/bigram" && cp common/plot/loss.gp "$TMP/tree/common/plot/"
cp "$P" "$TMP/alone/bigram"
# shellcheck disable=SC2086
expect_ok "$TMP/tree/01-bigram/bigram" $SHORT --out "$TMP/it's"
expect_stdout "^note: not plotting \(the output path .*/it's has a single quote"
# shellcheck disable=SC2086
expect_ok "$TMP/alone/bigram" $SHORT --out "$TMP/alone-run"
expect_stdout "^note: not plotting \(no .*/common/plot/loss.gp\)$"
# without gnuplot: said so, and an older run's plot is not left beside the
# new log as if it were this one's
mkdir -p "$TMP/no-gnuplot" "$TMP/empty-path"
echo "an old plot" >"$TMP/no-gnuplot/loss.png"
# shellcheck disable=SC2086
expect_ok env PATH="$TMP/empty-path" "$TMP/tree/01-bigram/bigram" $SHORT --out "$TMP/no-gnuplot"
expect_stdout "^note: not plotting \(gnuplot is not installed: \`make deps\`\)$"
if [ ! -e "$TMP/no-gnuplot/loss.png" ]; then ok; else not_ok "a stale loss.png was left"; fi

# ---- output that cannot be written is an error, not a success: the loss
# log (the only record chapters 01-04 keep) and stdout, on a full disk
mkdir -p "$TMP/full"
ln -s /dev/full "$TMP/full/loss.csv"
# shellcheck disable=SC2086
expect_error "^bigram: error: cannot write the loss log '$TMP/full/loss.csv': No space left on device$" \
    "$P" $SHORT --out "$TMP/full"
# shellcheck disable=SC2086
expect_lost_output bigram "$P" $SHORT --out "$TMP/to-full"
# ... and a sample after training stops at the first character not written
# shellcheck disable=SC2086
expect_lost_output bigram "$P" $SHORT --sample 1000000000 --out "$TMP/to-full-sample"
finish
