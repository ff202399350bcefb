#!/bin/sh
# bench.sh - how fast the CPU GPT trains (`make bench`), next to the
# PyTorch peer (../shared/peer/) run the same way on the same machine.
#
# For each preset (cpu-small, seed000) it trains BENCH_ITERS steps with no
# evaluation in between and prints the median step time:
#   bench preset=NAME ms_per_iter=X tokens_per_s=Y gflops=Z [peer_ms_per_iter=P ratio=R]
# gflops counts the model's FLOPs (gpt_flops_per_token) over the step time.
# Machines differ (up to 1.6x in clock), so only the ratio, measured side by
# side, means anything across machines. BENCH_PEER=0 skips the peer.
set -eu
ITERS=${BENCH_ITERS:-150}
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
peer_env=""
if [ "${BENCH_PEER:-1}" != 0 ] && [ -x "$PEER_DIR/setup-peer.sh" ]; then
    peer_env=$("$PEER_DIR/setup-peer.sh" "$tmp/openblas" 2>/dev/null | tail -n1) || peer_env=""
    grep -q avx512f /proc/cpuinfo || peer_env=$(echo "$peer_env" | sed 's/OPENBLAS_CORETYPE=[^ ]*//')
fi

bench_one() { # preset, batch, dropout (the peer needs them spelled out)
    "$GPT" train --preset "$1" --iters "$ITERS" --eval-interval 1000000 --eval-iters 1 \
        --threads "$THREADS" --data "$DATA" --out "$tmp/$1" >"$tmp/$1.log" 2>&1 ||
        { cat "$tmp/$1.log"; exit 1; }
    speed=$(grep '^gpt: speed' "$tmp/$1.log")
    ms=$(echo "$speed" | sed -E 's/.*median_ms_per_iter=([0-9.]+).*/\1/')
    toks=$(echo "$speed" | sed -E 's/.*tokens_per_s=([0-9.]+).*/\1/')
    gflops=$(echo "$speed" | sed -E 's/.*gflops=([0-9.]+).*/\1/')
    line="bench preset=$1 ms_per_iter=$ms tokens_per_s=$toks gflops=$gflops"
    if [ -n "$peer_env" ]; then
        # shellcheck disable=SC2086
        peer=$(env $peer_env /usr/bin/python3 "$PEER_DIR/torch_ref.py" --data "$DATA" \
            --batch_size "$2" --dropout "$3" --max_iters "$ITERS" --eval_interval 100000 \
            --eval_iters 1 --threads "$THREADS" 2>&1 | grep '^ms_per_iter' || true)
        peer_ms=$(echo "$peer" | awk '{print $2}')
        if [ -n "$peer_ms" ]; then
            ratio=$(awk -v a="$peer_ms" -v b="$ms" 'BEGIN { printf "%.2f", a / b }')
            line="$line peer_ms_per_iter=$peer_ms ratio=$ratio"
        fi
    fi
    echo "$line"
}

echo "bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $THREADS threads, $ITERS steps"
bench_one cpu-small 12 0.0
bench_one seed000 16 0.1
