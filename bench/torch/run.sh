#!/usr/bin/env bash
# Times one training step of the same small conv net (see gostep/main.go)
# through fkd's Go binding, LibTorch's C++ frontend (step.cpp) and PyTorch
# (step.py), all on the same LibTorch and thread count, and the per-call
# cost of adding two one-element tensors. Prints a table and the ratios.
#
# The three run in turn, ROUNDS times, and each keeps its best median, so
# that load from other processes counts against none of them in
# particular. All three must report the same losses: they start from the
# same seed and do the same arithmetic.
#
# Each program times the tiny add in chunks of 10,000 calls and reports
# its fastest chunk, and the verdicts compare like with like: sums held
# (Go's scope, a C++ vector, a Python list of 1000) or each dropped at
# once. gostep runs on one locked OS thread, as fkd train does, and also
# reports the held adds without that lock.
#
# Environment (defaults in brackets): THREADS [nproc], WARMUP [5],
# STEPS [30], ROUNDS [5], BATCH [64], SIZE [96], TINY [200000 calls],
# LIBTORCH [Debian's], PYTHON [/usr/bin/python3], GO [go], GOSTEP_FLAGS
# [none] (extra gostep flags, e.g. -lock-thread=false).
#
# With glibc's default malloc, the step's 36 MB activations are mmap'd and
# unmapped every step, and page faults take a large, erratic share of the
# time. fkd's torch package raises glibc's thresholds when it loads, and
# step.cpp does the same. fkd also runs OpenBLAS's calls on the calling
# thread (its own worker threads otherwise spin in sched_yield beside
# LibTorch's OpenMP threads); the C++ program gets the same through
# OPENBLAS_NUM_THREADS=1, so Go/C++ compares the bindings alone. Python
# runs twice: as shipped ("Python"), and with the same settings made through
#   GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824
#   OPENBLAS_NUM_THREADS=1
# ("Python tuned"), so the table shows what the settings are worth.
#
# Usage: bench/torch/run.sh   (or: make bench)
set -euo pipefail
cd "$(dirname "$0")/../.."

threads=${THREADS:-$(nproc)}
warmup=${WARMUP:-5}
steps=${STEPS:-30}
rounds=${ROUNDS:-5}
batch=${BATCH:-64}
size=${SIZE:-96}
tiny=${TINY:-200000}
python=${PYTHON:-/usr/bin/python3}
go=${GO:-go}
build=bench/torch/build
mkdir -p "$build"

# The C++ program is built against the LibTorch the Go binding uses: the
# cgo flags that "make libtorch" wrote to bin/libtorch.env (make bench
# exports them), or Debian's LibTorch without them. It is rebuilt when
# step.cpp or the flags change.
if [ -z "${CGO_LDFLAGS:-}" ] && [ -f bin/libtorch.env ]; then
	set -a
	. bin/libtorch.env
	set +a
fi
read -ra cxxflags <<<"${CGO_CXXFLAGS:-}"
read -ra ldflags <<<"${CGO_LDFLAGS:-}"
cxxflags+=(-I/usr/include/torch/csrc/api/include)
key=$(echo "${cxxflags[*]} ${ldflags[*]}" | cksum | cut -d' ' -f1)
cpp=$build/step-$key
if [ ! -x "$cpp" ] || [ bench/torch/step.cpp -nt "$cpp" ]; then
	echo "building $cpp (g++, about a minute)" >&2
	nice g++ -O2 -std=c++20 -Wno-deprecated-declarations "${cxxflags[@]}" bench/torch/step.cpp \
		-o "$cpp.tmp" "${ldflags[@]}" -ltorch -ltorch_cpu -lc10
	mv "$cpp.tmp" "$cpp"
fi
"$go" build -o "$build/gostep" ./bench/torch/gostep

impls=(go cpp)
if (cd / && "$python" -c 'import torch') 2>/dev/null; then
	impls+=(py pytuned)
else
	echo "no PyTorch in $python: Python column skipped (make deps-bench installs python3-torch)" >&2
fi

args=(--threads="$threads" --warmup="$warmup" --steps="$steps" --batch="$batch" --size="$size" --tiny="$tiny")
run_impl() {
	case $1 in
	go) "$build/gostep" "${args[@]}" ${GOSTEP_FLAGS:-} ;;
	cpp) OPENBLAS_NUM_THREADS=1 "$cpp" "${args[@]}" ;;
	py) "$python" bench/torch/step.py "${args[@]}" ;;
	pytuned) GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824 \
		OPENBLAS_NUM_THREADS=1 "$python" bench/torch/step.py "${args[@]}" ;;
	esac
}

# field NAME LINE prints the value of NAME=value in LINE.
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<" $2"; }

declare -A best_dropped
declare -A best_ms best_min best_tiny best_held best_freed best_unscoped best_unlocked loss_first loss_last version
# keep_lower NAME KEY VALUE sets NAME[KEY] to VALUE when it is lower (or unset).
keep_lower() {
	local -n arr=$1
	[ -n "$3" ] || return 0
	if [ -z "${arr[$2]:-}" ] || awk -v a="$3" -v b="${arr[$2]}" 'BEGIN {exit !(a < b)}'; then
		arr[$2]=$3
	fi
}
for ((r = 1; r <= rounds; r++)); do
	for impl in "${impls[@]}"; do
		out=$(run_impl "$impl")
		step=$(grep '^step_ms ' <<<"$out")
		ms=$(field median "$step")
		mn=$(field min "$step")
		tn=$(awk '/^tiny_add_ns / {print $2}' <<<"$out")
		if [ -z "${best_ms[$impl]:-}" ] || awk -v a="$ms" -v b="${best_ms[$impl]}" 'BEGIN {exit !(a < b)}'; then
			best_ms[$impl]=$ms
			best_min[$impl]=$mn
		fi
		keep_lower best_tiny "$impl" "$tn"
		keep_lower best_held "$impl" "$(awk '/^tiny_add_held_ns / {print $2}' <<<"$out")"
		keep_lower best_freed "$impl" "$(awk '/^tiny_add_freed_ns / {print $2}' <<<"$out")"
		keep_lower best_unscoped "$impl" "$(awk '/^tiny_add_unscoped_ns / {print $2}' <<<"$out")"
		keep_lower best_unlocked "$impl" "$(awk '/^tiny_add_unlocked_ns / {print $2}' <<<"$out")"
		loss_first[$impl]=$(field loss_first "$step")
		loss_last[$impl]=$(field loss_last "$step")
		version[$impl]=$(field libtorch "$(grep '^threads=' <<<"$out")")
	done
