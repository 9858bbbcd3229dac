#!/usr/bin/env bash
# Checks fkd on a CUDA GPU in one run and prints one table: builds fkd
# against the PyTorch that python3 imports, runs the Go tests that need
# CUDA (go test -run '^TestCUDA'), times the per-call cost of a tiny op
# through fkd's Go API and through PyTorch, trains cnn3 and fpnheat with
# fkd in fp32, --amp bf16 and --amp fp16, and the same cnn3 in PyTorch
# (bench/train/epoch.py --model cnn3) on the same device, sampling the GPU's memory
# (nvidia-smi) during each training. The table goes to the terminal and, as
# Markdown for docs/results/gpu.md, to the output folder or GPU_CHECK_OUT.
#
# On CUDA (GPU_CHECK_DEVICE unset or cuda) it fails, saying why, when
# nvidia-smi, PyTorch or the LibTorch fkd is built against (bin/fkd
# version) sees no CUDA device, and when a CUDA test ran without one: the
# tests run with FKD_REQUIRE_CUDA=1, which fails them instead of comparing
# the CPU with itself, and any "cuda-fallback:" line in their output fails
# the check. GPU_CHECK_DEVICE=cpu runs the same end to end on the CPU with
# small sizes (a few hundred faces, 2 epochs): the CUDA tests then compare
# the CPU with itself, the precisions are fp32 and PyTorch's bf16 (fkd
# train --amp needs CUDA), and the memory column is the peak RSS when
# /usr/bin/time exists.
#
# Output: with OUT set (a folder; on the lent GPU machine only what is under
# $OUT comes back), or GPU_CHECK_OUT naming a folder (an existing one, or
# ending in /), everything goes there and stays there, also on failure:
# run.log (all it printed), gpu-check.md (the table, rewritten after each
# row, so a run cut short leaves the rows done), build.log, version.txt,
# test.log, tiny-go.log, tiny-pytorch.log, and one log per training
# (fkd-MODEL-PREC.log with its .history.json, torch-MODEL-PREC.log); on
# CUDA also nvidia-smi.txt. Otherwise the table goes to GPU_CHECK_OUT (a
# file) or output/gpu-check.md and the logs are deleted at exit. A failing
# step prints the last 40 lines of its log (the first failing step only).
#
# It needs python3 with PyTorch, pandas and numpy (on CUDA: a CUDA build
# and nvidia-smi), and Go: GPU_BUNDLE's, else GO, else go on PATH or
# /usr/local/go/bin/go, else GO_TARBALL (a go1.26.x.linux-amd64.tar.gz,
# unpacked into a temporary directory). The Go modules must be in
# GPU_BUNDLE, the module cache or reachable through GOPROXY. A bundle
# (bench/gpu/bundle.sh) is gzip-compressed tars; an older one of .xz files
# unpacks with xz, else with Python's lzma. It exits non-zero when any
# step, test or table row failed.
#
# Environment (defaults in brackets): GPU_CHECK_DEVICE [cuda] (cuda or
# cpu), OUT, GPU_CHECK_OUT [output/gpu-check.md, or OUT/gpu-check.md],
# GPU_BUNDLE, DATA
# [../shared/data/fkd-ytf/training.zip, else data/training.zip or
# data/training.csv, else a synthetic set from fkd synth], EPOCHS [3 on
# CUDA, 2 on the CPU], GPU_CHECK_LIMIT [all faces on CUDA, 300 on the CPU:
# train on the first N rows], BATCH [64], TINY [100000 calls, in chunks of 10000], THREADS
# [nproc], GPU_CHECK_GPU [0, or the first of CUDA_VISIBLE_DEVICES]
# (nvidia-smi's index of the GPU that is cuda:0), GPU_CHECK_TESTS
# [^TestCUDA] and GPU_CHECK_PACKAGES [./torch/... ./train/... ./models/...]
# (the tests run), GPU_CHECK_MODELS [cnn3 fpnheat], GPU_CHECK_BUDGET [0: none] (seconds since the start
# after which the trainings not yet begun are skipped, failing the check,
# so that the table is written within a time limit),
# LIBTORCH [python on CUDA (also when empty);
# as given, else Debian's, on the CPU], PYTHON [python3 or /usr/bin/python3,
# the first with PyTorch, pandas and numpy], GO, GO_TARBALL, GOTOOLCHAIN [local].
#
# Usage: make gpu-check   (or: bash bench/gpu/run.sh; GPU_CHECK_DEVICE=cpu make gpu-check)
# On the lent GPU machine (bench/gpu/README.md), in one 10-minute call:
#	GPU_BUNDLE=.gpu-bundle GPU_CHECK_BUDGET=420 timeout 580 bash bench/gpu/run.sh
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")/../.."

