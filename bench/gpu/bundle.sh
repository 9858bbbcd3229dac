#!/usr/bin/env bash
# bundle.sh packs what make gpu-check needs on a GPU machine that has a
# CUDA PyTorch but no Go, no internet and a limit on what can be copied to
# it, into one folder (default .gpu-bundle, which git ignores):
#
#	go.tar.xz       this machine's Go toolchain, trimmed to what building
#	                fkd needs (no tests, no sources of the go command)
#	vendor.tar.xz   fkd's module dependencies (go mod vendor)
#	training.csv.xz the header and first GPU_BUNDLE_FACES (1000) faces of
#	                the training data, when there is some
#
# about 35 MB in all. On the GPU machine, from the repository root:
#
#	GPU_BUNDLE=.gpu-bundle bash bench/gpu/run.sh
#
# Environment: GO [go], GPU_BUNDLE_FACES [1000], DATA [as bench/gpu/run.sh].
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-.gpu-bundle}
go=${GO:-go}
faces=${GPU_BUNDLE_FACES:-1000}

die() {
	echo "gpu-bundle: $*" >&2
	exit 1
}
command -v "$go" >/dev/null || die "$go not found: set GO=/path/to/go"
command -v xz >/dev/null || die "xz not found: apt-get install xz-utils"
grep -qxF "/$out/" .git/info/exclude 2>/dev/null || echo "/$out/" >>.git/info/exclude

rm -rf "$out"
mkdir -p "$out"
goroot=$("$go" env GOROOT)
echo "gpu-bundle: Go $("$go" env GOVERSION) from $goroot"
tar -C "$(dirname "$goroot")" --exclude=testdata --exclude='*_test.go' \
	--exclude="$(basename "$goroot")/src/cmd" \
	--exclude="$(basename "$goroot")/pkg/tool/*/cover" --exclude="$(basename "$goroot")/pkg/tool/*/fix" \
	--exclude="$(basename "$goroot")/pkg/tool/*/preprofile" \
	-cf - "$(basename "$goroot")/bin/go" "$(basename "$goroot")/pkg/tool" "$(basename "$goroot")/pkg/include" "$(basename "$goroot")/src" \
	"$(basename "$goroot")/VERSION" "$(basename "$goroot")/go.env" "$(basename "$goroot")/lib" |
	xz -T0 -6 >"$out/go.tar.xz"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive HEAD | tar -xf - -C "$tmp"
(cd "$tmp" && "$go" mod vendor) || die "go mod vendor failed (the module cache or GOPROXY must have fkd's modules)"
tar -C "$tmp" -cf - vendor | xz -T0 -6 >"$out/vendor.tar.xz"

. bench/find-training.sh
data=${DATA:-$training}
if [ -n "$data" ]; then
	/usr/bin/python3 bench/head_rows.py "$data" "$faces" "$tmp/training.csv"
	xz -T0 -6 <"$tmp/training.csv" >"$out/training.csv.xz"
	echo "gpu-bundle: the first $faces faces of $data"
fi
echo "gpu-bundle: $(du -sh "$out" | cut -f1) in $out: $(ls "$out" | tr '\n' ' ')"
