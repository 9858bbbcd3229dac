#!/usr/bin/env bash
# Times the patch-search baseline (default radii, 1000 synthetic faces) on
# one worker and on every CPU, side by side: interleaved rounds, the best
# time of each worker count (patchbench). Beside it, the same rounds time
# an arithmetic loop that shares nothing, whose speed-up is the most the
# machine gives at that moment. ROUNDS sets the rounds (default 9).
#
# Usage: bench/baseline/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

out=$(nice go run ./bench/baseline/patchbench -rounds "${ROUNDS:-9}")
echo "$out" | awk '
	/^faces=/ { split($0, kv, /[= ]/); faces = kv[2]; rounds = kv[4]; cpus = kv[6] }
	/^(patch|control) workers=/ {
		split($2, w, "="); split($3, t, "=")
		ns[$1, w[2] + 0] = t[2]
		if (w[2] + 0 > most) most = w[2] + 0
	}
	END {
		if (!(("patch", 1) in ns)) { print "run.sh: no result for 1 worker" > "/dev/stderr"; exit 1 }
		printf "%d faces, best of %d interleaved rounds, %d CPUs\n", faces, rounds, cpus
		printf "1 worker:   %8.1f ms\n", ns["patch", 1] / 1e6
		if (most > 1) {
			printf "%d workers:  %8.1f ms\n", most, ns["patch", most] / 1e6
			printf "speed-up: %.2fx on %d workers (machine check: an arithmetic loop sharing nothing, %.2fx)\n",
				ns["patch", 1] / ns["patch", most], most, most * ns["control", 1] / ns["control", most]
		}
	}'
