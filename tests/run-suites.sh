#!/bin/sh
# run-suites.sh - run test suites and add up their results.
#
#   tests/run-suites.sh SUITE...
#
# A suite is a Check binary or a shell test (tests/*.sh) that prints Check's
# summary line "NN%: Checks: N, Failures: F, Errors: E". Each suite runs
# under `timeout`. A suite that exits 77 after printing "SKIP: reason" is
# skipped (a failure when REQUIRE_GPU=1). Anything else that is not a clean
# summary with exit 0 counts as an error: a crash, a timeout, a valgrind or
# sanitizer report. The run fails if any check failed or if no check ran,
# unless every suite asked was skipped on purpose (`make test-06` on a
# machine without a GPU: nothing to run there is not a silent failure).
#
# Environment: SUITE_TIMEOUT (seconds per suite, default 600), RUNNER (a
# command to run each Check binary under, e.g. valgrind), REQUIRE_GPU.
set -u
timeout_s=${SUITE_TIMEOUT:-600}
# Check's per-test timeout (4 s by default) is a hang detector, not a speed
# target: give slow or busy machines room (sanitizer runs multiply it).
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-60}
# An OpenMP thread with no work spins for a while before it sleeps. On a
# machine busy with other work the spinning threads take the cores the
# working ones need: measured with two other trainings running, chapter 05's
# model tests took 35 s, and 3.4 s with waiting threads asleep at once.
# Results do not depend on it (nor on the thread count).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
checks=0 failures=0 errors=0 skipped=0 broken=0
# The suites' scratch files (test_tmpdir() in testutil.c, $TMP in lib.sh)
# go into one folder of this run's, removed at its end, crash or not.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gpt-tests-XXXXXX")
export TMPDIR="$scratch"
trap 'rm -rf "$scratch"' EXIT
log=$(mktemp)

for suite in "$@"; do
    name=$(basename "$suite")
    start=$(date +%s)
    case "$suite" in
    *.sh) timeout "$timeout_s" sh "$suite" >"$log" 2>&1 ;;
    *) timeout "$timeout_s" ${RUNNER:-} "$suite" >"$log" 2>&1 ;;
    esac
    rc=$?
    took="$(($(date +%s) - start)) s"
    if [ "$rc" -eq 77 ] && grep -q '^SKIP:' "$log"; then
        reason=$(grep -m1 '^SKIP:' "$log")
        if [ "${REQUIRE_GPU:-0}" = 1 ]; then
            echo "$name: $reason, but REQUIRE_GPU=1: counted as an error"
            errors=$((errors + 1))
        else
            echo "$name: $reason"
            skipped=$((skipped + 1))
        fi
        continue
    fi
    summary=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -n1)
    if [ -z "$summary" ]; then
        cat "$log"
        echo "$name: no Check summary (exit status $rc; 124 means it timed out): counted as an error"
        errors=$((errors + 1))
        broken=$((broken + 1))
        continue
    fi
    n=$(echo "$summary" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(echo "$summary" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(echo "$summary" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    checks=$((checks + n))
    failures=$((failures + f))
    errors=$((errors + e))
    if [ "$f" -gt 0 ] || [ "$e" -gt 0 ] || [ "$rc" -ne 0 ]; then
        cat "$log"
        if [ "$f" -eq 0 ] && [ "$e" -eq 0 ]; then
            echo "$name: exit status $rc with no failed check (a sanitizer or valgrind report?): counted as an error"
            errors=$((errors + 1))
        fi
    fi
    echo "$name: $summary ($took)"
done

echo "TOTAL: Checks: $checks, Failures: $failures, Errors: $errors, Skipped suites: $skipped"
if [ "$failures" -gt 0 ] || [ "$errors" -gt 0 ]; then
    echo "FAILED"
    exit 1
fi
if [ "$checks" -eq 0 ]; then
    if [ "$skipped" -gt 0 ] && [ "$skipped" -eq "$#" ]; then
        echo "SKIPPED: every suite was skipped (see the SKIP lines above)"
        exit 0
    fi
    echo "FAILED: no check ran"
    exit 1
fi
echo "PASSED"