# Set as soon as they are known; die writes the table with what there is.
out_md=
logs=
tee_pid=
result=
first_failure=
device_name=
fkd_version=
overhead=
tests=
data_name=
rows=()

die() {
	echo "gpu-check: $*" >&2
	result="FAILED: $*"
	if [ -n "$out_md" ]; then
		write_table "$result" || true
	fi
	exit 1
}

# step_failed NAME LOG records that step NAME failed; for the first step
# that fails it prints the last 40 lines of LOG.
step_failed() {
	failed=1
	if [ -z "$first_failure" ]; then
		first_failure=$1
		echo "gpu-check: $1 failed; the last 40 lines of $2:" >&2
		tail -n 40 "$2" 2>/dev/null | sed 's/^/  | /' >&2 || true
	fi
}

# abs PATH: PATH made absolute against the folder run.sh was started in.
abs() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$caller/$1" ;;
	esac
}

# make_header sets header to the table's header lines known so far.
make_header() {
	header=()
	if [ -n "$device_name" ]; then header+=("gpu-check on $device_name"); fi
	if [ -n "$fkd_version" ]; then header+=("fkd $fkd_version"); fi
	if [ -n "$overhead" ]; then header+=("$overhead"); fi
	if [ -n "$tests" ]; then header+=("$tests"); fi
	if [ -n "$data_name" ]; then
		header+=("$epochs epochs of $data_name, batch $batch; s/epoch is the mean of epochs 2..$epochs")
	fi
}

# write_table [STATUS] writes the Markdown table of the rows so far to
# out_md, with STATUS (FAILED: ..., or that the run goes on) as the last
# line of its header.
write_table() {
	local status=${1:-} h r name secs sps rmse mem note
	make_header
	mkdir -p "$(dirname "$out_md")"
	{
		echo "## gpu-check: ${device_name%%,*}"
		echo
		for h in "${header[@]}"; do
			echo "- $h"
		done
		if [ -n "$status" ]; then
			echo "- $status"
		fi
		echo
		echo "| run | s/epoch | steps/s | hold-out RMSE (px) | ${memcol:-peak MiB} | epoch seconds / note |"
		echo "| --- | ---: | ---: | ---: | ---: | --- |"
		for r in "${rows[@]}"; do
			IFS='|' read -r name secs sps rmse mem note <<<"$r"
			echo "| $name | $secs | $sps | $rmse | $mem | $note |"
		done
	} >"$out_md.tmp" && mv "$out_md.tmp" "$out_md"
}

mode=${GPU_CHECK_DEVICE:-cuda}
case $mode in
cuda | cpu) ;;
*) die "GPU_CHECK_DEVICE=$mode: want cuda or cpu" ;;
esac
batch=${BATCH:-64}
tiny=${TINY:-100000}
threads=${THREADS:-$(nproc)}
budget=${GPU_CHECK_BUDGET:-0}
[ "$budget" -ge 0 ] 2>/dev/null || die "GPU_CHECK_BUDGET=$budget: want seconds (0: no limit)"
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
	local rc=$?
	if [ -n "$sampler" ]; then
		kill "$sampler" 2>/dev/null || true
	fi
	if [ -n "$vendored" ]; then
		rm -rf vendor
	fi
	rm -rf "$tmp"
	if [ -n "$tee_pid" ]; then
		if [ "$rc" != 0 ]; then
			echo "gpu-check: failed (exit status $rc); the table and the logs are in $logs"
		fi
		# Let tee write the last lines to run.log before the script ends.
		exec >&- 2>&-
		wait "$tee_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
