#!/usr/bin/env bash
# compare-slurm.sh shares one fkd comparison out over the tasks of a Slurm
# job array: task I of N runs `fkd compare --shard I/N`, which trains every
# N-th model of --models into the shared folder OUT, and a last job, which
# starts when every task has ended, merges their runs with `fkd report OUT`.
#
# Run it from the repository root on a login node, with fkd built (make
# build, against a CUDA LibTorch for GPUs) and OUT on a file system every
# node mounts at the same path:
#
#	OUT=/shared/$USER/compare SHARDS=3 cloud/compare-slurm.sh \
#		--models cnn3,tinyresnet,fpn --epochs 30 --train /shared/$USER/data/training.zip
#
# The arguments are those of `fkd compare`, the same for every task; the
# script adds --shard, --out, --device and --threads. It submits itself
# twice: as the array (FKD_STAGE=shard) and as the report job
# (FKD_STAGE=report), and prints both job ids.
#
# Environment (defaults in brackets): OUT (required), SHARDS [2], FKD
# [bin/fkd], DEVICE [cuda: the GPU Slurm gives the task; cpu without GPUs,
# then drop the --gres line below].
#
# A task that is killed (time limit, preemption, scancel) leaves a
# checkpoint: submit the same command again and the comparison continues
# where it stopped, reusing the finished runs. The report job runs after the
# array however its tasks ended (afterany): a run that did not finish is
# named in the report, and the rest are reported.

# One GPU and 8 cores per task; the sbatch command line overrides these.
#SBATCH --job-name=fkd-compare
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --time=08:00:00
#SBATCH --output=fkd-compare-%A_%a.out
set -euo pipefail

fkd=${FKD:-bin/fkd}
: "${OUT:?set OUT to the shared folder of the comparison}"

case "${FKD_STAGE:-}" in
"")
	# On the login node: submit the array, then the report after it.
	shards=${SHARDS:-2}
	if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
		echo "compare-slurm.sh: SHARDS=$shards: want a positive number of tasks" >&2
		exit 2
	fi
	[ -x "$fkd" ] || { echo "compare-slurm.sh: $fkd not found: run make build first, or set FKD" >&2; exit 2; }
	mkdir -p "$OUT"
	array=$(sbatch --parsable --array=0-$((shards - 1)) --export=ALL,FKD_STAGE=shard "$0" "$@")
	report=$(sbatch --parsable --job-name=fkd-compare-report --dependency=afterany:"$array" \
		--gres=none --cpus-per-task=4 --time=01:00:00 --output=fkd-compare-report-%j.out \
		--export=ALL,FKD_STAGE=report "$0" "$@")
	echo "submitted: array $array ($shards tasks training into $OUT), report $report (after the array)"
	;;
shard)
	# Task SLURM_ARRAY_TASK_ID (from 0) of SLURM_ARRAY_TASK_COUNT: shard
	# I/N counts from 1. Slurm shows the task its GPU as device 0.
	shard=$((SLURM_ARRAY_TASK_ID + 1))/$SLURM_ARRAY_TASK_COUNT
	exec "$fkd" compare "$@" --shard "$shard" --out "$OUT" \
		--device "${DEVICE:-cuda}" --threads "${SLURM_CPUS_PER_TASK:-0}"
	;;
report)
	# Every run of the comparison listed in OUT/compare.json, merged into
	# one report in OUT, evaluated on this job's CPUs. The data is the one
	# the shards read (recorded in compare.json) unless the arguments name
	# another with --train.
	train=()
	prev=""
	for a in "$@"; do
		case "$prev" in --train) train=(--train "$a") ;; esac
		case "$a" in --train=*) train=("$a") ;; esac
		prev=$a
	done
	exec "$fkd" report "$OUT" "${train[@]}" --device cpu --threads "${SLURM_CPUS_PER_TASK:-0}"
	;;
*)
	echo "compare-slurm.sh: FKD_STAGE=$FKD_STAGE: want shard or report (or unset, to submit)" >&2
	exit 2
	;;
esac
