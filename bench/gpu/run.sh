#!/usr/bin/env bash
# Checks fkd on a CUDA GPU in one run and prints one table: builds fkd
# against the PyTorch that python3 imports, runs the Go tests that need
# CUDA (go test -run '^TestCUDA'), times the per-call cost of a tiny op
# through fkd's Go API and through PyTorch, trains cnn3 and fpnheat with
# fkd in fp32, --amp bf16 and --amp fp16, and the same cnn3 in PyTorch
# (bench/train/epoch.py --model cnn3) on the same device, sampling the GPU's memory
# (nvidia-smi) during each training. The table goes to the terminal and, as
# Markdown for docs/results/gpu.md, to GPU_CHECK_OUT.
#
# GPU_CHECK_DEVICE=cpu runs the same end to end on the CPU with small sizes
# (a few hundred faces, 2 epochs): the CUDA tests then compare the CPU with
# itself, the precisions are fp32 and PyTorch's bf16 (fkd train --amp needs
# CUDA), and the memory column is the peak RSS when /usr/bin/time exists.
#
# It needs python3 with PyTorch, pandas and numpy (on CUDA: a CUDA build
# and nvidia-smi), and Go: GO, else go on PATH or /usr/local/go/bin/go,
# else GO_TARBALL (a go1.26.x.linux-amd64.tar.gz, unpacked into a temporary
# directory). The Go modules must be in the module cache or reachable
# through GOPROXY. It exits non-zero when any test or table row failed.
#
# Environment (defaults in brackets): GPU_CHECK_DEVICE [cuda] (cuda or
# cpu), GPU_CHECK_OUT [output/gpu-check.md], DATA
# [../shared/data/fkd-ytf/training.zip, else data/training.zip or
# data/training.csv, else a synthetic set from fkd synth], EPOCHS [3 on
# CUDA, 2 on the CPU], GPU_CHECK_LIMIT [all faces on CUDA, 300 on the CPU:
# train on the first N rows], BATCH [64], TINY [100000 calls, in chunks of 10000], THREADS
# [nproc], GPU_CHECK_GPU [0, or the first of CUDA_VISIBLE_DEVICES]
# (nvidia-smi's index of the GPU that is cuda:0), LIBTORCH [python on CUDA (also when empty);
# as given, else Debian's, on the CPU], PYTHON [python3 or /usr/bin/python3,
# the first with PyTorch, pandas and numpy], GO, GO_TARBALL, GOTOOLCHAIN [local].
#
# Usage: make gpu-check   (or: bash bench/gpu/run.sh; GPU_CHECK_DEVICE=cpu make gpu-check)
set -euo pipefail
cd "$(dirname "$0")/../.."

die() {
	echo "gpu-check: $*" >&2
	exit 1
}

mode=${GPU_CHECK_DEVICE:-cuda}
case $mode in
cuda | cpu) ;;
*) die "GPU_CHECK_DEVICE=$mode: want cuda or cpu" ;;
esac
out_md=${GPU_CHECK_OUT:-output/gpu-check.md}
batch=${BATCH:-64}
tiny=${TINY:-100000}
threads=${THREADS:-$(nproc)}
if [ "$mode" = cuda ]; then
	epochs=${EPOCHS:-3}
	limit=${GPU_CHECK_LIMIT:-0}
	visible=${CUDA_VISIBLE_DEVICES:-0}
	gpu=${GPU_CHECK_GPU:-${visible%%,*}}
else
	epochs=${EPOCHS:-2}
	limit=${GPU_CHECK_LIMIT:-300}
fi
[ "$epochs" -ge 2 ] 2>/dev/null || die "EPOCHS=$epochs: want at least 2 (the first epoch is warm-up)"