# on_signal: a run cut short (timeout, Ctrl-C) still says so in the table.
on_signal() {
	trap '' PIPE
	result="FAILED: interrupted by SIG$1 after $SECONDS s"
	if [ -n "$out_md" ]; then
		write_table "$result" || true
	fi
	echo "gpu-check: $result" >&2 || true
	exit 1
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT

# ---- Where the table and the logs go: OUT, or GPU_CHECK_OUT naming a
# folder, keeps them all; else the table goes to GPU_CHECK_OUT or
# output/gpu-check.md and the logs to $tmp.
out_dir=
if [ -n "${GPU_CHECK_OUT:-}" ]; then
	if [ -d "$GPU_CHECK_OUT" ] || [ "${GPU_CHECK_OUT%/}" != "$GPU_CHECK_OUT" ]; then
		out_dir=$(abs "${GPU_CHECK_OUT%/}")
	else
		out_md=$(abs "$GPU_CHECK_OUT")
	fi
fi
if [ -z "$out_dir" ] && [ -n "${OUT:-}" ]; then
	out_dir=$(abs "$OUT")
fi
if [ -n "$out_dir" ]; then
	mkdir -p "$out_dir" || die "cannot make the output folder $out_dir"
	logs=$out_dir
	out_md=${out_md:-$out_dir/gpu-check.md}
	# Everything printed from here on goes to run.log as well.
	exec > >(tee "$logs/run.log") 2>&1
	tee_pid=$!
	echo "gpu-check: the table and the logs go to $out_dir"
else
	logs=$tmp
	out_md=${out_md:-output/gpu-check.md}
fi

# ---- Python with PyTorch, and on CUDA the driver and a CUDA PyTorch.
# pyc runs Python code from / so that the repository's torch/ folder cannot
# pass for PyTorch (Python puts the working folder first on its path).
pyc() {
	local py=$1
	shift
	(cd / && "$py" -c "$@")
}
torch_version=
python=${PYTHON:-}
if [ -z "$python" ]; then
	for p in python3 /usr/bin/python3; do
		if command -v "$p" >/dev/null 2>&1 &&
			torch_version=$(pyc "$p" 'import torch, pandas, numpy; print(torch.__version__)' 2>/dev/null); then
			python=$(command -v "$p")
			break
		fi
	done
	[ -n "$python" ] || die "no python3 with PyTorch, pandas and numpy (import fails in python3 and /usr/bin/python3); set PYTHON=/path/to/python"
fi
[ -n "$torch_version" ] || torch_version=$(pyc "$python" 'import torch, pandas, numpy; print(torch.__version__)' 2>/dev/null) ||
	die "$python lacks PyTorch, pandas or numpy (pip install torch pandas numpy, or make deps-bench)"
export PYTHON=$python

if [ "$mode" = cuda ]; then
	command -v nvidia-smi >/dev/null 2>&1 ||
		die "no CUDA device: nvidia-smi not found, no NVIDIA driver on this machine (GPU_CHECK_DEVICE=cpu runs the check on the CPU)"
	nvidia-smi >"$logs/nvidia-smi.txt" 2>&1 || true
	nvidia-smi -L >/dev/null 2>&1 ||
		die "no CUDA device: nvidia-smi fails ($(nvidia-smi -L 2>&1 | head -1)): the NVIDIA driver is not working"
	cuda_info=$(pyc "$python" 'import torch; print(int(torch.cuda.is_available()), torch.version.cuda or "no")' 2>/dev/null) ||
		cuda_info="0 unknown"
	read -r cuda_ok cuda_version <<<"$cuda_info"
	[ "$cuda_ok" = 1 ] ||
		die "no CUDA device: PyTorch $torch_version in $python sees none (CUDA build: $cuda_version); install a CUDA PyTorch, or check the driver"
	device_name="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader -i "$gpu" |
		awk -F', ' '{printf "%s (%s, driver %s)", $1, $2, $3}'), PyTorch $torch_version, CUDA $cuda_version"
	dev=cuda
