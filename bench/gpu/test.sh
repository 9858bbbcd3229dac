#!/usr/bin/env bash
# test.sh checks bench/gpu/bundle.sh and bench/gpu/run.sh quickly (about
# two minutes; it reuses the build cache and runs one go test package at
# most), without a GPU; CI runs it before the CPU rehearsal:
#
#  a. bundle.sh packs gzip tars with the Go toolchain as go/; with xz
#     hidden from PATH, run.sh unpacks the bundle and builds and trains
#     with the bundle's Go and data;
#  b. on CUDA (GPU_CHECK_DEVICE unset) run.sh fails, saying "no CUDA
#     device", when the driver fails, and when nvidia-smi and PyTorch
#     (both faked) report a GPU that the LibTorch fkd is built against
#     does not see (the tests' side, FKD_REQUIRE_CUDA=1 failing a CUDA test
#     that finds no device, is internal/fkdtest's TestDevice);
#  c. with OUT set and a step forced to fail (the CUDA tests, given a
#     package that does not exist), the table and every log are in OUT
#     after the run, the status is non-zero and the first failing step's
#     last lines are printed.
#
# Usage: bash bench/gpu/test.sh   (KEEP=1 keeps its temporary folder)
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
choice=
if [ -f bin/libtorch.choice ]; then
	choice=$(cat bin/libtorch.choice)
fi
cleanup() {
	# The GPU-mode case builds with LIBTORCH=system (Debian's, as CI's
	# build): put back the remembered choice of LibTorch.
	if [ -n "$choice" ] || [ -f bin/libtorch.choice ]; then
		printf '%s\n' "$choice" >bin/libtorch.choice
	fi
	if [ -z "${KEEP:-}" ]; then
		rm -rf "$t"
	else
		echo "gpu-test: kept $t"
	fi
}
trap cleanup EXIT
fails=0
fail() {
	echo "gpu-test: FAIL: $*" >&2
	fails=$((fails + 1))
}
# expect FILE PATTERN: FILE has a line matching the extended regexp.
expect() {
	grep -Eq -- "$2" "$1" || fail "$(basename "$1") has no line matching '$2'"
}
start=$SECONDS
# Python with PyTorch, as run.sh finds it (outside the repository, whose
# torch/ folder would pass for PyTorch).
python=${PYTHON:-}
if [ -z "$python" ]; then
	for p in python3 /usr/bin/python3; do
		if command -v "$p" >/dev/null 2>&1 && (cd / && "$p" -c 'import torch, pandas, numpy') 2>/dev/null; then
			python=$(command -v "$p")
			break
		fi
	done
fi
[ -n "$python" ] || { echo "gpu-test: no python3 with PyTorch, pandas and numpy" >&2; exit 1; }

# A PATH without xz: links to every command on PATH but xz and its kin.
mkdir -p "$t/noxz"
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
	[ -d "$d" ] || continue
	for f in "$d"/*; do
		n=${f##*/}
		case $n in
		xz | unxz | xzcat | xzdec | lzma | unlzma | lzcat | lzmadec) continue ;;
		esac
		if [ -x "$f" ] && [ ! -d "$f" ] && [ ! -e "$t/noxz/$n" ]; then
			ln -s "$f" "$t/noxz/$n"
		fi
	done
done
noxz=$t/noxz
if PATH=$noxz command -v xz >/dev/null 2>&1; then
	fail "xz is still on the test's PATH"
fi

# ---- a. A bundle of gzip tars, Go as go/, unpacked without xz. The Go
# packed is a copy of this one in a folder not named go (as Debian's
# /usr/lib/go-1.xx).
echo "gpu-test: a. bundle.sh (the first 60 faces) of a Go in golang-1.x/, unpacked without xz"
goroot=$(go env GOROOT)
# Hard links where Go and $t share a file system (instant), else a copy.
if ! cp -al "$goroot" "$t/golang-1.x" 2>/dev/null; then
	rm -rf "$t/golang-1.x"
	mkdir -p "$t/golang-1.x"
	(cd "$goroot" && tar -cf - bin/go pkg/tool pkg/include src VERSION go.env lib 2>/dev/null) | tar -xf - -C "$t/golang-1.x" || true