tmp=$(mktemp -d)
sampler=
vendored=
cleanup() {
	if [ -n "$sampler" ]; then
		kill "$sampler" 2>/dev/null || true
	fi
	if [ -n "$vendored" ]; then
		rm -rf vendor
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- Python with PyTorch, and on CUDA the driver and a CUDA PyTorch.
# pyc runs Python code from / so that the repository's torch/ folder cannot
# pass for PyTorch (Python puts the working folder first on its path).
pyc() {
	local py=$1
	shift
	(cd / && "$py" -c "$@")
}
python=${PYTHON:-}
if [ -z "$python" ]; then
	for p in python3 /usr/bin/python3; do
		if command -v "$p" >/dev/null 2>&1 && pyc "$p" 'import torch, pandas, numpy' 2>/dev/null; then
			python=$(command -v "$p")
			break
		fi
	done
	[ -n "$python" ] || die "no python3 with PyTorch, pandas and numpy (import fails in python3 and /usr/bin/python3); set PYTHON=/path/to/python"
fi
pyc "$python" 'import torch, pandas, numpy' 2>/dev/null ||
	die "$python lacks PyTorch, pandas or numpy (pip install torch pandas numpy, or make deps-bench)"
export PYTHON=$python
torch_version=$(pyc "$python" 'import torch; print(torch.__version__)')

if [ "$mode" = cuda ]; then
	command -v nvidia-smi >/dev/null 2>&1 ||
		die "nvidia-smi not found: no NVIDIA driver on this machine (GPU_CHECK_DEVICE=cpu runs the check on the CPU)"
	nvidia-smi -L >/dev/null 2>&1 ||
		die "nvidia-smi fails ($(nvidia-smi -L 2>&1 | head -1)): the NVIDIA driver is not working"
	pyc "$python" 'import torch; assert torch.cuda.is_available()' 2>/dev/null ||
		die "PyTorch $torch_version in $python sees no CUDA device (CUDA build: $(pyc "$python" 'import torch; print(torch.version.cuda or "no")')); install a CUDA PyTorch, or check the driver"
	device_name="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader -i "$gpu" |
		awk -F', ' '{printf "%s (%s, driver %s)", $1, $2, $3}'), PyTorch $torch_version, CUDA $(pyc "$python" 'import torch; print(torch.version.cuda)')"
	dev=cuda
else
	device_name="CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $threads threads, PyTorch $torch_version"
	dev=cpu
fi

# ---- A bundle from bench/gpu/bundle.sh: Go, the modules, training data.
if [ -n "${GPU_BUNDLE:-}" ]; then
	[ -f "$GPU_BUNDLE/go.tar.xz" ] || die "GPU_BUNDLE=$GPU_BUNDLE has no go.tar.xz: make it with bench/gpu/bundle.sh"
	tar -C "$tmp" -xJf "$GPU_BUNDLE/go.tar.xz" || die "GPU_BUNDLE=$GPU_BUNDLE: could not unpack go.tar.xz"
	GO=$tmp/go/bin/go
	if [ -f "$GPU_BUNDLE/vendor.tar.xz" ] && [ ! -e vendor ]; then
		tar -xJf "$GPU_BUNDLE/vendor.tar.xz" || die "GPU_BUNDLE=$GPU_BUNDLE: could not unpack vendor.tar.xz"
		vendored=1
		export GOFLAGS="-mod=vendor ${GOFLAGS:-}"
	fi
	if [ -z "${DATA:-}" ] && [ -f "$GPU_BUNDLE/training.csv.xz" ]; then
		xz -dc "$GPU_BUNDLE/training.csv.xz" >"$tmp/training.csv"
		DATA=$tmp/training.csv
	fi
	echo "gpu-check: using the bundle in $GPU_BUNDLE"
fi

# ---- Go: GO, else go on PATH or /usr/local/go/bin/go, else GO_TARBALL.
go=
for g in "${GO:-}" go /usr/local/go/bin/go; do
	if [ -n "$g" ] && command -v "$g" >/dev/null 2>&1; then
		go=$(command -v "$g")
		break
	fi
	# A GO other than make's default "go" that is not there is a mistake.
	if [ -n "$g" ] && [ "$g" = "${GO:-}" ] && [ "$g" != go ]; then
		die "GO=$g: no such Go command"
	fi
done
if [ -z "$go" ] && [ -n "${GO_TARBALL:-}" ]; then
	[ -f "$GO_TARBALL" ] || die "GO_TARBALL=$GO_TARBALL: no such file"
	tar -C "$tmp" -xzf "$GO_TARBALL" || die "GO_TARBALL=$GO_TARBALL: could not unpack it"
	go=$tmp/go/bin/go
	[ -x "$go" ] || die "GO_TARBALL=$GO_TARBALL holds no go/bin/go"
