#!/usr/bin/env bash
# Seconds per epoch of cnn3 and fpnheat on fkd-ytf's training set: fkd
# train against the same nets written in PyTorch (epoch.py, Debian's
# python3-torch on the same LibTorch 1.13), with the same data, batch,
# optimiser (AdamW, cosine after a linear warm-up), masked MSE loss,
# hold-out fraction and thread count. Each side's epoch covers one training
# pass and the hold-out evaluation; the first epoch (warm-up) is left out
# of the mean.
#
# fkd, PyTorch and PyTorch with tuned malloc run in turn, ROUNDS times
# (each round starting with the next of the three), and each keeps its
# best round, the one with the lowest mean s/epoch over epochs 2..EPOCHS,
# so that load from other processes counts against none of them in
# particular. "PyTorch tuned" runs with
#   GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824
# the thresholds fkd's torch package sets with mallopt when it loads. It
# also runs with OPENBLAS_NUM_THREADS=1, as fkd runs OpenBLAS (pthreads
# build) on the calling thread, and it makes the nets as fkd makes them on
# the CPU (epoch.py --channels-last --inplace-relu): weights and
# activations laid out channels last, and each ReLU after a batch norm
# done in place. Why fkd sets each of these: docs/architecture.md
# ("Threads, malloc and BLAS on the CPU"); what they are worth:
# docs/results/bench.md. "PyTorch" is the nets written the
# ordinary way, as the target compares; "PyTorch tuned" shows what is
# left when PyTorch is given every setting fkd makes.
#
# Every process, fkd's and Python's, runs with the same OpenMP wait,
# GOMP_SPINCOUNT=$SPIN (100 by default). fkd's libgomp spins only about
# 100 times before it sleeps: it manages more threads than there are CPUs
# (Go runs LibTorch calls on more than one OS thread, each with its own
# OpenMP pool), and libgomp then throttles its spinning (measured: fkd's
# epoch time does not change with GOMP_SPINCOUNT or OMP_WAIT_POLICY). Python's
# single pool spins 300000 times by default, and on a machine that other
# processes keep busy its spinning worker takes the CPU the main thread
# needs (measured in docs/results/bench.md).
# SPIN= (empty) runs everything with libgomp's defaults.
#
# Environment (defaults in brackets): TRAIN [../shared/data/fkd-ytf/training.zip,
# else data/training.zip or data/training.csv; with none it says so and skips],
# MODELS ["cnn3 fpnheat"], EPOCHS [3], ROUNDS [5], BATCH [64], WARMUP [1]
# (epochs of warm-up, as config.yml), LIMIT [0: every face; else the first
# LIMIT rows, for both sides], SPIN [100] (GOMP_SPINCOUNT of every process;
# empty: libgomp's default), THREADS [nproc], PYTHON [/usr/bin/python3].
# How long the defaults take: docs/results/bench.md. LIMIT=N (the first N
# faces) shortens a run.
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
models=${MODELS:-cnn3 fpnheat}
epochs=${EPOCHS:-3}
rounds=${ROUNDS:-5}
batch=${BATCH:-64}
warmup=${WARMUP:-1}
limit=${LIMIT:-0}
threads=${THREADS:-$(nproc)}
python=${PYTHON:-/usr/bin/python3}
spin=${SPIN-100}
tunables=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824
if [ ! -f "$train" ]; then
	echo "bench/train: no training data at $train (set TRAIN=...)" >&2
	exit 1
fi
if ! [ "$epochs" -ge 2 ] 2>/dev/null; then
	echo "bench/train: EPOCHS=$epochs: want at least 2 (the first is warm-up)" >&2
	exit 1
fi
if ! [ "$warmup" -ge 0 ] 2>/dev/null || [ "$warmup" -ge "$epochs" ]; then
	echo "bench/train: WARMUP=$warmup: want 0 to EPOCHS-1 ($((epochs - 1)))" >&2
	exit 1
fi
if ! [ "$rounds" -ge 1 ] 2>/dev/null || ! [ "$limit" -ge 0 ] 2>/dev/null; then
	echo "bench/train: ROUNDS=$rounds, LIMIT=$limit: want ROUNDS >= 1 and LIMIT >= 0" >&2
	exit 1
fi
# The repository's torch/ would shadow PyTorch for python3 -c run here.
if ! (cd / && "$python" -c 'import torch, pandas') 2>/dev/null; then
	echo "bench/train: $python lacks torch or pandas (make deps-bench)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The cgo flags "make libtorch" wrote (make bench exports them), else
# Debian's LibTorch without them.
if [ -z "${CGO_LDFLAGS:-}" ] && [ -f bin/libtorch.env ]; then
	set -a
	. bin/libtorch.env
	set +a
fi
go build -o "$tmp/fkd" ./cmd/fkd
if [ -n "$spin" ]; then
	export GOMP_SPINCOUNT=$spin
	omp_note="GOMP_SPINCOUNT=$spin for all"
else
	unset GOMP_SPINCOUNT
	omp_note="libgomp's default spinning"
fi

data_name=$(basename "$train")
if [ "$limit" -gt 0 ]; then
	# The same first LIMIT faces for both sides.
	"$python" bench/head_rows.py "$train" "$limit" "$tmp/train.csv"
	train=$tmp/train.csv
	data_name="$data_name (first $limit faces)"
fi