fi
bgo=$t/golang-1.x/bin/go
if [ ! -x "$bgo" ] || [ "$(env -u GOROOT "$bgo" env GOROOT)" != "$t/golang-1.x" ]; then
	echo "gpu-test: the copy of Go in $t/golang-1.x does not work; packing $goroot instead"
	bgo=$(command -v go)
fi
if env -u GOROOT GO="$bgo" GPU_BUNDLE_FACES=60 GPU_BUNDLE_LIMIT_MIB=100000 bash bench/gpu/bundle.sh "$t/bundle" >"$t/bundle.log" 2>&1; then
	if [ "$bgo" = "$t/golang-1.x/bin/go" ]; then
		expect "$t/bundle.log" "^gpu-bundle: Go go[0-9.]+ from $t/golang-1.x, packed as go/"
	fi
	rm -rf "$t/golang-1.x"
	expect "$t/bundle.log" '^gpu-bundle: [0-9.]+ MiB in .* MiB of working tree = [0-9.]+ MiB of'
	for f in go.tar.gz vendor.tar.gz training.csv.gz; do
		[ -f "$t/bundle/$f" ] || fail "the bundle has no $f"
	done
	if ! PATH=$noxz tar -tzf "$t/bundle/go.tar.gz" >"$t/go.list" 2>"$t/go.err"; then
		fail "go.tar.gz does not unpack without xz: $(tail -1 "$t/go.err")"
	fi
	expect "$t/go.list" '^go/bin/go$'
	grep -Eqv '^go/' "$t/go.list" && fail "go.tar.gz has members outside go/: $(grep -Ev '^go/' "$t/go.list" | head -1)"
	PATH=$noxz tar -tzf "$t/bundle/vendor.tar.gz" >"$t/vendor.list" 2>&1 || fail "vendor.tar.gz does not unpack without xz"
	expect "$t/vendor.list" '^vendor/modules.txt$'
	# The vendor folder would land in this shared tree: run.sh uses the
	# module cache here (it unpacks vendor.tar.gz only where ./vendor is
	# absent, as on the GPU machine).
	rm "$t/bundle/vendor.tar.gz"
else
	cat "$t/bundle.log" >&2
	fail "bundle.sh failed"
fi
echo "gpu-test: a. done ($((SECONDS - start)) s)"

# ---- a and c. The CPU rehearsal from the bundle, without xz, OUT set and
# the CUDA tests forced to fail (no such package): the build, the tiny-op
# timing and the trainings still run; everything stays in OUT.
if [ -f "$t/bundle/go.tar.gz" ]; then
	echo "gpu-test: c. run.sh from the bundle without xz, OUT set, a step forced to fail"
	rc=0
	env -u DATA -u GO -u GPU_CHECK_OUT PATH="$noxz" GPU_BUNDLE="$t/bundle" OUT="$t/out" GPU_CHECK_DEVICE=cpu \
		GPU_CHECK_PACKAGES=./bench/gpu/no-such-package GPU_CHECK_LIMIT=0 GPU_CHECK_MODELS=cnn3 EPOCHS=2 BATCH=16 TINY=10000 THREADS=2 \
		PYTHON="$python" bash bench/gpu/run.sh >"$t/c.log" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		fail "run.sh exited 0 although the CUDA tests failed"
	fi
	expect "$t/c.log" '^gpu-check: using the bundle in '
	expect "$t/c.log" '^gpu-check: go version .*/goroot/go/bin/go\)'
	expect "$t/c.log" '^gpu-check: the CUDA tests failed; the last 40 lines of .*/out/test.log:'
	expect "$t/c.log" 'no-such-package'
	expect "$t/c.log" '^gpu-check: FAILED: the CUDA tests failed first'
	for f in run.log gpu-check.md build.log version.txt test.log tiny-go.log tiny-pytorch.log \
		fkd-cnn3-fp32.log fkd-cnn3-fp32.history.json torch-cnn3-fp32.log torch-cnn3-bf16.log; do
		[ -s "$t/out/$f" ] || fail "OUT has no $f after the failed run"
	done
	if [ -f "$t/out/gpu-check.md" ]; then
		expect "$t/out/gpu-check.md" '^- FAILED: the CUDA tests failed first'
		expect "$t/out/gpu-check.md" '^- CUDA tests: 0 passed, 0 skipped, build failed failed'
		expect "$t/out/gpu-check.md" '^\| fkd cnn3 fp32 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|'
		expect "$t/out/gpu-check.md" '^\| pytorch cnn3 fp32 \| [0-9.]+ \|'
		expect "$t/out/gpu-check.md" 'synthetic|training.csv'
	fi
	if [ -f "$t/out/run.log" ]; then
		expect "$t/out/run.log" '^gpu-check: FAILED: the CUDA tests failed first'
	fi
	if [ "$fails" != 0 ]; then
		sed 's/^/  c| /' "$t/c.log" >&2
	fi
	echo "gpu-test: c. done ($((SECONDS - start)) s)"