fi
[ -n "$go" ] || die "no Go toolchain: set GO=/path/to/go/bin/go, put go on PATH, or set GO_TARBALL=/path/to/go1.26.x.linux-amd64.tar.gz"
# Offline, a go.mod asking for a newer Go should fail with Go's own clear
# message, not with an attempt to download that toolchain.
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
echo "gpu-check: $("$go" version) ($go); python: $python (PyTorch $torch_version)"
if [ -z "$vendored" ] && ! "$go" mod download >"$tmp/mod.log" 2>&1; then
	echo "gpu-check: go mod download failed: $(tail -1 "$tmp/mod.log")" >&2
	die "the Go modules are neither in the module cache nor reachable through GOPROXY: run 'go mod download' in this repository on a connected machine and copy its $("$go" env GOMODCACHE) to $("$go" env GOMODCACHE) here"
fi

# ---- Build, and the cgo settings of that build for go test and go build.
lt=${LIBTORCH:-}
if [ "$mode" = cuda ]; then
	lt=${LIBTORCH:-python}
fi
if command -v make >/dev/null; then
	make build GO="$go" PYTHON="$python" LIBTORCH="$lt" || die "make build failed (LIBTORCH=$lt); see above"
else
	# What make build does, for a machine without make.
	mkdir -p bin
	"$go" build -o bin/libtorch-config ./cmd/libtorch-config || die "building cmd/libtorch-config failed"
	PYTHON="$python" LIBTORCH="$lt" bin/libtorch-config >bin/libtorch.env || die "no usable LibTorch (LIBTORCH=$lt)"
	pkg-config --exists opencv4 2>/dev/null || export GOFLAGS="${GOFLAGS:-} -tags=noopencv"
	(set -a && . ./bin/libtorch.env && set +a && echo "libtorch: $FKD_LIBTORCH_DESC" &&
		"$go" build -ldflags "$FKD_GO_LDFLAGS" -o bin/fkd ./cmd/fkd) || die "go build failed; see above"
fi
[ -f bin/libtorch.env ] || die "make build wrote no bin/libtorch.env"
# Without OpenCV's development files (a GPU machine with only LibTorch),
# fkd builds without face detection, as make build does.
pkg-config --exists opencv4 2>/dev/null || export GOFLAGS="${GOFLAGS:-} -tags=noopencv"
set -a
. ./bin/libtorch.env
set +a
if version=$(bin/fkd version 2>&1); then
	echo "$version"
	fkd_version=$(head -1 <<<"$version" | sed 's/^fkd[[:space:]]*//')
else
	echo "gpu-check: bin/fkd version failed: $(tail -1 <<<"$version")" >&2
	fkd_version="(fkd version failed)"
fi

failed=0

# ---- The Go tests that need CUDA (on the CPU: CPU against CPU).
echo "gpu-check: go test -count=1 -run '^TestCUDA' ./torch/... ./train/... ./models/..."
if "$go" test -count=1 -v -run '^TestCUDA' ./torch/... ./train/... ./models/... >"$tmp/test.log" 2>&1; then
	test_rc=0
else
	test_rc=$?
	failed=1
fi
passed=$(grep -c -- '--- PASS' "$tmp/test.log" || true)
skipped=$(grep -c -- '--- SKIP' "$tmp/test.log" || true)
fails=$(grep -c -- '--- FAIL' "$tmp/test.log" || true)
if [ "$test_rc" != 0 ]; then
	grep -E -- '--- FAIL|^FAIL|_test.go:[0-9]+:|panic:|cannot|undefined' "$tmp/test.log" | head -40 >&2 || true
	if [ "$fails" = 0 ]; then
		fails="build failed"
	fi
fi
tests="CUDA tests: $passed passed, $skipped skipped, $fails failed"
if [ "$mode" = cpu ]; then
	tests="$tests (CPU against CPU)"
fi
echo "gpu-check: $tests"

# ---- Per-call cost of a tiny op: a one-element add, N calls in chunks of
# 10,000 with one sync each, the fastest chunk; both sides hold their sums
# (Go in a scope, Python in a list of 1000).
"$go" build -o "$tmp/gostep" ./bench/torch/gostep
tiny_args=(--device="$dev" --threads="$threads" --warmup=1 --steps=1 --batch=2 --size=16 --tiny="$tiny")
go_ns=$("$tmp/gostep" "${tiny_args[@]}" 2>"$tmp/gostep.err" | awk '/^tiny_add_ns / {print $2}') || true
py_ns=$("$python" bench/torch/step.py "${tiny_args[@]}" 2>"$tmp/step.err" | awk '/^tiny_add_held_ns / {print $2}') || true
if [ -z "$go_ns" ] || [ -z "$py_ns" ]; then
	cat "$tmp/gostep.err" "$tmp/step.err" >&2
	echo "gpu-check: the tiny-op timing failed" >&2
	failed=1
	overhead="per-op overhead: failed"
