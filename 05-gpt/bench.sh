#!/bin/sh
# bench.sh - how fast the CPU GPT trains (`make bench`), next to the
# PyTorch peer (../shared/peer/) run the same way on the same machine.
#
# For each preset (cpu-small, seed000) it trains BENCH_ITERS steps with no
# evaluation in between, BENCH_REPEATS times, alternating with the peer,
# and keeps the best of the median step times of each side (on a shared or
# virtual machine, other work only ever makes a run slower, so the fastest
# run is the closest to the program's own speed):
#   bench preset=NAME ms_per_iter=X tokens_per_s=Y gflops=Z [peer_ms_per_iter=P ratio=R]
# gflops counts the model's FLOPs (gpt_flops_per_token) over the step time.
# Machines differ (up to 1.6x in clock), so only the ratio, measured side by
# side, means anything across machines. BENCH_PEER=0 skips the peer.
set -eu
ITERS=${BENCH_ITERS:-150}
REPEATS=${BENCH_REPEATS:-3}
THREADS=${BENCH_THREADS:-2}
GPT=${GPT:-05-gpt/gpt}
PEER_DIR=${PEER_DIR:-../shared/peer}
DATA=${BENCH_DATA:-}
[ -n "$DATA" ] || for f in data/input.txt ../shared/data/tinyshakespeare.txt; do
    [ -r "$f" ] && DATA=$f && break
done
[ -n "$DATA" ] || { echo "bench: no data (run make data)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The peer: Debian's PyTorch with a private OpenMP OpenBLAS (setup-peer.sh
# installs both). Its env line asks for AVX-512 kernels, which crash
# (SIGILL) on CPUs without AVX-512: drop that part there.
# A peer that cannot be set up is an error that says why (the ratio is
# what a benchmark is for), unless BENCH_PEER=0 asked for none.
peer_env=""
if [ "${BENCH_PEER:-1}" != 0 ]; then
    [ -x "$PEER_DIR/setup-peer.sh" ] ||
        { echo "bench: no PyTorch peer at $PEER_DIR/setup-peer.sh (BENCH_PEER=0 to run without)" >&2; exit 1; }
    echo "bench: setting up the PyTorch peer (may install python3-torch; BENCH_PEER=0 skips it)"
    "$PEER_DIR/setup-peer.sh" "$tmp/openblas" >"$tmp/peer-setup.out" 2>"$tmp/peer-setup.log" ||
        { echo "bench: the PyTorch peer could not be set up: $(tail -n1 "$tmp/peer-setup.log")" >&2
          echo "bench: (BENCH_PEER=0 to run without it)" >&2; exit 1; }
    peer_env=$(tail -n1 "$tmp/peer-setup.out")
    grep -q avx512f /proc/cpuinfo || peer_env=$(echo "$peer_env" | sed 's/OPENBLAS_CORETYPE=[^ ]*//')
fi

# The smaller of two numbers (either may be empty).
smaller() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || (b != "" && b + 0 < a + 0)) print b; else print a }'; }

ours_once() { # preset: prints "MS TOKENS_PER_S GFLOPS"
    # --overwrite: every repeat writes into the same scratch folder
    "$GPT" train --preset "$1" --iters "$ITERS" --eval-interval 1000000 --eval-iters 1 \
        --threads "$THREADS" --data "$DATA" --out "$tmp/$1" --overwrite >"$tmp/$1.log" 2>&1 ||
        { cat "$tmp/$1.log" >&2; exit 1; }
    grep '^gpt: speed' "$tmp/$1.log" |
        sed -E 's/.*median_ms_per_iter=([0-9.]+) tokens_per_s=([0-9.]+) gflops=([0-9.]+).*/\1 \2 \3/'
}

peer_once() { # batch, dropout: prints the peer's median ms/iter, or nothing
    [ -n "$peer_env" ] || return 0
    # shellcheck disable=SC2086
    env $peer_env /usr/bin/python3 "$PEER_DIR/torch_ref.py" --data "$DATA" --batch_size "$1" \
        --dropout "$2" --max_iters "$ITERS" --eval_interval 100000 --eval_iters 1 \
        --threads "$THREADS" 2>&1 | awk '/^ms_per_iter/ { print $2 }'
}

bench_one() { # preset, batch, dropout (the peer needs them spelled out)
    best="" best_line="" peer_best=""
    r=0
    while [ $r -lt "$REPEATS" ]; do
        ours=$(ours_once "$1")
        ms=${ours%% *}
        if [ "$(smaller "$best" "$ms")" = "$ms" ]; then best=$ms best_line=$ours; fi
        peer_best=$(smaller "$peer_best" "$(peer_once "$2" "$3")")
        r=$((r + 1))
    done
    # shellcheck disable=SC2086 # split "MS TOKENS GFLOPS" into $2 $3 $4
    set -- "$1" $best_line
    line="bench preset=$1 ms_per_iter=$2 tokens_per_s=$3 gflops=$4"
    if [ -n "$peer_best" ]; then
        ratio=$(awk -v a="$peer_best" -v b="$2" 'BEGIN { printf "%.2f", a / b }')
        line="$line peer_ms_per_iter=$peer_best ratio=$ratio"
    fi
    echo "$line"
}

echo "bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $THREADS threads, $ITERS steps, best of $REPEATS"
bench_one cpu-small 12 0.0
bench_one seed000 16 0.1
