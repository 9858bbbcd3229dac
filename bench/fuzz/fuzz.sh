#!/usr/bin/env bash
# Runs every fuzz target of the repository for FUZZTIME each (default
# 60s) and prints each target's executions per second.
#
#   bench/fuzz/fuzz.sh                 # all targets, 60s each
#   FUZZTIME=10s bench/fuzz/fuzz.sh    # shorter
#   FUZZ_PARALLEL=2 bench/fuzz/fuzz.sh # -parallel for go test (default: GOMAXPROCS)
#
# FUZZMINIMIZETIME (default 2s) bounds the minimization of each new
# interesting input: go test's default, 60s, stalls the count of
# executions for as long, and a target that keeps finding new coverage
# then runs at a fraction of its speed.
#
# Targets are found with grep (func FuzzX in *_test.go). Each one's log
# is kept in $FUZZ_LOGS (default a temporary folder). The script fails
# when a target fails (the fuzzer found a crash: it writes the input under
# the package's testdata/fuzz/) or does not start.
set -euo pipefail

cd "$(dirname "$0")/../.."
fuzztime=${FUZZTIME:-60s}
minimizetime=${FUZZMINIMIZETIME:-2s}
logs=${FUZZ_LOGS:-$(mktemp -d)}
mkdir -p "$logs"
parallel=()
if [[ -n ${FUZZ_PARALLEL:-} ]]; then
	parallel=(-parallel "$FUZZ_PARALLEL")
fi

targets=$(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . |
	sed -E 's#^\./(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort -u)
if [[ -z $targets ]]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

status=0
printf '%-28s %-16s %10s %12s %8s  %s\n' target package execs "exec/s" result log
while read -r dir name; do
	log="$logs/${dir//\//_}.$name.log"
	# go test prints "fuzz: elapsed: 3s, execs: 1234 (411/sec), new
	# interesting: ..." every 3 seconds; the last such line has the total.
	result=ok
	if ! go test "./$dir" -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "${parallel[@]}" >"$log" 2>&1; then
		result=FAIL
		status=1
	fi
	line=$(grep -E '^fuzz: elapsed: [0-9]+s, execs: [0-9]+' "$log" | tail -n 1 || true)
	execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$line")
	secs=$(sed -E 's/^fuzz: elapsed: ([0-9]+)s.*/\1/' <<<"$line")
	rate=-
	if [[ -n $line && ${secs:-0} -gt 0 ]]; then
		rate=$((execs / secs))
	fi
	printf '%-28s %-16s %10s %12s %8s  %s\n' "$name" "$dir" "${execs:--}" "$rate" "$result" "$log"
	if [[ $result == FAIL ]]; then
		grep -E -- '--- FAIL|panic:|Failing input|failure while testing seed corpus' "$log" | head -n 5 | sed 's/^/    /' >&2 || true
	fi
done <<<"$targets"
exit "$status"
