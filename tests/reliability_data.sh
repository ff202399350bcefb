#!/bin/sh
# reliability_data.sh - every program that trains on a text file meets bad
# data the same way: one clear line on stderr naming the problem, a non-zero
# exit, no crash, no sanitizer or valgrind report (see lib.sh's
# expect_error). The bad files are built here in a temporary directory,
# plus the hand-made invalid UTF-8 corpus in tests/data/utf8/.
#
# Every program runs under a memory cap (lib.sh's memory_limit): a loader
# that trusted a size and asked for gigabytes must fail this test, not pass
# on a machine that happened to have them.
#
# The same for checkpoints (corrupt or mismatched safetensors files, from a
# hand-made corpus) and for what can go wrong during training (a NaN loss,
# a full disk) is in reliability_checkpoints.sh; SIGINT, SIGTERM and kill
# -9 are in cli_05_gpt.sh.
. "$(dirname "$0")/lib.sh"

# The programs that train on --data, relative to $BIN (after a colon, the
# command that trains: see lib.sh's use_program). A chapter whose program
# loads its text through load_data adds it here.
PROGRAMS="01-bigram/bigram 05-gpt/gpt:train"

# Generous for a program on a small text, far below what a runaway
# allocation asks for.
memory_limit 1024

UTF8_DIR=$(dirname "$0")/data/utf8

text="$TMP/text.txt"
make_fixture_text "$text"
# the first N bytes of the fixture (ASCII, so N characters)
prefix() { head -c "$1" "$text" >"$2"; }

: >"$TMP/empty.txt"
prefix 5 "$TMP/5.txt"       # 4 train tokens, 1 val: short for block 8 in train
prefix 50 "$TMP/50.txt"     # 45 train, 5 val: train is fine, val is short
prefix 200 "$TMP/200.txt"   # 180 train, 20 val: block 19 just fits, 20 does not
printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' >"$TMP/one-char.txt"
printf '\n' >"$TMP/newline.txt"
# the fixture in UTF-16LE without a byte order mark: valid UTF-8 (ASCII and
# NULs), but not a text file
perl -pe 's/(.)/$1\0/gs' "$text" >"$TMP/utf16.txt"
# A 2 GiB file that takes no disk space (sparse, all NUL bytes): more than
# the 1 GiB a program reads (data.h's MAX_TEXT_BYTES), refused by its size.
truncate -s 2G "$TMP/huge.txt"
# 30000 distinct characters (CJK ideographs, 3 UTF-8 bytes each): valid
# text whose vocabulary makes a V x V bigram table of 3.6 GB.
perl -CO -e 'print chr($_) for 0x4E00 .. 0x4E00 + 29999' >"$TMP/wide-vocab.txt"

# data_error PATTERN FILE [OPTION...]: program $P, trained briefly on FILE
# (so a bad file wrongly accepted fails fast) with a block of 8 (the
# patterns below count on it), fails with PATTERN.
data_error() {
    pattern=$1 file=$2
    shift 2
    # shellcheck disable=SC2086 # $CMD is a word or nothing
    expect_error "$pattern" "$P" $CMD --iters 2 --eval-interval 1 --eval-iters 1 --block 8 \
        --out "$TMP/run" --data "$file" "$@"
}

check_data_errors() {
    use_program "$1"
    data_error "cannot open '$TMP/missing.txt': No such file or directory$" "$TMP/missing.txt"
    data_error "'$TMP/empty.txt' is empty$" "$TMP/empty.txt"
    data_error "'/dev/null' is empty$" /dev/null
    data_error "'$TMP' is a directory, not a text file$" "$TMP"
    if [ "$(id -u)" -ne 0 ]; then # root reads any file, so this needs a normal user
        cp "$text" "$TMP/locked.txt" && chmod 000 "$TMP/locked.txt"
        data_error "cannot open '$TMP/locked.txt': Permission denied$" "$TMP/locked.txt"
    fi

    # every file of the corpus, with the offset its index names (read on
    # fd 3, so the programs' stdin stays out of it); under valgrind
    # ($RUNNER), where a run takes seconds, through the first program only,
    # as every program reads its text with the same load_data
    grep -v '^#' "$UTF8_DIR/index" >"$TMP/utf8-cases"
    if [ -n "${RUNNER:-}" ] && [ "$1" != "${PROGRAMS%% *}" ]; then
        : >"$TMP/utf8-cases"
    fi
    while read -r file offset _ <&3; do
        data_error "^[a-z]+: error: $UTF8_DIR/$file: invalid UTF-8 at byte offset $offset \(bytes 0x" \
            "$UTF8_DIR/$file"
    done 3<"$TMP/utf8-cases"

    data_error "the train split has 4 tokens, but a block of 8 needs at least 9" "$TMP/5.txt"
    data_error "the val split has 5 tokens, but a block of 8 needs at least 9" "$TMP/50.txt"
    data_error "the val split has 20 tokens, but a block of 20 needs at least 21" \
        "$TMP/200.txt" --block 20
    # the boundary itself trains
    # shellcheck disable=SC2086
    expect_ok "$P" $CMD --iters 2 --eval-iters 1 --out "$TMP/boundary-$(basename "$P")" \
        --data "$TMP/200.txt" --block 19
    data_error "the text has only 1 distinct character\(s\); a language model needs at least 2" \
        "$TMP/one-char.txt"
    data_error "only 1 distinct character" "$TMP/newline.txt"
    data_error "$TMP/utf16.txt: a NUL character at byte offset 1: not a text file \(UTF-16\?\)$" \
        "$TMP/utf16.txt"

    data_error "'$TMP/huge.txt' is longer than 1073741824 bytes, the most text this program reads$" \
        "$TMP/huge.txt"
    # an endless file, whose size says nothing: read up to the limit, then
    # refused (the cap leaves room for the 1 GiB read by then); not under
    # valgrind, where reading 1 GiB takes minutes (test_common checks the
    # same code with a small limit)
    if [ -z "${RUNNER:-}" ]; then
        memory_limit 3072
        data_error "'/dev/zero' is longer than 1073741824 bytes, the most text this program reads$" \
            /dev/zero
        memory_limit 1024
    fi
    # the bigram's table is V x V: valid text can ask for more than there is
    if [ "$1" = 01-bigram/bigram ]; then
        data_error "out of memory for a bigram model with V=30000" "$TMP/wide-vocab.txt"
    fi
}

# Each *.txt of the corpus is in its index, so none goes untested.
for f in "$UTF8_DIR"/*.txt; do
    if grep -q "^$(basename "$f") " "$UTF8_DIR/index"; then ok; else not_ok "$f is not in $UTF8_DIR/index"; fi
done

for program in $PROGRAMS; do
    check_data_errors "$program"
done
finish