else
	device_name="CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $threads threads, PyTorch $torch_version"
	dev=cpu
fi

# ---- A bundle from bench/gpu/bundle.sh: Go, the modules, training data,
# as gzip-compressed tars (an older bundle's .xz files unpack too). Only
# tar and gzip are needed; without gzip (or xz) Python unpacks them.
# bundled NAME prints the bundle's NAME.gz, else NAME.xz.
bundled() {
	local f
	for f in "$GPU_BUNDLE/$1.gz" "$GPU_BUNDLE/$1.xz"; do
		if [ -f "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}
# unz FILE writes FILE decompressed to stdout.
unz() {
	local f
	f=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
	case $f in
	*.gz)
		if command -v gzip >/dev/null 2>&1; then
			gzip -dc "$f"
		else
			pyc "$python" 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), sys.stdout.buffer)' "$f"
		fi
		;;
	*.xz)
		if command -v xz >/dev/null 2>&1; then
			xz -dc "$f"
		else
			pyc "$python" 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$f"
		fi
		;;
	*) cat "$f" ;;
	esac
}
if [ -n "${GPU_BUNDLE:-}" ]; then
	f=$(bundled go.tar) || die "GPU_BUNDLE=$GPU_BUNDLE has no go.tar.gz: make it with bench/gpu/bundle.sh"
	mkdir -p "$tmp/goroot"
	unz "$f" | tar -C "$tmp/goroot" -xf - || die "GPU_BUNDLE=$GPU_BUNDLE: could not unpack $f"
	# The toolchain's folder is go/ (an older bundle kept its source's name).
	GO=$(ls -d "$tmp"/goroot/*/bin/go 2>/dev/null | head -1) || true
	[ -n "$GO" ] && [ -x "$GO" ] || die "GPU_BUNDLE=$GPU_BUNDLE: $f holds no */bin/go"
	if f=$(bundled vendor.tar) && [ ! -e vendor ]; then
		unz "$f" | tar -xf - || die "GPU_BUNDLE=$GPU_BUNDLE: could not unpack $f"
		vendored=1
		export GOFLAGS="-mod=vendor ${GOFLAGS:-}"
	fi
	if [ -z "${DATA:-}" ] && f=$(bundled training.csv); then
		unz "$f" >"$tmp/training.csv" || die "GPU_BUNDLE=$GPU_BUNDLE: could not unpack $f"
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
if [ -z "$vendored" ] && ! "$go" mod download >"$logs/mod.log" 2>&1; then
	step_failed "go mod download" "$logs/mod.log"
	die "the Go modules are neither in the module cache nor reachable through GOPROXY: run 'go mod download' in this repository on a connected machine and copy its $("$go" env GOMODCACHE) to $("$go" env GOMODCACHE) here, or use a bundle (bench/gpu/bundle.sh)"
fi

# ---- Build, and the cgo settings of that build for go test and go build.
lt=${LIBTORCH:-}
if [ "$mode" = cuda ]; then
	lt=${LIBTORCH:-python}
fi
# Without OpenCV's or dlib's development files (a GPU machine with only
# LibTorch), fkd builds without face detection or without dlib's
# detector, as make build does.
fkd_tags=
pkg-config --exists opencv4 2>/dev/null || fkd_tags=noopencv
pkg-config --exists dlib-1 2>/dev/null || fkd_tags="${fkd_tags:+$fkd_tags,}nodlib"
tags_flag=
if [ -n "$fkd_tags" ]; then
	tags_flag="-tags=$fkd_tags"
fi
# build_without_make does what make build does, for a machine without make.
build_without_make() {
	mkdir -p bin &&
		"$go" build -o bin/libtorch-config ./cmd/libtorch-config &&
		PYTHON="$python" LIBTORCH="$lt" bin/libtorch-config >bin/libtorch.env &&
		(set -a && . ./bin/libtorch.env && set +a &&
			echo "libtorch: $FKD_LIBTORCH_DESC" &&
			GOFLAGS="${GOFLAGS:-} $tags_flag" "$go" build -ldflags "$FKD_GO_LDFLAGS" -o bin/fkd ./cmd/fkd)
}
echo "gpu-check: building fkd (LIBTORCH=$lt; log: $logs/build.log)"
if command -v make >/dev/null; then
	if ! make build GO="$go" PYTHON="$python" LIBTORCH="$lt" >"$logs/build.log" 2>&1; then
		step_failed "make build" "$logs/build.log"
		die "make build failed (LIBTORCH=$lt): see $logs/build.log"
	fi
elif ! build_without_make >"$logs/build.log" 2>&1; then
	step_failed "the build" "$logs/build.log"
	die "the build failed (LIBTORCH=$lt): see $logs/build.log"
fi
grep '^libtorch:' "$logs/build.log" || true
[ -f bin/libtorch.env ] || die "make build wrote no bin/libtorch.env"
export GOFLAGS="${GOFLAGS:-} $tags_flag"
set -a
. ./bin/libtorch.env
set +a
if bin/fkd version >"$logs/version.txt" 2>&1; then
	cat "$logs/version.txt"
	fkd_version=$(head -1 "$logs/version.txt" | sed 's/^fkd[[:space:]]*//')
elif [ "$mode" = cuda ]; then
	step_failed "bin/fkd version" "$logs/version.txt"
	die "bin/fkd version failed: $(tail -1 "$logs/version.txt")"
else
	echo "gpu-check: bin/fkd version failed: $(tail -1 "$logs/version.txt")" >&2
	fkd_version="(fkd version failed)"
fi
# On CUDA, the LibTorch fkd is built against must see the GPU itself:
# PyTorch seeing it is not enough.
if [ "$mode" = cuda ]; then
	if ! grep -Eq '^CUDA[[:space:]]+yes' "$logs/version.txt"; then
		step_failed "the CUDA check" "$logs/version.txt"
		die "no CUDA device for fkd: bin/fkd is built against a CPU-only LibTorch ($FKD_LIBTORCH_DESC); see $logs/version.txt"
	fi
	if ! grep -Eq '^[[:space:]]+cuda:[0-9]+: ' "$logs/version.txt"; then
		step_failed "the CUDA check" "$logs/version.txt"
		die "no CUDA device for fkd: LibTorch $FKD_LIBTORCH_VERSION in bin/fkd sees no GPU although PyTorch does; see $logs/version.txt"
	fi
fi

failed=0

# ---- The Go tests that need CUDA (on the CPU: CPU against CPU). On CUDA,
# FKD_REQUIRE_CUDA=1 fails a test that finds no device (internal/fkdtest)
# instead of letting it compare the CPU with itself.
tests_re=${GPU_CHECK_TESTS:-^TestCUDA}
read -r -a pkgs <<<"${GPU_CHECK_PACKAGES:-./torch/... ./train/... ./models/...}"
require=
if [ "$mode" = cuda ]; then
	require=1
fi
echo "gpu-check: go test -count=1 -run '$tests_re' ${pkgs[*]} (log: $logs/test.log)"
if FKD_REQUIRE_CUDA=$require "$go" test -count=1 -v -run "$tests_re" "${pkgs[@]}" >"$logs/test.log" 2>&1; then
	test_rc=0
else
	test_rc=$?
fi
passed=$(grep -c -- '--- PASS' "$logs/test.log" || true)
skipped=$(grep -c -- '--- SKIP' "$logs/test.log" || true)
fails=$(grep -c -- '--- FAIL' "$logs/test.log" || true)
fallbacks=$(grep -c 'cuda-fallback:' "$logs/test.log" || true)
if [ "$test_rc" != 0 ]; then
	grep -E -- '--- FAIL|^FAIL|_test.go:[0-9]+:|panic:|cannot|undefined' "$logs/test.log" | head -40 >&2 || true
	if [ "$fails" = 0 ]; then
		fails="build failed"
	fi
	step_failed "the CUDA tests" "$logs/test.log"
fi
tests="CUDA tests: $passed passed, $skipped skipped, $fails failed"
if [ "$mode" = cpu ]; then
	tests="$tests (CPU against CPU)"
elif [ "$fallbacks" != 0 ]; then
	tests="$tests; FAILED: $fallbacks found no CUDA device (cuda-fallback: lines in test.log)"
	step_failed "the CUDA tests" "$logs/test.log"
elif [ "$passed" = 0 ]; then
	tests="$tests; FAILED: none passed"
	step_failed "the CUDA tests" "$logs/test.log"
fi
echo "gpu-check: $tests"
write_table "incomplete: the check is still running"

# ---- Per-call cost of a tiny op: a one-element add, N calls in chunks of
# 10,000 with one sync each, the fastest chunk; both sides hold their sums
# (Go in a scope, Python in a list of 1000).
tiny_args=(--device="$dev" --threads="$threads" --warmup=1 --steps=1 --batch=2 --size=16 --tiny="$tiny")
go_ns=
py_ns=
if "$go" build -o "$tmp/gostep" ./bench/torch/gostep >"$logs/tiny-go.log" 2>&1; then
	go_ns=$("$tmp/gostep" "${tiny_args[@]}" 2>>"$logs/tiny-go.log" | tee -a "$logs/tiny-go.log" | awk '/^tiny_add_ns / {print $2}') || true
fi
py_ns=$("$python" bench/torch/step.py "${tiny_args[@]}" 2>"$logs/tiny-pytorch.log" | tee -a "$logs/tiny-pytorch.log" | awk '/^tiny_add_held_ns / {print $2}') || true
if [ -z "$go_ns" ] || [ -z "$py_ns" ]; then
	if [ -z "$go_ns" ]; then
		step_failed "the tiny-op timing in Go" "$logs/tiny-go.log"
	else
		step_failed "the tiny-op timing in PyTorch" "$logs/tiny-pytorch.log"
	fi
	echo "gpu-check: the tiny-op timing failed" >&2
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
	if ! bin/fkd synth --out "$tmp/synth" --train-faces "$n" --test-faces 1 >"$logs/synth.log" 2>&1; then
		step_failed "fkd synth" "$logs/synth.log"
		die "fkd synth failed"
	fi
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
if [ "$mode" = cuda ]; then
	memcol="peak GPU MiB"
elif [ ${#timer[@]} -gt 0 ]; then
	memcol="peak RSS MiB"
else
	memcol="peak MiB"
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

# Table rows: name, s/epoch, steps/s, hold-out RMSE, peak memory, epoch
# seconds; the Markdown table is rewritten after each.
row() {
	rows+=("$(printf '%s|' "$@")")
	write_table "incomplete: the check is still running"
}
# summary SECONDS... prints the mean of the epochs after the first.
mean_after_first() { awk '{s = 0; for (i = 2; i <= NF; i++) s += $i; printf "%.3f", s / (NF - 1)}' <<<"$1"; }
steps_per_second() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.1f", n / s}'; }
# out_of_time NAME adds a skipped row and fails the check when
# GPU_CHECK_BUDGET seconds have passed.
out_of_time() {
	if [ "$budget" -gt 0 ] && [ "$SECONDS" -ge "$budget" ]; then
		echo "gpu-check: $1 skipped: GPU_CHECK_BUDGET=$budget s reached after $SECONDS s" >&2
		row "$1" skipped "" "" "" "out of time (GPU_CHECK_BUDGET=$budget s)"
		failed=1
		if [ -z "$first_failure" ]; then
			first_failure="the time budget (GPU_CHECK_BUDGET=$budget s)"
		fi
		return 0
	fi
	return 1
}

# fkd_row MODEL AMP trains with fkd train and adds a row.
fkd_row() {
	local model=$1 amp=$2 name="fkd $1 ${2:-fp32}" log=$logs/fkd-$1-${2:-fp32}.log
	local -a flags=()
	if [ -n "$amp" ]; then
		flags=(--amp "$amp")
		if [ "$mode" = cpu ]; then
			row "$name" skipped "" "" "" "fkd train --amp needs CUDA"
			return
		fi
	fi
	if out_of_time "$name"; then
		return
	fi
	echo "gpu-check: $name"
	rm -rf "$tmp/run"
	if ! measure "$log" bin/fkd train --config /dev/null --train "$data" --test '' --lookup '' \
		--out "$tmp/run/model.pt" --arch "$model" --epochs "$epochs" --batch "$batch" \
		--holdout 0.1 --seed 1 --threads "$threads" --device "$dev" "${flags[@]}"; then
		echo "gpu-check: $name failed: $(grep -v '^$' "$log" | tail -1)" >&2
		step_failed "$name" "$log"
		row "$name" FAILED "" "" "" "$(grep -v '^$' "$log" | tail -1)"
		return
	fi
	cp "$tmp/run/model.history.json" "${log%.log}.history.json" 2>/dev/null || true
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
	local model=$1 amp=$2 name="pytorch $1 ${2:-fp32}" log=$logs/torch-$1-${2:-fp32}.log
	if [ "$amp" = fp16 ] && [ "$mode" = cpu ]; then
		row "$name" skipped "" "" "" "fp16 autocast needs CUDA"
		return
	fi
	if out_of_time "$name"; then
		return
	fi
	echo "gpu-check: $name"
	if ! measure "$log" "$python" bench/train/epoch.py --model "$model" --train "$data" --epochs "$epochs" --batch "$batch" \
		--threads "$threads" --holdout 0.1 --seed 1 --device "$dev" --amp "$amp"; then
		echo "gpu-check: $name failed: $(grep -v '^$' "$log" | tail -1)" >&2
		step_failed "$name" "$log"
		row "$name" FAILED "" "" "" "$(grep -v '^$' "$log" | tail -1)"
		return
	fi
	local secs rmse steps mean
	secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$log" | paste -sd' ')
	rmse=$(grep '^epoch=' "$log" | tail -1 | sed -n 's/.*holdout_rmse_px=\([0-9.]*\).*/\1/p')
	steps=$(grep '^epoch=' "$log" | tail -1 | sed -n 's/.* steps=\([0-9]*\).*/\1/p')
	mean=$(mean_after_first "$secs")
	row "$name" "$mean" "$(steps_per_second "${steps:-0}" "$mean")" "$rmse" "$peak" "$secs"
}

read -r -a models <<<"${GPU_CHECK_MODELS:-cnn3 fpnheat}"
for model in "${models[@]}"; do
	for amp in "" bf16 fp16; do
		fkd_row "$model" "$amp"
	done
done
for model in "${models[@]}"; do
	for amp in "" bf16 fp16; do
		torch_row "$model" "$amp"
	done
done

# ---- The table, on the terminal and as Markdown.
make_header
echo
printf '%s\n' "${header[@]}"
printf '%-22s %10s %10s %14s %13s   %s\n' run "s/epoch" "steps/s" "hold-out RMSE" "$memcol" "epoch seconds / note"
for r in "${rows[@]}"; do
	IFS='|' read -r name secs sps rmse mem note <<<"$r"
	printf '%-22s %10s %10s %14s %13s   %s\n' "$name" "$secs" "$sps" "$rmse" "$mem" "$note"
done

if [ "$failed" != 0 ]; then
	result="FAILED: $first_failure failed first"
fi
write_table "$result"
echo "gpu-check: table written to $out_md"

if [ "$failed" != 0 ]; then
	if [ -n "$out_dir" ]; then
		echo "gpu-check: FAILED: $first_failure failed first (see above; the logs are in $logs)" >&2
	else
		echo "gpu-check: FAILED: $first_failure failed first (see above; OUT=DIR keeps the logs)" >&2
	fi
	exit 1
fi
