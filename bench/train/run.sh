#!/usr/bin/env bash
# Seconds per epoch of cnn3 on fkd-ytf's training set: fkd train against
# the same net, batch, optimiser (AdamW, cosine), masked MSE loss, hold-out
# fraction and thread count written in PyTorch (cnn3_epoch.py, Debian's
# python3-torch on the same LibTorch 1.13), in one run. Each side's epoch
# covers one training pass and the hold-out evaluation; the first epoch
# (warm-up) is left out of the mean.
#
# Environment (defaults in brackets): TRAIN [../shared/data/fkd-ytf/training.zip,
# else data/training.zip or data/training.csv; with none it says so and skips],
# EPOCHS [4], BATCH [64], THREADS [nproc], PYTHON [/usr/bin/python3].
#
# Usage: bench/train/run.sh   (or: make bench)
set -euo pipefail
cd "$(dirname "$0")/../.."

. bench/find-training.sh
train=${TRAIN:-$training}
if [ -z "$train" ]; then
	echo "bench/train: skipped: no training data (../shared/data/fkd-ytf/training.zip or data/training.*); set TRAIN=..."
	exit 0
fi
epochs=${EPOCHS:-4}
batch=${BATCH:-64}
threads=${THREADS:-$(nproc)}
python=${PYTHON:-/usr/bin/python3}
if [ ! -f "$train" ]; then
	echo "bench/train: no training data at $train (set TRAIN=...)" >&2
	exit 1
fi
if ! "$python" -c 'import torch, pandas' 2>/dev/null; then
	echo "bench/train: $python lacks torch or pandas (make deps-bench)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/fkd" ./cmd/fkd

"$tmp/fkd" train --config /dev/null --train "$train" --test '' --lookup '' --out "$tmp/model.pt" \
	--model cnn3 --epochs "$epochs" --batch "$batch" --lr 0.001 --optimizer adamw --weight-decay 0.0001 \
	--schedule cosine --warmup 0 --loss mse --holdout 0.1 --threads "$threads" --seed 1 --device cpu \
	>"$tmp/fkd.log" 2>&1 || { cat "$tmp/fkd.log" >&2; exit 1; }
fkd_secs=$("$python" -c '
import json, sys
h = json.load(open(sys.argv[1]))
print(" ".join(str(e["seconds"]) for e in h["epochs"]))' "$tmp/model.history.json")
fkd_rmse=$("$python" -c '
import json, sys
print(json.load(open(sys.argv[1]))["epochs"][-1]["holdout_rmse_px"])' "$tmp/model.history.json")

"$python" bench/train/cnn3_epoch.py --train "$train" --epochs "$epochs" --batch "$batch" \
	--threads "$threads" --holdout 0.1 --seed 1 >"$tmp/py.log"
py_secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$tmp/py.log" | tr '\n' ' ')
py_rmse=$(tail -1 "$tmp/py.log" | sed -n 's/.*holdout_rmse_px=\([0-9.]*\).*/\1/p')

mean_after_first() { awk '{s = 0; for (i = 2; i <= NF; i++) s += $i; printf "%.2f", s / (NF - 1)}' <<<"$1"; }
fkd_mean=$(mean_after_first "$fkd_secs")
py_mean=$(mean_after_first "$py_secs")
echo "cnn3 on $(basename "$train"), batch $batch, AdamW + cosine, $threads threads, $epochs epochs (mean of epochs 2..$epochs)"
printf '%-16s %10s %16s   %s\n' implementation "s/epoch" "hold-out RMSE" "epoch seconds"
printf '%-16s %10s %16.3f   %s\n' "fkd (Go)" "$fkd_mean" "$fkd_rmse" "$fkd_secs"
printf '%-16s %10s %16.3f   %s\n' "PyTorch" "$py_mean" "$py_rmse" "$py_secs"
r=$(awk -v a="$fkd_mean" -v b="$py_mean" 'BEGIN {printf "%.3f", a / b}')
echo "fkd/PyTorch: $r ($(awk -v r="$r" 'BEGIN {print (r <= 1 ? "within" : "OVER")}') target <= 1.0)"
