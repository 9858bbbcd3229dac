#!/bin/sh
# Times parsing Kaggle's training.csv with fkd and with pandas + numpy, in
# one run on the same extracted file, and prints the ratio.
#
# Usage: bench/parse/run.sh [training.zip or training.csv]
# Default input: the shared fkd-ytf training.zip beside the repository,
# else data/training.zip or data/training.csv; with none, it says so and
# skips.
# Each tool reports its own parse time (process start and imports
# excluded); the best of 3 runs of each counts.
set -eu
cd "$(dirname "$0")/../.."
. bench/find-training.sh
src=${1:-$training}
if [ -z "$src" ]; then
	echo "bench/parse: skipped: no training data (../shared/data/fkd-ytf/training.zip or data/training.*); give a file as argument"
	exit 0
fi
python=/usr/bin/python3
runs=3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case $src in
*.zip) unzip -q -o "$src" training.csv -d "$tmp" ;;
*) cp "$src" "$tmp/training.csv" ;;
esac
csv=$tmp/training.csv
go build -o "$tmp/fkd" ./cmd/fkd

echo "input: $src ($(wc -c <"$csv") bytes of CSV, $(($(wc -l <"$csv") - 1)) rows)"
echo "cpus: $(nproc)"

# The two alternate, runs times each, and each keeps its best, so that
# load from other processes counts against neither in particular.
fkd=""
pandas=""
for i in $(seq $runs); do
	fkd="$fkd $("$tmp/fkd" data check "$csv" | sed -n 's/^read [0-9]* rows in \([0-9.]*\)s.*/\1/p')"
	pandas="$pandas $("$python" bench/parse/pandas_parse.py "$csv" | awk '{print $2}')"
done
best() { tr ' ' '\n' | grep . | sort -n | head -1; }
fkd=$(echo "$fkd" | best)
pandas=$(echo "$pandas" | best)

echo "fkd data check:        ${fkd}s (best of $runs)"
echo "pandas + np.fromstring: ${pandas}s (best of $runs)"
awk -v f="$fkd" -v p="$pandas" 'BEGIN { printf "fkd is %.1fx faster than pandas\n", p / f }'
