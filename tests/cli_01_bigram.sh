#!/bin/sh
# cli_01_bigram.sh - the bigram program as a user meets it: --help, a short
# training run with its outputs, and clear errors for bad input.
. "$(dirname "$0")/lib.sh"
P="$BIN/01-bigram/bigram"
text="$TMP/text.txt"
make_fixture_text "$text"

expect_ok "$P" --help
expect_stdout "^usage: 01-bigram/bigram"
expect_stdout "--iters N"

expect_ok "$P" --data "$text" --iters 30 --eval-interval 10 --eval-iters 2 --out "$TMP/run" --sample 50
expect_last_line "^final step=30 train_loss=[0-9]+\.[0-9]{4} val_loss=[0-9]+\.[0-9]{4}$"
expect_stdout "^--- sample \(50 characters\) ---$"
expect_file_starts "$TMP/run/loss.csv" "step,train_loss,val_loss,lr,ms_per_iter,tokens_per_s"
rows=$(wc -l <"$TMP/run/loss.csv")
if [ "$rows" -eq 5 ]; then ok; else not_ok "loss.csv has $rows lines, expected 5 (header + steps 0,10,20,30)"; fi

expect_error "unknown option '--bogus'" "$P" --bogus
expect_error "option '--iters' needs a value" "$P" --iters
expect_error "--iters: 'ten' is not a whole number" "$P" --iters ten
expect_error "--lr: -1 is out of range" "$P" --lr -1
expect_error "cannot open '$TMP/none.txt': No such file" "$P" --data "$TMP/none.txt"
expect_error "is a directory" "$P" --data "$TMP"
finish