else
	overhead=$(awk -v g="$go_ns" -v p="$py_ns" -v n="$tiny" \
		'BEGIN {printf "per-op overhead (1-element add, %d calls, sums held, fastest chunk of 10,000): fkd Go %.0f ns, PyTorch %.0f ns (Go/PyTorch %.2f)", n, g, p, g / p}')
fi
echo "gpu-check: $overhead"

# ---- Training data: the first GPU_CHECK_LIMIT rows of DATA or a synthetic set.
. bench/find-training.sh
data=${DATA:-$training}
if [ -z "$data" ]; then
	n=2000
	if [ "$limit" -gt 0 ]; then n=$limit; fi
	echo "gpu-check: no training data (../shared/data/fkd-ytf/training.zip or data/training.*): a synthetic set of $n faces"
	bin/fkd synth --out "$tmp/synth" --n "$n" --test 1 >/dev/null || die "fkd synth failed"
	data=$tmp/synth/training.csv
	data_name="synthetic ($n faces)"
elif [ ! -f "$data" ]; then
	die "DATA=$data: no such file"
else
	data_name=$(basename "$data")
	if [ "$limit" -gt 0 ]; then
		"$python" bench/head_rows.py "$data" "$limit" "$tmp/train.csv" || die "could not read $data"
		data=$tmp/train.csv
		data_name="$data_name (first $limit faces)"
	fi
fi
echo "gpu-check: training on $data_name, $epochs epochs, batch $batch"

# ---- Memory: nvidia-smi samples on CUDA, the peak RSS on the CPU.
gpu_mem() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i "$gpu" | head -1; }
timer=()
if [ "$mode" = cpu ] && [ -x /usr/bin/time ]; then
	timer=(/usr/bin/time -f '%M' -o "$tmp/rss")