# run_impl IMPL MODEL LOG trains MODEL once and writes, to stdout, the
# parameter count, the hold-out RMSE of the last epoch and the seconds of
# each epoch, on one line.
run_impl() {
	local impl=$1 model=$2 log=$3
	case $impl in
	fkd)
		rm -rf "$tmp/run"
		"$tmp/fkd" train --config /dev/null --train "$train" --test '' --lookup '' --out "$tmp/run/model.pt" \
			--arch "$model" --epochs "$epochs" --batch "$batch" --lr 0.001 --optimizer adamw --weight-decay 0.0001 \
			--schedule cosine --warmup "$warmup" --loss mse --holdout 0.1 --threads "$threads" --seed 1 --device cpu \
			>"$log" 2>&1 || { cat "$log" >&2; return 1; }
		local params
		params=$(sed -n 's/.*(\([0-9]*\) parameters.*/\1/p' "$log" | head -1)
		(cd / && "$python" -c '
import json, sys
h = json.load(open(sys.argv[1]))["epochs"]
print(sys.argv[2], "%.3f" % h[-1]["holdout_rmse_px"], " ".join("%.3f" % e["seconds"] for e in h))' \
			"$tmp/run/model.history.json" "${params:--}")
		;;
	py | pytuned)
		local -a env=()
		local -a tuned=()
		if [ "$impl" = pytuned ]; then
			env=(env "GLIBC_TUNABLES=$tunables" OPENBLAS_NUM_THREADS=1)
			tuned=(--channels-last --inplace-relu)
		fi
		"${env[@]}" "$python" bench/train/epoch.py "${tuned[@]}" --model "$model" --train "$train" --epochs "$epochs" \
			--batch "$batch" --lr 0.001 --weight-decay 0.0001 --warmup "$warmup" --threads "$threads" \
			--holdout 0.1 --seed 1 >"$log" 2>&1 || { cat "$log" >&2; return 1; }
		local params rmse secs
		params=$(sed -n 's/^model=.* params=\([0-9]*\).*/\1/p' "$log")
		rmse=$(grep '^epoch=' "$log" | tail -1 | sed -n 's/.*holdout_rmse_px=\([0-9.]*\).*/\1/p')
		secs=$(sed -n 's/^epoch=.* seconds=\([0-9.]*\).*/\1/p' "$log" | paste -sd' ')
		echo "$params $rmse $secs"
		;;
	esac
}

mean_after_first() { awk '{s = 0; for (i = 2; i <= NF; i++) s += $i; printf "%.3f", s / (NF - 1)}' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r <= t ? "within" : "OVER")}'; }

impls=(fkd py pytuned)
declare -A names=([fkd]="fkd (Go)" [py]="PyTorch" [pytuned]="PyTorch tuned")
declare -A best rmse secs params rounds_of
summary=()
start_all=$SECONDS
for model in $models; do
	started=$SECONDS
	for ((r = 0; r < rounds; r++)); do
		for ((i = 0; i < ${#impls[@]}; i++)); do
			impl=${impls[$(((r + i) % ${#impls[@]}))]}
			echo "bench/train: $model round $((r + 1))/$rounds: ${names[$impl]}" >&2
			out=$(run_impl "$impl" "$model" "$tmp/$impl.log")
			read -r p rm s <<<"$out"
			m=$(mean_after_first "$s")
			rounds_of[$model/$impl]+="${rounds_of[$model/$impl]:+ }$m"
			params[$model/$impl]=$p
			if [ -z "${best[$model/$impl]:-}" ] || awk -v a="$m" -v b="${best[$model/$impl]}" 'BEGIN {exit !(a < b)}'; then
				best[$model/$impl]=$m
				rmse[$model/$impl]=$rm
				secs[$model/$impl]=$s
			fi
		done
	done

	echo
	echo "$model on $data_name, batch $batch, AdamW + cosine (warm-up $warmup), $threads threads ($omp_note), $epochs epochs:" \
		"mean of epochs 2..$epochs, best of $rounds interleaved rounds ($((SECONDS - started)) s)"
	echo "parameters: fkd ${params[$model/fkd]}, PyTorch ${params[$model/py]}"
	if [ "${params[$model/fkd]}" != "${params[$model/py]}" ]; then
		echo "WARNING: $model: the parameter counts differ: the two sides are not training the same net" >&2
	fi
	printf '%-14s %9s %14s   %-28s %s\n' implementation "s/epoch" "hold-out RMSE" "s/epoch of each round" "epoch seconds (best round)"
	for impl in "${impls[@]}"; do
		printf '%-14s %9s %14s   %-28s %s\n' "${names[$impl]}" "${best[$model/$impl]}" "${rmse[$model/$impl]}" \
			"${rounds_of[$model/$impl]}" "${secs[$model/$impl]}"
	done
	r1=$(ratio "${best[$model/fkd]}" "${best[$model/py]}")
	r2=$(ratio "${best[$model/fkd]}" "${best[$model/pytuned]}")
	echo "$model fkd/PyTorch: $r1 ($(verdict "$r1" 0.95) target <= 0.95); fkd/PyTorch tuned: $r2"
	summary+=("$(printf '%-8s %9s %9s %14s %12s %20s' "$model" "${best[$model/fkd]}" "${best[$model/py]}" \
		"${best[$model/pytuned]}" "$r1" "$r2")")
done

echo
echo "epoch s/epoch, best of $rounds rounds ($((SECONDS - start_all)) s in all; load average $(cut -d' ' -f1-3 /proc/loadavg));" \
	"target fkd/PyTorch <= 0.95"
printf '%-8s %9s %9s %14s %12s %20s\n' model fkd PyTorch "PyTorch tuned" fkd/PyTorch "fkd/PyTorch tuned"
printf '%s\n' "${summary[@]}"
