#!/usr/bin/env bash
# compare-slurm.sh shares one fkd comparison out over the tasks of a Slurm
# job array: task I of N runs `fkd compare --shard I+1/N`, which trains
# every N-th model of --archs into the shared folder OUT, and a last job,
# which starts when every task has ended, merges their runs with
# `fkd report OUT`.
#
# Run it from the repository root on a login node, with fkd built (make
# build, against a CUDA LibTorch for GPUs) and OUT on a file system every
# node mounts at the same path:
#
#	OUT=/shared/$USER/compare SHARDS=3 cloud/compare-slurm.sh \
#		--archs cnn3,tinyresnet,fpn --epochs 30 --train /shared/$USER/data/training.zip
#
# The arguments are those of `fkd compare`, the same for every task; the
# script adds --shard, --out, --device and --threads. Before submitting it
# checks, on this machine, that fkd runs (and has CUDA when DEVICE=cuda),
# that every spec of --archs is valid and that the data's header reads.
# It then submits itself twice: as the array (FKD_STAGE=shard) and as the
# report job (FKD_STAGE=report), and prints both job ids. The jobs' logs go
# to OUT/logs.
#
# Environment (defaults in brackets):
#   OUT          the shared folder of the comparison (required)
#   SHARDS       tasks of the array [2]
#   ARRAY        the task indexes to submit, e.g. "1" or "0,2" to resubmit
#                only those [all: 0-(SHARDS-1)]
#   FKD          the fkd binary [bin/fkd]
#   DEVICE       cuda or cpu [cuda]
#   SBATCH_GRES  generic resources of a training task [gpu:1 with DEVICE=cuda,
#                none with cpu]; "none" asks for none
#   CPUS         CPUs of a training task [the smallest node's CPUs, at most 8]
#   REPORT_CPUS  CPUs of the report job [CPUS, at most 4]
#   TIME, REPORT_TIME  time limits [08:00:00, 01:00:00]
#   SBATCH_PARTITION, SBATCH_ACCOUNT, ...  read by sbatch itself
#
# A task that is killed (time limit, preemption, scancel) leaves a
# checkpoint: submit again (the same command, or ARRAY= the failed
# indexes) and the comparison continues where it stopped, reusing the
# finished runs. A run that another job is still training is locked, and
# the second job's compare refuses it with one line naming the holder. The
# report job runs after the array however its tasks ended (afterany); a
# run that did not finish is named in the report with its shard, and the
# rest are reported; when none finished, the report says so and the job
# fails. Report jobs of the same OUT run one at a time (singleton).
#SBATCH --job-name=fkd-compare
set -euo pipefail

fkd=${FKD:-bin/fkd}
device=${DEVICE:-cuda}
: "${OUT:?set OUT to the shared folder of the comparison}"

die() {
	echo "compare-slurm.sh: $*" >&2
	exit 2
}

# arg NAME DEFAULT ARGS... prints the value of the fkd flag NAME in ARGS
# (--name V or --name=V, the last one given), or DEFAULT.
arg() {
	local name=$1 value=$2 prev=""
	shift 2
	for a in "$@"; do
		[ "$prev" = "$name" ] && value=$a
		case "$a" in "$name"=*) value=${a#*=} ;; esac
		prev=$a
	done
	printf '%s\n' "$value"
}

# specs LIST prints the model specs of an --archs list, one a line: the
# options after a spec's colon are separated by commas too, as in
# "cnn3,fpn:width=48,dropout=0.2" (compare.SplitSpecs).
specs() {
	local IFS=, spec="" part
	for part in $1; do
		if [[ $part == *=* && $part != *:* && -n $spec ]]; then
			spec+=",$part"
		else
			[ -n "$spec" ] && printf '%s\n' "$spec"
			spec=$part
		fi
	done
	[ -n "$spec" ] && printf '%s\n' "$spec"
	return 0
}