fi
# measure LOG CMD... runs CMD with its output in LOG and sets peak (MiB,
# or "-").
measure() {
	local log=$1 rc=0 idle
	shift
	peak=-
	if [ "$mode" = cuda ]; then
		idle=$(gpu_mem)
		nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i "$gpu" -lms 100 >"$tmp/mem" 2>/dev/null &
		sampler=$!
		"$@" >"$log" 2>&1 || rc=$?
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		sampler=
		peak=$(awk -v idle="$idle" '$1 + 0 > m {m = $1 + 0} END {print (NR ? m - idle : "-")}' "$tmp/mem")
	elif [ ${#timer[@]} -gt 0 ]; then
		rm -f "$tmp/rss"
		"${timer[@]}" "$@" >"$log" 2>&1 || rc=$?
		peak=$(awk 'NR == 1 && $1 ~ /^[0-9]+$/ {printf "%.0f", $1 / 1024}' "$tmp/rss" 2>/dev/null)
		peak=${peak:--}
	else
		"$@" >"$log" 2>&1 || rc=$?
	fi
	return "$rc"
}

# Table rows: name, s/epoch, steps/s, hold-out RMSE, peak memory, epoch seconds.
rows=()
row() { rows+=("$(printf '%s|' "$@")"); }
# summary SECONDS... prints the mean of the epochs after the first.
mean_after_first() { awk '{s = 0; for (i = 2; i <= NF; i++) s += $i; printf "%.3f", s / (NF - 1)}' <<<"$1"; }
steps_per_second() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.1f", n / s}'; }

# fkd_row MODEL AMP trains with fkd train and adds a row.
fkd_row() {
	local model=$1 amp=$2 name="fkd $1 ${2:-fp32}" log=$tmp/fkd-$1-${2:-fp32}.log
	local -a flags=()
	if [ -n "$amp" ]; then
		flags=(--amp "$amp")
		if [ "$mode" = cpu ]; then
			row "$name" skipped "" "" "" "fkd train --amp needs CUDA"
			return
		fi
	fi
	echo "gpu-check: $name"
	rm -rf "$tmp/run"
	if ! measure "$log" bin/fkd train --config /dev/null --train "$data" --test '' --lookup '' \
		--out "$tmp/run/model.pt" --model "$model" --epochs "$epochs" --batch "$batch" \
		--holdout 0.1 --seed 1 --threads "$threads" --device "$dev" "${flags[@]}"; then
		echo "gpu-check: $name failed: $(grep -v '^$' "$log" | tail -1)" >&2
		row "$name" FAILED "" "" "" "$(grep -v '^$' "$log" | tail -1)"
		failed=1
		return
	fi
	local secs rmse steps
	secs=$("$python" -c 'import json, sys; print(" ".join("%.3f" % e["seconds"] for e in json.load(open(sys.argv[1]))["epochs"]))' "$tmp/run/model.history.json")
	rmse=$("$python" -c 'import json, sys; print("%.3f" % json.load(open(sys.argv[1]))["epochs"][-1]["holdout_rmse_px"])' "$tmp/run/model.history.json")
	steps=$(sed -n 's/.*; \([0-9]*\) steps of [0-9]* per epoch.*/\1/p' "$log" | head -1)
	local mean
	mean=$(mean_after_first "$secs")
	row "$name" "$mean" "$(steps_per_second "${steps:-0}" "$mean")" "$rmse" "$peak" "$secs"
}

# torch_row MODEL AMP trains the same net in PyTorch and adds a row.
torch_row() {
	local model=$1 amp=$2 name="pytorch $1 ${2:-fp32}" log=$tmp/torch-$1-${2:-fp32}.log
	if [ "$amp" = fp16 ] && [ "$mode" = cpu ]; then
		row "$name" skipped "" "" "" "fp16 autocast needs CUDA"
		return
	fi
	echo "gpu-check: $name"
	if ! measure "$log" "$python" bench/train/epoch.py --model "$model" --train "$data" --epochs "$epochs" --batch "$batch" \
		--threads "$threads" --holdout 0.1 --seed 1 --device "$dev" --amp "$amp"; then
		echo "gpu-check: $name failed: $(grep -v '^$' "$log" | tail -1)" >&2
		row "$name" FAILED "" "" "" "$(grep -v '^$' "$log" | tail -1)"
		failed=1
		return
	fi
	local secs rmse steps mean
	secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$log" | paste -sd' ')
	rmse=$(grep '^epoch=' "$log" | tail -1 | sed -n 's/.*holdout_rmse_px=\([0-9.]*\).*/\1/p')
	steps=$(grep '^epoch=' "$log" | tail -1 | sed -n 's/.* steps=\([0-9]*\).*/\1/p')
	mean=$(mean_after_first "$secs")
	row "$name" "$mean" "$(steps_per_second "${steps:-0}" "$mean")" "$rmse" "$peak" "$secs"
}

for model in cnn3 fpnheat; do
	for amp in "" bf16 fp16; do
		fkd_row "$model" "$amp"
	done
done
for model in cnn3 fpnheat; do
	for amp in "" bf16 fp16; do
		torch_row "$model" "$amp"
	done
done

# ---- The table, on the terminal and as Markdown.
if [ "$mode" = cuda ]; then
	memcol="peak GPU MiB"
elif [ ${#timer[@]} -gt 0 ]; then
	memcol="peak RSS MiB"
else
	memcol="peak MiB"
fi
header=("gpu-check on $device_name" "fkd $fkd_version" "$overhead" "$tests"
	"$epochs epochs of $data_name, batch $batch; s/epoch is the mean of epochs 2..$epochs")
echo
printf '%s\n' "${header[@]}"
printf '%-22s %10s %10s %14s %13s   %s\n' run "s/epoch" "steps/s" "hold-out RMSE" "$memcol" "epoch seconds / note"
for r in "${rows[@]}"; do
	IFS='|' read -r name secs sps rmse mem note <<<"$r"
	printf '%-22s %10s %10s %14s %13s   %s\n' "$name" "$secs" "$sps" "$rmse" "$mem" "$note"
done

mkdir -p "$(dirname "$out_md")"
{
	echo "## gpu-check: ${device_name%%,*}"
	echo
	for h in "${header[@]}"; do
		echo "- $h"
	done
	echo
	echo "| run | s/epoch | steps/s | hold-out RMSE (px) | $memcol | epoch seconds / note |"
	echo "| --- | ---: | ---: | ---: | ---: | --- |"
	for r in "${rows[@]}"; do
		IFS='|' read -r name secs sps rmse mem note <<<"$r"
		echo "| $name | $secs | $sps | $rmse | $mem | $note |"
	done
} >"$out_md"
echo "gpu-check: table written to $out_md"

if [ "$failed" != 0 ]; then
	echo "gpu-check: FAILED: see the lines above" >&2
	exit 1
fi
