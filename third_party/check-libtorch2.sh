#!/usr/bin/env bash
# check-libtorch2.sh checks fkd against LibTorch 2.x, as "make
# check-libtorch2" and CI's second stage run it:
#
#  1. In a Debian trixie root (made once with mmdebstrap, kept outside the
#     clone and reused), with trixie's libtorch-dev 2.6 and g++ 14, it builds
#     fkd and runs the whole test suite (go vet, go test ./...), with this
#     machine's Go toolchain and module cache copied in and GOPROXY=off.
#  2. It compiles the shim (torch/*.cpp), headers only, against the newest
#     libtorch-dev Debian has (sid), unpacked inside that root, with the
#     root's g++, and checks that no header came from the root's 2.6.
#
# It needs root (mmdebstrap, chroot, bind mounts), mmdebstrap, git, and
# Debian's mirror. The first run makes the root (its time and size:
# docs/results/bench.md, "CI"); later runs reuse
# the root and its Go build cache. A root left half-made by a killed run is
# noticed (it lacks its completion stamp) and made again; the bind mounts
# are always undone, also after a kill of an earlier run.
#
# Environment (defaults in brackets):
#	LT2_CACHE   where the root and logs live [/var/cache/fkd]
#	LT2_SUITE   the Debian suite built and tested against [trixie]
#	LT2_NEWEST  the suite whose libtorch-dev headers are compiled against [sid]
#	LT2_MIRROR  Debian mirror [http://deb.debian.org/debian]
#	GO          the Go command whose toolchain is copied in [go]
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${LT2_CACHE:-/var/cache/fkd}
suite=${LT2_SUITE:-trixie}
newest=${LT2_NEWEST:-sid}
mirror=${LT2_MIRROR:-http://deb.debian.org/debian}
GO=${GO:-go}
root=$cache/libtorch2-$suite
log=$cache/check-libtorch2-$suite.log
pkgs=libtorch-dev,g++,make,git,ca-certificates,libopenblas0-pthread
# The stamp a finished root carries; a change here makes a new root.
recipe="mmdebstrap --variant=apt --include=$pkgs $suite $mirror (fkd root v1)"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
start=$SECONDS

say() { echo "check-libtorch2: $*"; }
die() {
	echo "check-libtorch2: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, chroot and bind mounts): run it as root or with sudo"
command -v mmdebstrap >/dev/null || die "mmdebstrap not found: apt-get install mmdebstrap (make check-libtorch2 installs it)"
command -v git >/dev/null || die "git not found: apt-get install git"
command -v "$GO" >/dev/null || die "$GO not found: put Go on PATH or name it with GO=/path/to/go"
[ -f "$keyring" ] || die "$keyring not found: apt-get install debian-archive-keyring"

# mounts_under prints the mount points at or below $1, deepest first.
mounts_under() {
	awk -v r="$1" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r
}

# unmount_all undoes every mount below the root and its half-made twin,
# ours or an earlier killed run's; it fails if one stays.
unmount_all() {
	local m
	for dir in "$root" "$root.new"; do
		for m in $(mounts_under "$dir"); do
			umount "$m" 2>/dev/null || umount -l "$m" || true
		done
		[ -z "$(mounts_under "$dir")" ] || {
			echo "check-libtorch2: could not unmount $(mounts_under "$dir" | head -1)" >&2
			return 1
		}
	done
}

# kill_strays ends processes still running inside the root: a killed
# earlier run leaves its chroot's build and tests behind.
kill_strays() {
	local p r pids=""
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		case $r in "$root" | "$root/"* | "$root.new" | "$root.new/"*) pids="$pids ${p#/proc/}" ;; esac
	done
	[ -z "$pids" ] && return 0
	echo "check-libtorch2: ending processes an earlier run left in the root:$pids"
	kill -9 $pids 2>/dev/null || true
	sleep 1
}

# remove deletes a folder that may once have had mounts in it, never
# crossing into another file system.
remove() {
	[ -e "$1" ] || return 0
	chmod -R u+w "$1" 2>/dev/null || true
	rm -rf --one-file-system "$1"
}

mkdir -p "$cache"
kill_strays
unmount_all
trap 'kill_strays; unmount_all' EXIT
trap 'exit 130' INT TERM

# ---- The Debian root, made once.
if [ "$(cat "$root/.fkd-root" 2>/dev/null)" != "$recipe" ]; then
	if [ -e "$root" ] || [ -e "$root.new" ]; then
		say "the $suite root in $root is missing or half-made: making it again"
	fi
	remove "$root.new"
	remove "$root"
	say "making a Debian $suite root with mmdebstrap in $root (a minute or more, 1.5 GB)"
	mmdebstrap --quiet --variant=apt --include="$pkgs" \
		--aptopt='Acquire::Check-Valid-Until "false"' "$suite" "$root.new" "$mirror" ||
		die "mmdebstrap failed to make the $suite root (mirror $mirror reachable?)"
	echo "$recipe" >"$root.new/.fkd-root"
	mv "$root.new" "$root"
fi
lt_deb=$(chroot "$root" dpkg-query -W -f='${Version}' libtorch-dev)

# ---- Go toolchain and modules, copied in when they changed.
goroot=$("$GO" env GOROOT)
if ! cmp -s "$goroot/VERSION" "$root/usr/local/go/VERSION"; then
	say "copying Go from $goroot"
	remove "$root/usr/local/go"
	mkdir -p "$root/usr/local/go"
	cp -a "$goroot/." "$root/usr/local/go/"
fi
"$GO" mod download || die "go mod download failed: the module cache needs fkd's modules (run it once with network access)"
modcache=$("$GO" env GOMODCACHE)
stamp=$(sha256sum <go.sum | cut -c1-16)
if [ "$(cat "$root/root/go/.fkd-modules" 2>/dev/null)" != "$stamp" ]; then
	say "copying the module cache from $modcache"
	remove "$root/root/go/pkg/mod"
	mkdir -p "$root/root/go/pkg"
	cp -a "$modcache" "$root/root/go/pkg/mod"
	echo "$stamp" >"$root/root/go/.fkd-modules"
fi

# ---- The source: what git tracks or would track, as it is on disk.
remove "$root/src/fkd"
mkdir -p "$root/src/fkd"
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf - | tar -xf - -C "$root/src/fkd"

# ---- The newest libtorch-dev's headers, from Debian $newest.
apt_dir=$cache/apt-$newest
mkdir -p "$apt_dir/lists/partial" "$apt_dir/debs"
echo "deb [signed-by=$keyring] $mirror $newest main" >"$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt_dir/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
	-o APT::Sandbox::User=root -o Acquire::Check-Valid-Until=false)
