#!/bin/bash
# device.sh - the GPU checks, run on a machine with an NVIDIA GPU from the
# repository root, with binaries built elsewhere (the GPU machine of this
# project has no Check and no OpenBLAS; see README.md, "Running it"):
#
#   make BLAS=0 ARCH=-march=x86-64-v3 BUILD=DIR/build BIN=DIR cuda DIR/05-gpt/gpt
#   DIR/lib: libgomp.so.1 and libsubunit.so.0 from the build machine
#   DIR/peer: torch_ref.py and tinyshakespeare.txt
#   06-cuda/device.sh DIR OUT STEP...
#   STEP: test | bench | compare OTHER | full PRECISION | profile PRECISION
#   (OTHER: another build's gpt-cuda, carried in DIR too)
#
# Logs and checkpoints go to OUT. Exits 1 when any step failed (each step
# still runs, but `full` only after passing tests).
set -u
DIR=$1 OUT=$2
shift 2
cublas=$(find / -name 'libcublas.so.13' -not -path '/proc/*' 2>/dev/null | head -n1)
cublas_dir=$(dirname "${cublas:-/none/x}")
export LD_LIBRARY_PATH="$PWD/$DIR/lib:$cublas_dir:${LD_LIBRARY_PATH:-}"
DATA=$DIR/peer/tinyshakespeare.txt
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
status=0
while [ $# -gt 0 ]; do
    step=$1
    shift
    echo "== $step $(date +%T)"
    case $step in
    test)
        REQUIRE_GPU=1 SUITE_TIMEOUT=300 BIN="$DIR" tests/run-suites.sh \
            "$DIR/build/tests/test_06_cuda" 2>&1 | tee "$OUT/test.log" | tail -n 30
        [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
        ;;
    bench)
        GPT_CUDA=$DIR/06-cuda/gpt-cuda PEER=$DIR/peer/torch_ref.py BENCH_DATA=$DATA \
            06-cuda/bench.sh 2>&1 | tee -a "$OUT/bench.log"
        [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
        ;;
    compare) # another build and this one, alternated twice on this machine: bf16 steps, no peer
        other=$1
        shift
        for round in 1 2; do
            for gpt in "$other" "$DIR/06-cuda/gpt-cuda"; do
                line=$(GPT_CUDA=$gpt BENCH_DATA=$DATA BENCH_PEER=0 BENCH_PRECISIONS=bf16 \
                    06-cuda/bench.sh 2>&1) || status=1
                echo "$gpt (round $round): $line" | tee -a "$OUT/bench.log"
            done
        done
        ;;
    profile) # one step's kernels, timed by Nsight Compute (clocks left alone)
        precision=$1
        shift
        ncu=$(command -v ncu || find / -name ncu -type f -path '*nsight-compute*' 2>/dev/null |
            head -n1)
        [ -n "$ncu" ] || { echo "profile: no ncu on this machine"; status=1; continue; }
        timeout 300 "$ncu" --clock-control none --cache-control none --csv --print-units base \
            --metrics gpu__time_duration.sum "$DIR/06-cuda/gpt-cuda" train --preset full \
            --iters 2 --eval-interval 1000000 --eval-iters 1 --precision "$precision" \
            --data "$DATA" --out /tmp/gpt-profile --overwrite >"$OUT/profile-$precision.csv" 2>&1 ||
            { echo "profile: ncu failed"; tail -n 5 "$OUT/profile-$precision.csv"; status=1; continue; }
        python3 06-cuda/profile_step.py "$OUT/profile-$precision.csv" |
            tee "$OUT/profile-$precision.txt" | head -n 30
        [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
        ;;
    full) # only after passing tests: no point training with broken kernels
        precision=$1
        shift
        [ $status -eq 0 ] || { echo "skipping full: a step before it failed"; continue; }
        # checkpoints are too big to come back; logs go to OUT. --overwrite:
        # a machine still warm from an earlier call holds that run's.
        run=/tmp/gpt-full
        "$DIR/06-cuda/gpt-cuda" train --preset full --precision "$precision" --data "$DATA" \
            --out $run --overwrite >"$OUT/full.log" 2>&1 || status=1
        tail -n 8 "$OUT/full.log"
        cp $run/loss.csv "$OUT/full-loss.csv" || status=1
        # the GPU-trained checkpoint, sampled by the CPU program, and opened
        # by Python's safetensors
        "$DIR/05-gpt/gpt" sample --ckpt $run/best.safetensors --tokens 300 --seed 7 2>&1 |
            tee "$OUT/sample.txt"
        [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
        python3 -c "from safetensors.torch import load_file; t = load_file('$run/best.safetensors'); \
print('python safetensors:', len(t), 'tensors, wte', tuple(t['transformer.wte.weight'].shape))" 2>&1 ||
            status=1
        ;;
    esac
done
exit $status
