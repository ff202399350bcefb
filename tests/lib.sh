# lib.sh - a tiny test harness for shell tests that run the real programs.
#
# A shell test sources this file, calls the expect_* functions, and ends
# with `finish`, which prints Check's summary line so that run-suites.sh
# adds these checks to the others. Programs are looked up under $BIN (the
# build's binary root, "." by default) and run under $RUNNER if set (e.g.
# valgrind), so the same tests serve the sanitizer and valgrind builds.

BIN=${BIN:-.}
checks=0
failures=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gpt-shell-test-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { checks=$((checks + 1)); }
not_ok() {
    checks=$((checks + 1))
    failures=$((failures + 1))
    echo "$0: FAIL: $*"
}

# memory_limit MB | off: caps the address space of every program that `run`
# starts from now on, so that a loader fed a bad file cannot pass by luck on
# a big machine: a huge allocation fails, the program must say "out of
# memory", and a test expecting another message fails. Plain and valgrind
# builds use `ulimit -v` (valgrind lives inside the limit too). ASan
# reserves terabytes of address space for its shadow memory at start-up,
# so under ASan (ASAN_OPTIONS is set, as `make test-asan` does) the cap is
# ASan's own: any single allocation over MB fails, returning NULL.
MEMORY_LIMIT_MB=off
memory_limit() { MEMORY_LIMIT_MB=$1; }

# ASan prints this warning when it makes malloc return NULL as asked above;
# it is not an error, and it must not count as a second line on stderr.
ASAN_ALLOC_WARNING='^==[0-9]+==WARNING: AddressSanitizer failed to allocate 0x[0-9a-f]+ bytes$'

# run CMD...: runs a program with $RUNNER and the memory limit, capturing
# stdout, stderr and the exit status in $TMP/out, $TMP/err and $rc.
run() {
    if [ "$MEMORY_LIMIT_MB" = off ]; then
        # shellcheck disable=SC2086
        ${RUNNER:-} "$@" >"$TMP/out" 2>"$TMP/err"
    elif [ -n "${ASAN_OPTIONS:-}" ]; then
        # shellcheck disable=SC2086
        ASAN_OPTIONS="$ASAN_OPTIONS:allocator_may_return_null=1:max_allocation_size_mb=$MEMORY_LIMIT_MB" \
            ${RUNNER:-} "$@" >"$TMP/out" 2>"$TMP/err"
    else
        # shellcheck disable=SC2086,SC3045 # dash and bash both have ulimit -v
        (ulimit -v $((MEMORY_LIMIT_MB * 1024)) && exec ${RUNNER:-} "$@") >"$TMP/out" 2>"$TMP/err"
    fi
    rc=$?
    if [ -n "${ASAN_OPTIONS:-}" ]; then
        grep -Ev "$ASAN_ALLOC_WARNING" "$TMP/err" >"$TMP/err.kept"
        mv "$TMP/err.kept" "$TMP/err"
    fi
}

# expect_error PATTERN CMD...: CMD must fail cleanly: a non-zero exit that is
# not a crash (signal or sanitizer), and stderr exactly one line matching the
# extended regex PATTERN.
expect_error() {
    pattern=$1
    shift
    run "$@"
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -eq 0 ]; then
        not_ok "'$*' exited 0; expected an error matching /$pattern/"
    elif [ "$rc" -ge 124 ]; then
        not_ok "'$*' crashed or timed out (exit $rc): $(head -c 400 "$TMP/err")"
    elif [ "$lines" -ne 1 ]; then
        not_ok "'$*' printed $lines lines on stderr, expected 1: $(head -c 400 "$TMP/err")"
    elif ! grep -Eq -e "$pattern" "$TMP/err"; then
        not_ok "'$*' said '$(cat "$TMP/err")', expected /$pattern/"
    else
        ok
    fi
}

# expect_ok CMD...: CMD must exit 0.
expect_ok() {
    run "$@"
    if [ "$rc" -ne 0 ]; then
        not_ok "'$*' exited $rc: $(tail -c 400 "$TMP/err")"
    else
        ok
    fi
}

