#!/bin/sh
# cli_run_suites.sh - the test runner itself: `make test` must fail when a
# check fails, when a suite crashes or hangs, and when no check ran at all;
# a deliberate skip (exit 77 + "SKIP:") passes unless REQUIRE_GPU=1.
. "$(dirname "$0")/lib.sh"
R="$(dirname "$0")/run-suites.sh"

# fake suites: shell scripts that print what a Check binary would
fake() { # name, body
    printf '%s\n' "$2" >"$TMP/$1.sh"
}
fake pass 'echo "100%: Checks: 3, Failures: 0, Errors: 0"'
fake fail 'echo "66%: Checks: 3, Failures: 1, Errors: 0"; exit 1'
fake error 'echo "66%: Checks: 3, Failures: 0, Errors: 1"; exit 1'
fake empty 'echo "100%: Checks: 0, Failures: 0, Errors: 0"'
fake crash 'echo "Running suite(s): x"; kill -SEGV $$'
fake silent_exit 'echo "100%: Checks: 3, Failures: 0, Errors: 0"; exit 99'
fake skip 'echo "SKIP: no CUDA device"; exit 77'
fake hang 'sleep 30'

expect_runner() { # expected exit (0 or 1), suites...
    want=$1
    shift
    run env SUITE_TIMEOUT=2 "$R" "$@"
    if { [ "$want" -eq 0 ] && [ "$rc" -eq 0 ]; } || { [ "$want" -ne 0 ] && [ "$rc" -ne 0 ]; }; then
        ok
    else
        not_ok "run-suites.sh $* exited $rc, expected $( [ "$want" -eq 0 ] && echo 0 || echo non-zero)"
    fi
}

expect_runner 0 "$TMP/pass.sh"
expect_stdout "^TOTAL: Checks: 3, Failures: 0, Errors: 0"
expect_runner 1 "$TMP/pass.sh" "$TMP/fail.sh"
expect_stdout "^TOTAL: Checks: 6, Failures: 1"
expect_runner 1 "$TMP/error.sh"
expect_runner 1 "$TMP/empty.sh"
expect_stdout "FAILED: no check ran"
expect_runner 1 "$TMP/pass.sh" "$TMP/crash.sh"
expect_runner 1 "$TMP/silent_exit.sh"
expect_runner 1 "$TMP/pass.sh" "$TMP/hang.sh"
expect_stdout "124 means it timed out"
expect_runner 0 "$TMP/pass.sh" "$TMP/skip.sh"
expect_stdout "Skipped suites: 1"
expect_runner 0 "$TMP/skip.sh"
expect_stdout "SKIPPED: every suite was skipped"
run env REQUIRE_GPU=1 "$R" "$TMP/pass.sh" "$TMP/skip.sh"
if [ "$rc" -ne 0 ]; then ok; else not_ok "REQUIRE_GPU=1 accepted a skipped suite"; fi
# the suites' scratch files go into a folder of the run's, gone after it
fake scratch 'mktemp -d >"$OUTSIDE/made"; echo "100%: Checks: 1, Failures: 0, Errors: 0"'
mkdir "$TMP/runs"
run env TMPDIR="$TMP/runs" OUTSIDE="$TMP" "$R" "$TMP/scratch.sh"
case $(cat "$TMP/made") in
"$TMP"/runs/gpt-tests-*/*) ok ;;
*) not_ok "a suite's mktemp made '$(cat "$TMP/made")', not a folder of the run's" ;;
esac
if [ -z "$(ls -A "$TMP/runs")" ]; then ok; else not_ok "the run left $(ls "$TMP/runs") behind"; fi
finish
