#!/bin/sh
# bench.sh - how fast the GPU GPT trains at --preset full (`make bench-cuda`),
# next to the PyTorch peer (torch_ref.py, bf16 autocast + torch.compile, the
# strongest baseline) on the same GPU when python3 there has CUDA PyTorch.
#
#   bench preset=full device=NAME precision=P ms_per_iter=X tokens_per_s=Y mfu=Z
#   bench peer=torch-bf16-compile ms_per_iter=P ratio=R     (when the peer runs)
# mfu: the model's FLOPs per second over the GPU's dense peak for that
# precision (named in the line); median step time, evaluation excluded.
set -eu
ITERS=${BENCH_ITERS:-300}
PRECISIONS=${BENCH_PRECISIONS:-"tf32 bf16"}
GPT_CUDA=${GPT_CUDA:-06-cuda/gpt-cuda}
PEER=${PEER:-../shared/peer/torch_ref.py}
DATA=${BENCH_DATA:-}
[ -n "$DATA" ] || for f in data/input.txt ../shared/data/tinyshakespeare.txt; do
    [ -r "$f" ] && DATA=$f && break
done
[ -n "$DATA" ] || { echo "bench-cuda: no data (run make data, or set BENCH_DATA)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Dense peak FLOP/s by the vendor's datasheets (SXM parts; PCIe H100 lower).
peak() { # precision, device name
    case "$2" in
    *H100*PCIe*) case $1 in fp32) echo 51.2e12 ;; tf32) echo 378e12 ;; bf16) echo 756e12 ;; esac ;;
    *H100* | *H200*) case $1 in fp32) echo 66.9e12 ;; tf32) echo 494.7e12 ;; bf16) echo 989.4e12 ;; esac ;;
    *) echo 0 ;;
    esac
}

best_ms=""
for p in $PRECISIONS; do
    "$GPT_CUDA" train --preset full --iters "$ITERS" --eval-interval 1000000 --eval-iters 1 \
        --precision "$p" --data "$DATA" --out "$tmp/$p" >"$tmp/$p.log" 2>&1 ||
        { cat "$tmp/$p.log"; exit 1; }
    device=$(grep -m1 ' GPU ' "$tmp/$p.log" | sed -E 's/.*\| GPU ([^,]+),.*/\1/')
    speed=$(grep '^gpt: speed' "$tmp/$p.log")
    ms=$(echo "$speed" | sed -E 's/.*median_ms_per_iter=([0-9.]+).*/\1/')
    toks=$(echo "$speed" | sed -E 's/.*tokens_per_s=([0-9.]+).*/\1/')
    gflops=$(echo "$speed" | sed -E 's/.*gflops=([0-9.]+).*/\1/')
    mfu=$(awk -v g="$gflops" -v pk="$(peak "$p" "$device")" \
        'BEGIN { if (pk > 0) printf "%.3f", g * 1e9 / pk; else print "n/a" }')
    echo "bench preset=full device=\"$device\" precision=$p ms_per_iter=$ms tokens_per_s=$toks mfu=$mfu"
    if [ -z "$best_ms" ] || awk -v a="$ms" -v b="$best_ms" 'BEGIN { exit !(a < b) }'; then
        best_ms=$ms
    fi
done

# No ratio without the peer: say why (BENCH_PEER=0 asks for none).
if [ "${BENCH_PEER:-1}" = 0 ]; then
    :
elif [ ! -r "$PEER" ]; then
    echo "bench: no PyTorch peer at $PEER: no ratio" >&2
elif ! python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    echo "bench: python3 has no PyTorch with CUDA here: no peer, no ratio" >&2
else
    peer=$(python3 "$PEER" --data "$DATA" --device cuda --n_layer 6 --n_head 6 --n_embd 384 \
        --block_size 256 --batch_size 64 --dropout 0.2 --max_iters "$ITERS" \
        --eval_interval 100000 --eval_iters 1 --dtype bfloat16 --compile 1 2>&1 |
        grep '^ms_per_iter' || true)
    peer_ms=$(echo "$peer" | awk '{print $2}')
    if [ -n "$peer_ms" ]; then
        echo "bench peer=torch-bf16-compile ms_per_iter=$peer_ms ratio=$(awk \
            -v a="$peer_ms" -v b="$best_ms" 'BEGIN { printf "%.2f", a / b }')"
    else
        echo "bench: the PyTorch peer ran but printed no ms_per_iter: no ratio" >&2
    fi
fi