fi

# ---- b. GPU mode without a GPU fails loudly. Fake nvidia-smi and a
# python that claims CUDA; the LibTorch is Debian's (CPU-only, as built).
echo "gpu-test: b. GPU mode without a GPU"
mkdir -p "$t/fake-broken" "$t/fake-gpu"
printf '#!/bin/sh\necho "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver." >&2\nexit 9\n' >"$t/fake-broken/nvidia-smi"
cat >"$t/fake-gpu/nvidia-smi" <<'EOS'
#!/bin/sh
case "$*" in
*-L*) echo "GPU 0: Fake GPU (UUID: GPU-00000000)" ;;
*--query-gpu=name*) echo "Fake GPU, 81559 MiB, 999.99" ;;
*--query-gpu=memory.used*) echo 1 ;;
*) echo "fake nvidia-smi: $*" ;;
esac
EOS
cat >"$t/fake-gpu/python3" <<EOS
#!/bin/sh
case "\$*" in
*torch.cuda.is_available*) echo 1 12.8; exit 0 ;;
esac
exec "$python" "\$@"
EOS
chmod +x "$t/fake-broken/nvidia-smi" "$t/fake-gpu/nvidia-smi" "$t/fake-gpu/python3"

rc=0
env -u GPU_CHECK_DEVICE -u GPU_CHECK_OUT PATH="$t/fake-broken:$PATH" OUT="$t/b1" PYTHON="$python" \
	bash bench/gpu/run.sh >"$t/b1.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "GPU mode with a failing driver exited 0"
expect "$t/b1.log" '^gpu-check: no CUDA device: nvidia-smi fails'
[ -f "$t/b1/gpu-check.md" ] && expect "$t/b1/gpu-check.md" '^- FAILED: no CUDA device'

rc=0
env -u GPU_CHECK_DEVICE -u GPU_CHECK_OUT -u GPU_BUNDLE PATH="$t/fake-gpu:$PATH" OUT="$t/b2" PYTHON="$t/fake-gpu/python3" \
	LIBTORCH=system bash bench/gpu/run.sh >"$t/b2.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "GPU mode with a CPU-only LibTorch exited 0"
expect "$t/b2.log" '^gpu-check: no CUDA device for fkd: '
expect "$t/b2.log" '^gpu-check: the CUDA check failed; the last 40 lines of .*/b2/version.txt:'
for f in run.log gpu-check.md build.log version.txt nvidia-smi.txt; do
	[ -s "$t/b2/$f" ] || fail "OUT has no $f after GPU mode failed"
done
if [ "$fails" != 0 ]; then
	sed 's/^/  b1| /' "$t/b1.log" >&2
	sed 's/^/  b2| /' "$t/b2.log" >&2
fi
echo "gpu-test: b. done ($((SECONDS - start)) s)"

if [ "$fails" != 0 ]; then
	echo "gpu-test: $fails checks FAILED ($SECONDS s)" >&2
	exit 1
fi
echo "gpu-test: ok ($SECONDS s)"