done

declare -A names=([go]="Go (fkd)" [cpp]="C++ frontend" [py]="Python" [pytuned]="Python tuned")
echo "conv net training step: batch ${batch}x1x${size}x${size}, float32, Adam; $threads threads;" \
	"$warmup warm-up + $steps timed steps; best median of $rounds rounds"
# Go's tiny add is always made in a scope that holds the sums until it
# closes, as a training step holds its tensors; that is also its "held"
# figure. C++ and Python drop each sum at once ("tiny add") or hold them
# in a vector or list of 1000 ("held").
best_held[go]=${best_tiny[go]:-}
best_dropped[go]=${best_freed[go]:-}
for impl in cpp py pytuned; do best_dropped[$impl]=${best_tiny[$impl]:-}; done
printf '%-14s %-10s %12s %12s %16s %16s %14s\n' implementation libtorch "ms/step" "min ms" "tiny add, held" "tiny add, drop" "final loss"
for impl in "${impls[@]}"; do
	printf '%-14s %-10s %12.1f %12.1f %16s %16s %14s\n' "${names[$impl]}" "${version[$impl]}" \
		"${best_ms[$impl]}" "${best_min[$impl]}" "${best_held[$impl]:--}" "${best_dropped[$impl]:--}" "${loss_last[$impl]}"
done
echo "tiny add, ns per call, the fastest chunk of 10,000 calls: held = the sums kept until 1000 are made" \
	"(Go: in a scope that frees them when it closes, as a training step; C++ and Python: in a vector or list);" \
	"drop = each sum freed at once (Go: by Free, a second call)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r <= t ? "within" : "OVER")}'; }
r=$(ratio "${best_ms[go]}" "${best_ms[cpp]}")
echo "step Go/C++:    $r ($(verdict "$r" 1.03) target <= 1.03)"
if [ -n "${best_ms[py]:-}" ]; then
	r=$(ratio "${best_ms[go]}" "${best_ms[py]}")
	echo "step Go/Python: $r ($(verdict "$r" 1.0) target <= 1.0)"
	echo "step Go/Python tuned: $(ratio "${best_ms[go]}" "${best_ms[pytuned]}")"
fi
if [ -n "${best_tiny[go]:-}" ]; then
	# Like with like: Go's scope holds its sums as the C++ vector and the
	# Python list hold theirs; Go's Free drops each sum at once (a second
	# call) as the C++ and Python loops drop theirs.
	r=$(ratio "${best_tiny[go]}" "${best_held[cpp]}")
	echo "tiny add Go/C++, both holding their sums: $r ($(verdict "$r" 1.3) target <= 1.3; ${best_tiny[go]} vs ${best_held[cpp]} ns/call)"
	r=$(ratio "${best_freed[go]}" "${best_tiny[cpp]}")
	echo "tiny add Go/C++, both dropping each sum: $r ($(verdict "$r" 1.3) target <= 1.3; ${best_freed[go]} vs ${best_tiny[cpp]} ns/call)"
	echo "tiny add Go holding / C++ dropping: $(ratio "${best_tiny[go]}" "${best_tiny[cpp]}")"
	if [ -n "${best_tiny[py]:-}" ]; then
		r=$(ratio "${best_tiny[go]}" "${best_held[py]}")
		echo "tiny add Go/Python, both holding: $r ($(verdict "$r" 0.999) target < 1.0; Python ${best_held[py]} ns/call)"
		r=$(ratio "${best_freed[go]}" "${best_tiny[py]}")
		echo "tiny add Go/Python, both dropping: $r ($(verdict "$r" 0.999) target < 1.0; Python ${best_tiny[py]} ns/call)"
	fi
	echo "tiny add outside any scope (with the runtime cleanup a forgotten Free needs): Go ${best_unscoped[go]:--} ns/call," \
		"$(ratio "${best_unscoped[go]}" "${best_tiny[cpp]}") x C++ dropping each"
	if [ -n "${best_unlocked[go]:-}" ]; then
		echo "tiny add held, goroutine locked to its thread only inside each scope: Go ${best_unlocked[go]} ns/call," \
			"$(ratio "${best_unlocked[go]}" "${best_held[cpp]}") x C++ holding"
	fi
fi

# Same seed, same net, same LibTorch: the losses must agree, or the
# programs are not timing the same work.
for impl in "${impls[@]}"; do
	if [ "${loss_first[$impl]}/${loss_last[$impl]}" != "${loss_first[go]}/${loss_last[go]}" ]; then
		echo "WARNING: losses differ: Go ${loss_first[go]} -> ${loss_last[go]}," \
			"${names[$impl]} ${loss_first[$impl]} -> ${loss_last[$impl]}" >&2
	fi
done
echo "losses (first -> last step): Go ${loss_first[go]} -> ${loss_last[go]}"