# expect_lost_output NAME CMD...: CMD with its stdout on a full disk
# (/dev/full) must exit 1 with NAME's error line saying the output could
# not be written: output lost is not a success.
expect_lost_output() {
    name=$1
    shift
    # shellcheck disable=SC2086
    ${RUNNER:-} "$@" >/dev/full 2>"$TMP/err"
    code=$?
    if [ $code -eq 1 ] &&
        grep -q "^$name: error: could not write the output: No space left on device$" "$TMP/err"; then
        ok
    else
        not_ok "'$*' with stdout on a full disk: exit $code, '$(cat "$TMP/err")'"
    fi
}

# expect_stdout PATTERN: the last run's stdout matches the regex.
expect_stdout() {
    if grep -Eq -e "$1" "$TMP/out"; then ok; else not_ok "stdout lacks /$1/: $(tail -c 300 "$TMP/out")"; fi
}

# expect_last_line PATTERN: the last line of the last run's stdout matches.
expect_last_line() {
    if tail -n1 "$TMP/out" | grep -Eq -e "$1"; then
        ok
    else
        not_ok "last line '$(tail -n1 "$TMP/out")' does not match /$1/"
    fi
}

# expect_file_starts PATH TEXT: the file exists and its first line is TEXT.
expect_file_starts() {
    if [ -f "$1" ] && [ "$(head -n1 "$1")" = "$2" ]; then ok; else not_ok "$1 does not start with '$2'"; fi
}

# expect_chapter_program PROGRAM USAGE [OPTION...]: what every chapter's
# program must do: --help prints the usage; a short run on a fixture (with
# the extra OPTIONs) ends with the `final step=...` line, prints a sample,
# and writes loss.csv with its header and one row per evaluation; a few bad
# options are one clear error line each.
expect_chapter_program() {
    program=$1 usage=$2
    shift 2
    text="$TMP/text.txt"
    [ -f "$text" ] || make_fixture_text "$text"
    expect_ok "$program" --help
    expect_stdout "^usage: $usage"
    expect_stdout "--iters N"
    rm -rf "$TMP/run"
    expect_ok "$program" --data "$text" --iters 30 --eval-interval 10 --eval-iters 2 \
        --out "$TMP/run" --sample 50 "$@"
    expect_last_line "^final step=30 train_loss=[0-9]+\.[0-9]{4} val_loss=[0-9]+\.[0-9]{4}$"
    expect_stdout "^--- sample \(50 characters\) ---$"
    expect_file_starts "$TMP/run/loss.csv" "step,train_loss,val_loss,lr,ms_per_iter,tokens_per_s"
    rows=$(wc -l <"$TMP/run/loss.csv")
    if [ "$rows" -eq 5 ]; then ok; else not_ok "loss.csv has $rows lines, expected 5 (header + steps 0,10,20,30)"; fi
    expect_error "unknown option '--bogus'" "$program" --bogus
    expect_error "option '--iters' needs a value" "$program" --iters
    expect_error "--iters: 'ten' is not a whole number" "$program" --iters ten
    expect_error "--lr: -1 is out of range" "$program" --lr -1
}

finish() {
    passed=$((checks - failures))
    pct=0
    [ "$checks" -gt 0 ] && pct=$((100 * passed / checks))
    echo "$pct%: Checks: $checks, Failures: $failures, Errors: 0"
    [ "$failures" -eq 0 ]
}

# repeat_text FILE N TEXT: FILE holds TEXT (with printf's \n escapes) N times.
repeat_text() {
    i=0
    : >"$1"
    while [ "$i" -lt "$2" ]; do
        printf '%b' "$3" >>"$1"
        i=$((i + 1))
    done
}

# absolute_path FILE: FILE's path from /, to run it from another folder.
absolute_path() {
    echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
}

# A small Shakespeare-like fixture text (no network, no data/ needed).
make_fixture_text() {
    repeat_text "$1" 60 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n'
}

# use_program PATH[:COMMAND]: sets P to $BIN/PATH and CMD to COMMAND (empty
# if none), for a PROGRAMS list whose programs train with a command (gpt
# train). Call them as: "$P" $CMD OPTION...
# shellcheck disable=SC2034 # P and CMD are for the test that calls this
use_program() {
    P="$BIN/${1%%:*}"
    CMD=""
    case $1 in *:*) CMD=${1#*:} ;; esac
}