# preflight checks on the submitting machine what would otherwise fail only
# after the queue.
preflight() {
	[ -x "$fkd" ] || die "$fkd not found: run make build first, or set FKD"
	local version
	version=$("$fkd" version 2>&1) || die "$fkd version fails: $version"
	case "$device" in
	cuda*)
		grep -Eq '^CUDA +yes' <<<"$version" ||
			die "DEVICE=$device but $fkd has no CUDA ($(grep -E '^CUDA' <<<"$version" | sed 's/  */ /g')); build it against a CUDA LibTorch, or set DEVICE=cpu"
		;;
	cpu) ;;
	*) die "DEVICE=$device: want cuda or cpu" ;;
	esac
	local list
	# --archs, or its old name --models.
	list=$(arg --archs "$(arg --models cnn3,tinyresnet,fpn "$@")" "$@")
	local -a ss
	mapfile -t ss < <(specs "$list")
	[ ${#ss[@]} -gt 0 ] || die "--archs $list: no model"
	local msg
	msg=$("$fkd" models "${ss[@]}" 2>&1 >/dev/null) || { msg=${msg#fkd models: }; die "--archs $list: ${msg% (see *}"; }
	local data header
	data=$(arg --train data/training.csv "$@")
	[ -r "$data" ] || die "--train $data: no such file here (the jobs read it at the same path)"
	case "$data" in
	*.zip)
		if command -v unzip >/dev/null; then
			header=$(unzip -p "$data" 2>/dev/null | head -n 1) || true
		else
			header=$(python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(z.open([n for n in z.namelist() if n.endswith(".csv")][0]).readline().decode())' "$data" 2>/dev/null) ||
				{ header=Image; echo "compare-slurm.sh: note: no unzip or python3 here to read the header of $data" >&2; }
		fi
		;;
	*) header=$(head -n 1 "$data") || true ;;
	esac
	[[ $header == *left_eye_center_x*Image* ]] || die "--train $data: not Kaggle training data (its first line names no keypoint columns and Image)"
	command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm login node"
}

case "${FKD_STAGE:-}" in
"")
	# On the login node: check, then submit the array and the report after it.
	shards=${SHARDS:-2}
	[[ $shards =~ ^[1-9][0-9]*$ ]] || die "SHARDS=$shards: want a positive number of tasks"
	array=${ARRAY:-0-$((shards - 1))}
	for i in $(tr ',-' '  ' <<<"$array"); do
		[[ $i =~ ^[0-9]+$ ]] && [ "$i" -lt "$shards" ] || die "ARRAY=$array: want indexes from 0 to $((shards - 1)) (e.g. 1 or 0,2 or 0-2)"
	done
	preflight "$@"
	case "$device" in cuda*) gres=${SBATCH_GRES:-gpu:1} ;; *) gres=${SBATCH_GRES:-none} ;; esac
	if [ -z "${CPUS:-}" ]; then
		smallest=$(sinfo -h -o '%c' ${SBATCH_PARTITION:+-p "$SBATCH_PARTITION"} 2>/dev/null | tr -d '+' | sort -n | head -n 1) || smallest=""
		[[ $smallest =~ ^[1-9][0-9]*$ ]] || smallest=4
		CPUS=$((smallest < 8 ? smallest : 8))
	fi
	[[ $CPUS =~ ^[1-9][0-9]*$ ]] || die "CPUS=$CPUS: want a positive number"
	report_cpus=${REPORT_CPUS:-$((CPUS < 4 ? CPUS : 4))}
	mkdir -p "$OUT/logs"
	OUT=$(cd "$OUT" && pwd)
	FKD=$(cd "$(dirname "$fkd")" && pwd)/$(basename "$fkd")
	export OUT FKD DEVICE=$device
	# One name per comparison, so that its report jobs run one at a time.
	key=$(printf '%s' "$OUT" | cksum | cut -d' ' -f1)
	queued=$(squeue -h -o '%i' -n "fkd-compare-$key" 2>/dev/null | paste -sd, -) || true
	[ -z "$queued" ] || echo "compare-slurm.sh: note: jobs of this comparison are already queued or running ($queued); a run one of them is training is locked, and the other job refuses it" >&2
	job=$(sbatch --parsable --job-name="fkd-compare-$key" --array="$array" \
		--gres="$gres" --cpus-per-task="$CPUS" --time="${TIME:-08:00:00}" \
		--output="$OUT/logs/fkd-compare-%A_%a.out" \
		--export=ALL,FKD_STAGE=shard,FKD_SHARDS="$shards" "$0" "$@") || die "sbatch refused the array (above)"
	report=$(sbatch --parsable --job-name="fkd-compare-report-$key" --dependency=afterany:"$job",singleton \
		--gres=none --cpus-per-task="$report_cpus" --time="${REPORT_TIME:-01:00:00}" \
		--output="$OUT/logs/fkd-compare-report-%j.out" \
		--export=ALL,FKD_STAGE=report "$0" "$@") || die "sbatch refused the report job (above); the array $job is queued: scancel $job, or submit the report by hand"
	echo "submitted: array $job (tasks $array of $shards, $CPUS CPUs each, gres $gres, training into $OUT), report $report (after the array); logs in $OUT/logs"
	;;
shard)
	# Task SLURM_ARRAY_TASK_ID (from 0) of FKD_SHARDS: shard I/N counts
	# from 1. Slurm shows the task its GPU as device 0.
	shard=$((SLURM_ARRAY_TASK_ID + 1))/${FKD_SHARDS:?}
	exec "$fkd" compare "$@" --shard "$shard" --out "$OUT" \
		--device "$device" --threads "${SLURM_CPUS_PER_TASK:-0}"
	;;
report)
	# Every run of the comparison listed in OUT/compare.json, merged into
	# one report in OUT, evaluated on this job's CPUs. The data is the one
	# the shards read (recorded in compare.json) unless the arguments name
	# another with --train.
	train=()
	data=$(arg --train "" "$@")
	[ -z "$data" ] || train=(--train "$data")
	exec "$fkd" report "$OUT" "${train[@]}" --device cpu --threads "${SLURM_CPUS_PER_TASK:-0}"
	;;
*)
	die "FKD_STAGE=$FKD_STAGE: want shard or report (or unset, to submit)"
	;;
esac
