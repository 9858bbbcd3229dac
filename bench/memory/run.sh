#!/usr/bin/env bash
# Resident memory per face of a training run, for 1× and 4× training.csv
# (4×: the data rows repeated four times in a temporary CSV).
#
# bench/memory (main.go) reads the file as fkd train does, starts
# train.Run on it (cnn3, CPU) and reads the process's RSS at the end of
# the first optimiser step, before and after handing the C allocator's
# free memory back (malloc_trim): "held" is the second, the memory in use
# for the rest of the run. Each size runs RUNS times (default 3) and the
# smallest figure counts. Per face is the RSS above that of the same run
# on the first 100 faces, over the faces added; the fixed cost (LibTorch,
# the model, one step's work) cancels out.
#
# Usage: bench/memory/run.sh [training.zip or training.csv]
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/find-training.sh
src=${1:-$training}
if [ -z "$src" ]; then
	echo "bench/memory: skipped: no training data (../shared/data/fkd-ytf/training.zip or data/training.*); give a file as argument"
	exit 0
fi
runs=${RUNS:-3}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case $src in
*.zip) unzip -q -o "$src" training.csv -d "$tmp" ;;
*) cp "$src" "$tmp/training.csv" ;;
esac
head -n 101 "$tmp/training.csv" >"$tmp/small.csv"
{
	head -n 1 "$tmp/training.csv"
	for _ in 1 2 3 4; do tail -n +2 "$tmp/training.csv"; done
} >"$tmp/training4.csv"
go build -o "$tmp/memory" ./bench/memory

echo "input: $src; $runs runs of each size, the smallest figures"
for size in small training training4; do
	for _ in $(seq "$runs"); do
		echo "$size $("$tmp/memory" "$tmp/$size.csv")"
	done
done | awk '
	{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		s = $1
		faces[s] = v["faces"]
		if (!(s in step) || v["rss_step"] < step[s]) step[s] = v["rss_step"]
		if (!(s in held) || v["rss_trimmed"] < held[s]) held[s] = v["rss_trimmed"]
		if (!(s in hwm) || v["hwm"] < hwm[s]) hwm[s] = v["hwm"]
	}
	END {
		printf "%-6s %7s %14s %12s %14s %12s %12s\n", "size", "faces", "RSS at step", "per face", "held", "per face", "peak RSS"
		split("small training training4", key)
		split("100 1x 4x", label)
		for (i = 1; i <= 3; i++) {
			s = key[i]
			if (s == "small") {
				printf "%-6s %7d %11.1f MB %12s %11.1f MB %12s %9.1f MB\n", label[i], faces[s], step[s] / 1e6, "-", held[s] / 1e6, "-", hwm[s] / 1e6
				continue
			}
			d = faces[s] - faces["small"]
			printf "%-6s %7d %11.1f MB %9.1f KB %11.1f MB %9.1f KB %9.1f MB\n", label[i], faces[s], step[s] / 1e6,
				(step[s] - step["small"]) / d / 1e3, held[s] / 1e6, (held[s] - held["small"]) / d / 1e3, hwm[s] / 1e6
		}
		printf "held per face, 1x to 4x: %.1f KB (target <= 12 KB)\n", (held["training4"] - held["training"]) / (faces["training4"] - faces["training"]) / 1e3
	}'
