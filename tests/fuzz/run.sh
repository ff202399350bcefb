#!/bin/sh
# run.sh - run libFuzzer targets for a fixed number of inputs (make fuzz).
#
#   tests/fuzz/run.sh BUILD_DIR NAME[:SEED_DIR[,SEED_DIR...][:MAX_LEN]]...
#
# Each target BUILD_DIR/fuzz_NAME starts from an empty working corpus
# (BUILD_DIR/corpus-NAME, where libFuzzer keeps the inputs it finds) plus
# its seed directories, which it only reads; with a fixed seed that makes
# every run try the same inputs. The full log goes to BUILD_DIR/NAME.log.
# On a failure the tail of the log is shown, and the input that broke the
# target is in BUILD_DIR/NAME-crash-* (or -leak-, -timeout-, -oom-): replay
# it with BUILD_DIR/fuzz_NAME FILE.
#
# Environment: FUZZ_RUNS (inputs per target, default 200000; -1: no limit),
# FUZZ_SEED (1), FUZZ_MAX_LEN (longest input in bytes, 1024, for targets
# that give no MAX_LEN of their own), FUZZ_TIME (seconds per target, 0: no
# limit).
set -u
build=$1
shift
# A single input may take this long (seconds) and the process this much
# memory (MB) before libFuzzer calls it a hang or a leak-like blow-up.
PER_INPUT_TIMEOUT=10
RSS_LIMIT_MB=2048
status=0
for target in "$@"; do
    name=${target%%:*}
    seeds=""
    max_len=${FUZZ_MAX_LEN:-1024}
    case "$target" in *:*) seeds=$(echo "${target#*:}" | cut -d: -f1 | tr ',' ' ') ;; esac
    case "$target" in *:*:*) max_len=${target##*:} ;; esac
    corpus="$build/corpus-$name"
    log="$build/$name.log"
    rm -rf "$corpus" "$build/$name-"crash-* "$build/$name-"leak-* "$build/$name-"timeout-* \
        "$build/$name-"oom-*
    mkdir -p "$corpus"
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$build/fuzz_$name" -seed="${FUZZ_SEED:-1}" -runs="${FUZZ_RUNS:-200000}" \
        -max_len="$max_len" -max_total_time="${FUZZ_TIME:-0}" \
        -timeout=$PER_INPUT_TIMEOUT -rss_limit_mb=$RSS_LIMIT_MB -print_final_stats=1 \
        -artifact_prefix="$build/$name-" "$corpus" $seeds >"$log" 2>&1
    rc=$?
    seconds=$(($(date +%s) - start))
    if [ "$rc" -eq 0 ]; then
        # "Done N runs in S second(s)" and the final coverage: edges, features, corpus
        coverage=$(grep -m1 -E 'DONE +cov:' "$log" | sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*/\1/')
        echo "fuzz $name: $(grep -m1 '^Done' "$log") ($coverage)"
    else
        tail -n 40 "$log"
        echo "fuzz $name: FAILED after $seconds s (exit $rc); the input is in $build/$name-*; replay: $build/fuzz_$name FILE"
        status=1
    fi
done
exit $status