apt-get "${apt_opts[@]}" -qq update || die "apt-get update for $newest failed (mirror $mirror)"
rm -f "$apt_dir/debs/"*.deb
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -qq download libtorch-dev) || die "could not download $newest's libtorch-dev"
deb=$(ls "$apt_dir/debs/"libtorch-dev_*.deb)
newest_dir=/opt/libtorch-$newest
remove "$root$newest_dir"
dpkg -x "$deb" "$root$newest_dir"

# ---- Build and test inside the root.
mount --bind /proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
in_root() {
	chroot "$root" /usr/bin/env -i PATH=/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		GOPROXY=off GOFLAGS=-mod=readonly GOTOOLCHAIN=local GOTELEMETRY=off CGO_ENABLED=1 \
		GOCACHE=/root/.cache/go-build GOMODCACHE=/root/go/pkg/mod "$@"
}

say "LibTorch ${lt_deb%%+*} (Debian $suite libtorch-dev $lt_deb): building fkd and running go vet and go test ./... (log: $log)"
# In the background, so that a signal to this script is handled at once
# (bash runs traps only between commands; wait is one).
set +e
# The root has no OpenCV (trixie's 4.10 is not the 4.6 that gocv v0.31
# wraps): make builds with the tag noopencv, and deps must not install it.
in_root bash -c 'cd /src/fkd && make build && make test TEST_FLAGS=-v DEPS_PKGS="g++ libtorch-dev libopenblas0-pthread"' >"$log" 2>&1 &
wait $!
status=$?
set -e
passed=$(grep -cE '^ *--- PASS: ' "$log" || true)
failed=$(grep -cE '^ *--- FAIL: ' "$log" || true)
skipped=$(grep -cE '^ *--- SKIP: ' "$log" || true)
pkgs_ok=$(grep -cE '^ok[[:space:]]' "$log" || true)
pkgs_failed=$(grep -cE '^FAIL[[:space:]]' "$log" || true)
grep -m1 -E '^libtorch: ' "$log" | sed 's/^libtorch: /check-libtorch2: built against /' || true
if [ "$status" != 0 ]; then
	grep -E '^(--- FAIL|FAIL|panic:|.*\.go:[0-9]+:.*)' "$log" | head -40 >&2 || true
	tail -20 "$log" >&2
	die "LibTorch ${lt_deb%%+*} ($suite): FAILED: $passed passed, $failed failed, $skipped skipped; $pkgs_failed of $((pkgs_ok + pkgs_failed)) packages failed (exit $status; log: $log)"
fi
say "LibTorch ${lt_deb%%+*} ($suite): fkd builds, go vet is clean, go test ./... passes in $pkgs_ok packages; tests and subtests:"
say "$passed passed, $failed failed, $skipped skipped"

# Headers only: the newest LibTorch compiled with the root's g++.
inc=$newest_dir/usr/include
nv=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH)/ {printf "%s%s", sep, $3; sep="."}' \
	"$root$inc/torch/headeronly/version.h" 2>/dev/null || true)
[ -n "$nv" ] || nv=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH)/ {printf "%s%s", sep, $3; sep="."}' \
	"$root$inc/torch/csrc/api/include/torch/version.h")
cxx=(g++ -std=c++20 -Wno-deprecated-declarations -I"$inc" -I"$inc/torch/csrc/api/include")
gxx=$(in_root g++ -dumpfullversion)
: >"$log.$newest"
for src in "$root"/src/fkd/torch/*.cpp; do
	f=torch/$(basename "$src")
	if ! in_root "${cxx[@]}" -fsyntax-only "/src/fkd/$f" >>"$log.$newest" 2>&1; then
		head -30 "$log.$newest" >&2
		die "LibTorch $nv ($newest's libtorch-dev, headers only): $f does NOT compile with g++ $gxx (log: $log.$newest)"
	fi
done
leaks=$(in_root "${cxx[@]}" -M /src/fkd/torch/shim.cpp | tr ' \\' '\n\n' | grep -E '^/usr/include/(ATen|c10|caffe2|torch)/' | head -3 || true)
[ -z "$leaks" ] || die "shim.cpp read the root's own LibTorch headers instead of $newest's, e.g. $leaks"
say "LibTorch $nv ($newest libtorch-dev $(basename "$deb" | cut -d_ -f2), headers only): torch/*.cpp compile with g++ $gxx"
say "done in $((SECONDS - start)) s"
