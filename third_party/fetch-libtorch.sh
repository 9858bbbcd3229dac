#!/usr/bin/env bash
# fetch-libtorch.sh downloads an official LibTorch build from
# download.pytorch.org and unpacks it into third_party/libtorch, so that fkd
# can be built against it instead of Debian's LibTorch 1.13:
#
#	third_party/fetch-libtorch.sh
#	LIBTORCH=$PWD/third_party/libtorch make build test
#
# It needs internet access, curl or wget, and unzip; a CUDA build takes
# about 2.5 GB to download and 5 GB unpacked.
#
# Environment (defaults in brackets):
#	LIBTORCH_VERSION  PyTorch release [2.10.0]
#	CUDA              cu118, cu121, cu124, cu126, cu128, cu130, ... or cpu
#	                  [cu126]; the release must have been built for it
#	                  (pytorch.org's "Get started" page lists them)
#	LIBTORCH_URL      the archive's URL, overriding the two above
#	LIBTORCH_SHA256   the archive's SHA-256, checked when given
#	DEST              where to unpack [third_party/libtorch]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=${LIBTORCH_VERSION:-2.10.0}
cuda=${CUDA:-cu126}
dest=${DEST:-$here/libtorch}

die() {
	echo "fetch-libtorch: $*" >&2
	exit 1
}

# Linux archives are built with the C++11 ABI, which fkd's g++ uses. Up to
# 2.7 their names say so ("libtorch-cxx11-abi-shared-with-deps-..."; the
# name without it was the old ABI); from 2.8 on the C++11 ABI is the only
# one and the name dropped it. The name for the version comes first; the
# other is tried when the server has no such file.
IFS=. read -r major minor _ <<<"$version"
new_name=libtorch-shared-with-deps-$version%2B$cuda.zip
old_name=libtorch-cxx11-abi-shared-with-deps-$version%2B$cuda.zip
if [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 8 ]; }; then
	names="$new_name $old_name"
else
	names="$old_name"
fi
urls=${LIBTORCH_URL:-}
if [ -z "$urls" ]; then
	for n in $names; do urls="$urls https://download.pytorch.org/libtorch/$cuda/$n"; done
fi

[ -e "$dest" ] && die "$dest already exists: remove it to fetch again"
command -v unzip >/dev/null || die "unzip not found (apt-get install unzip)"

mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d "$(dirname "$dest")/.fetch-libtorch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
zip=$tmp/libtorch.zip

# download fetches $1 to $zip; it fails quietly when the server has no
# such file, so that the next name can be tried.
download() {
	echo "fetch-libtorch: downloading $1"
	if command -v curl >/dev/null; then
		curl -fL --retry 3 -o "$zip" "$1"
	elif command -v wget >/dev/null; then
		wget -O "$zip" "$1"
	else
		die "neither curl nor wget found (apt-get install curl)"
	fi
}
url=""
for u in $urls; do
	if download "$u"; then
		url=$u
		break
	fi
done
[ -n "$url" ] || die "download failed: is there a LibTorch $version for $cuda? (tried:$urls)"
if [ -n "${LIBTORCH_SHA256:-}" ]; then
	echo "$LIBTORCH_SHA256  $zip" | sha256sum -c --quiet - || die "$url does not match LIBTORCH_SHA256"
fi

echo "fetch-libtorch: checking and unpacking the archive"
unzip -tq "$zip" >/dev/null || die "the downloaded archive is damaged: run again"
unzip -q "$zip" -d "$tmp"
[ -f "$tmp/libtorch/lib/libtorch.so" ] && [ -d "$tmp/libtorch/include" ] ||
	die "the archive has no libtorch/lib/libtorch.so and libtorch/include"
mv "$tmp/libtorch" "$dest"

built=$(cat "$dest/build-version" 2>/dev/null || echo "$version+$cuda")
echo "fetch-libtorch: LibTorch $built is in $dest; build with"
echo "LIBTORCH=$dest"
echo "  e.g. LIBTORCH=$dest make build test"
