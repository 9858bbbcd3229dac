#!/usr/bin/env bash
# Times the patch-search baseline (default radii, 1000 synthetic faces) on
# one worker and on every CPU with BenchmarkPatchPredict, and prints the
# times and the speed-up. BENCHTIME sets go test's -benchtime (default 3s).
#
# Usage: bench/baseline/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

out=$(nice go test -run '^$' -bench '^BenchmarkPatchPredict$' -benchtime "${BENCHTIME:-3s}" ./baseline)
echo "$out" | grep -E '^(cpu|BenchmarkPatchPredict)'
echo "$out" | awk '
	/^BenchmarkPatchPredict\/workers=/ {
		w = $1
		sub(/.*workers=/, "", w)
		sub(/-[0-9]+$/, "", w) # the GOMAXPROCS suffix
		ns[w + 0] = $3
		if (w + 0 > most) most = w + 0
	}
	END {
		if (!(1 in ns)) { print "run.sh: no result for 1 worker" > "/dev/stderr"; exit 1 }
		printf "1000 faces on 1 worker:  %8.1f ms\n", ns[1] / 1e6
		if (most > 1) {
			printf "1000 faces on %d workers: %8.1f ms\n", most, ns[most] / 1e6
			printf "speed-up: %.2fx\n", ns[1] / ns[most]
		}
	}'
