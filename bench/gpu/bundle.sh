#!/usr/bin/env bash
# bundle.sh packs what make gpu-check needs on a GPU machine that has a
# CUDA PyTorch but no Go, no internet and a limit on what can be copied to
# it, into one folder (default .gpu-bundle, which git ignores), as
# gzip-compressed tars that tar and gzip unpack anywhere (no xz needed):
#
#	go.tar.gz       this machine's Go toolchain as go/, whatever the name of
#	                its folder here (/usr/local/go, /usr/lib/go-1.xx, ...),
#	                trimmed to what building fkd needs (no tests, no sources
#	                of the go command)
#	vendor.tar.gz   fkd's module dependencies (go mod vendor)
#	training.csv.gz the header and first GPU_BUNDLE_FACES (1000) faces of
#	                the training data, when there is some
#
# (their measured sizes: bench/gpu/README.md); it prints the size of the bundle
# with the working tree beside it, which a lent GPU machine takes up to
# GPU_BUNDLE_LIMIT_MIB (64) of, and fails when that is exceeded. On the
# GPU machine, from the repository root (bench/gpu/README.md):
#
#	GPU_BUNDLE=.gpu-bundle bash bench/gpu/run.sh
#
# Environment: GO [go], GPU_BUNDLE_FACES [1000], GPU_BUNDLE_LIMIT_MIB [64],
# DATA [as bench/gpu/run.sh].
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-.gpu-bundle}
go=${GO:-go}
faces=${GPU_BUNDLE_FACES:-1000}
limit_mib=${GPU_BUNDLE_LIMIT_MIB:-64}

die() {
	echo "gpu-bundle: $*" >&2
	exit 1
}
command -v "$go" >/dev/null || die "$go not found: set GO=/path/to/go"
command -v gzip >/dev/null || die "gzip not found: apt-get install gzip"
case $out in
/*) ;;
*) grep -qxF "/$out/" .git/info/exclude 2>/dev/null || echo "/$out/" >>.git/info/exclude ;;
esac

rm -rf "$out"
mkdir -p "$out"
# The toolchain goes in as go/ whatever its folder's name, its symbolic
# links followed (Debian's /usr/lib/go-1.xx links src to /usr/share).
goroot=$(cd "$("$go" env GOROOT)" && pwd -P)
echo "gpu-bundle: Go $("$go" env GOVERSION) from $goroot, packed as go/"
members=()
for m in bin/go pkg/tool pkg/include src VERSION go.env lib; do
	if [ -e "$goroot/$m" ]; then
		members+=("$m")
	fi
done
[ -x "$goroot/bin/go" ] && [ -d "$goroot/pkg/tool" ] && [ -d "$goroot/src" ] ||
	die "$goroot lacks bin/go, pkg/tool or src: not a Go toolchain"
tar -C "$goroot" --dereference --transform='s,^,go/,' \
	--exclude=testdata --exclude='*_test.go' --exclude=src/cmd \
	--exclude='pkg/tool/*/cover' --exclude='pkg/tool/*/fix' --exclude='pkg/tool/*/preprofile' \
	-cf - "${members[@]}" | gzip -6 >"$out/go.tar.gz"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The modules of the working tree as the GPU machine gets it (tracked
# files and those git does not ignore), which may be ahead of HEAD.
{ git ls-files -z && git ls-files -z --others --exclude-standard -- '*.go'; } |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$tmp"
(cd "$tmp" && "$go" mod vendor) || die "go mod vendor failed (the module cache or GOPROXY must have fkd's modules)"
tar -C "$tmp" -cf - vendor | gzip -9 >"$out/vendor.tar.gz"

. bench/find-training.sh
data=${DATA:-$training}
if [ -n "$data" ]; then
	/usr/bin/python3 bench/head_rows.py "$data" "$faces" "$tmp/training.csv"
	gzip -9 <"$tmp/training.csv" >"$out/training.csv.gz"
	echo "gpu-bundle: the first $faces faces of $data"
fi

# What the GPU machine gets: the bundle and the working tree (tracked
# files and those git does not ignore).
bundle_bytes=$(du -sb "$out" | cut -f1)
git ls-files -z --cached --others --exclude-standard |
	(xargs -0 stat -c '%s %n' -- 2>/dev/null || true) | sort -rn >"$tmp/tree"
tree_bytes=$(awk '{s += $1} END {print s + 0}' "$tmp/tree")
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
echo "gpu-bundle: $(mib "$bundle_bytes") MiB in $out ($(cd "$out" && ls -l | awk 'NR > 1 {printf "%s%s %.1f MiB", sep, $NF, $5 / 1048576; sep = ", "}'))" \
	"+ $(mib "$tree_bytes") MiB of working tree = $(mib $((bundle_bytes + tree_bytes))) MiB of $limit_mib MiB"
[ $((bundle_bytes + tree_bytes)) -le $((limit_mib * 1048576)) ] ||
	die "the bundle and the working tree exceed $limit_mib MiB: lower GPU_BUNDLE_FACES, or remove (or have git ignore) large files; the largest: $(head -3 "$tmp/tree" | awk '{printf "%s%s (%.1f MiB)", sep, $2, $1 / 1048576; sep = ", "}')"
