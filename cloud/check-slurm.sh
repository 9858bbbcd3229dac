#!/usr/bin/env bash
# check-slurm.sh (make check-slurm) proves cloud/compare-slurm.sh on a real
# Slurm: a one-node cluster on this machine, started and stopped here.
#
# It installs Debian's slurmctld, slurmd, slurm-client and munge where
# missing, writes a one-node configuration under a temporary folder (no
# cgroups: proctrack/linuxproc, task/none; its own munge key, socket and
# ports, so a Slurm or munged already on the machine is left alone),
# starts munged, slurmctld and slurmd, and stops them by their PIDs at
# the end. Then, on a synthetic set (fkd synth):
#
#  0. a comparison whose only task is killed (SIGKILL) while it trains: its
#     report job writes a report naming the unfinished runs, and fails; the
#     task resubmitted breaks the lock the killed one left, with a note;
#  1. compare-slurm.sh trains two tiny models in two shards (one CPU each);
#     the second task is cancelled (scancel) while it trains: fkd saves its
#     checkpoint on SIGTERM; the report job reports the first model and
#     names the unfinished one;
#  2. the failed index alone is resubmitted (ARRAY=1): the task resumes the
#     run from its checkpoint; a second submission while it runs (held
#     with scontrol suspend) finds the run locked and refuses it;
#  3. the last report names both models.
#
# It prints PASS or FAIL and the path of its log (every daemon's log and
# the jobs' logs are in the same folder). It needs root (the daemons run
# as root) and bin/fkd (make build), or the fkd that FKD names.
# CHECK_SLURM_KEEP=1 keeps the temporary folder after a PASS too.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

tmp=$(mktemp -d /tmp/fkd-check-slurm.XXXXXX)
chmod 755 "$tmp" # munged runs as munge and reaches its folder through it
log=$tmp.log # beside the folder: it stays when the folder goes
exec > >(tee "$log") 2>&1
echo "check-slurm: log $log ($(date -u +%H:%M:%S))"

pids=()           # the daemons, stopped at the end
jobs_submitted=() # cancelled at the end, should the check stop early
result=FAIL
finish() {
	local rc=$?
	set +e
	[ ${#jobs_submitted[@]} -gt 0 ] && scancel "${jobs_submitted[@]}" 2>/dev/null
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || continue 2; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	[ "$rc" = 0 ] && [ "$result" = PASS ] || result=FAIL
	if [ "$result" = PASS ] && [ -z "${CHECK_SLURM_KEEP:-}" ]; then
		rm -rf "$tmp"
	else
		echo "check-slurm: the daemons' logs and the comparison are in $tmp"
	fi
	echo "check-slurm: $result in $SECONDS s; log: $log"
	[ "$result" = PASS ]
}
trap finish EXIT
fail() {
	echo "check-slurm: FAIL: $*"
	exit 1
}

[ "$(id -u)" = 0 ] || fail "run it as root: the Slurm daemons of the check run as root"
fkd=${FKD:-$repo/bin/fkd}
[ -x "$fkd" ] || fail "$fkd not found: make build first"

# ---- Packages.
missing=()
for p in slurmctld slurmd slurm-client munge; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "check-slurm: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- munged, with its own key and socket.
mkdir -p "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$tmp/munge"
chmod 755 "$tmp/munge" # clients reach the socket through it
chmod 400 "$tmp/munge/munge.key"
socket=$tmp/munge/munge.socket
runuser -u munge -- /usr/sbin/munged --foreground --key-file="$tmp/munge/munge.key" \
	--socket="$socket" --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" \
	--seed-file="$tmp/munge/munged.seed" >"$tmp/munged.out" 2>&1 &
runuser=$!
for _ in $(seq 50); do [ -S "$socket" ] && [ -s "$tmp/munge/munged.pid" ] && break; sleep 0.1; done
[ -S "$socket" ] || { kill "$runuser"; fail "munged did not start: $(cat "$tmp/munged.out")"; }
pids+=("$(cat "$tmp/munge/munged.pid")") # runuser ends with it

# ---- slurm.conf for this machine: one node, its CPUs, free ports.
free_port() {
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}
node=$(hostname -s)
cpus=$(nproc)
ctld_port=$(free_port 26817)
slurmd_port=$(free_port $((ctld_port + 1)))
mkdir -p "$tmp/etc" "$tmp/state" "$tmp/spool"
export SLURM_CONF=$tmp/etc/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=fkdcheck
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
ReturnToService=2
KillWait=30
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=check Nodes=$node Default=YES MaxTime=30 State=UP
EOF
/usr/sbin/slurmctld -D -c -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
pids+=($!)
/usr/sbin/slurmd -D -f "$SLURM_CONF" -N "$node" >"$tmp/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
	sleep 0.2
done
[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || fail "the node is not idle: $(sinfo 2>&1); see $tmp/slurmctld.log and $tmp/slurmd.log"
echo "check-slurm: Slurm $(sinfo -V | cut -d' ' -f2) up in $SECONDS s: node $node, $cpus CPUs"

# ---- Data and the comparison.
data=$tmp/data
"$fkd" synth --out "$data" --train-faces 900 --test-faces 10 >/dev/null
out=$tmp/compare
models=cnn3:width=8,cnn3 # shard 1/2 trains cnn3:width=8, shard 2/2 cnn3
args=(--archs "$models" --epochs 3 --batch 32 --train "$data/training.csv")
export OUT=$out SHARDS=2 DEVICE=cpu CPUS=1 FKD=$fkd TIME=00:10:00 REPORT_TIME=00:10:00

# submit [ENV...]: runs compare-slurm.sh and sets array and report to the
# ids it prints.
submit() {
	local line
	line=$(env "$@" cloud/compare-slurm.sh "${args[@]}") || fail "compare-slurm.sh failed"
	echo "$line"
	array=$(sed -n 's/^submitted: array \([0-9]*\) .*/\1/p' <<<"$line")
	report=$(sed -n 's/.*, report \([0-9]*\) .*/\1/p' <<<"$line")
	[ -n "$array" ] && [ -n "$report" ] || fail "no job ids in: $line"
	jobs_submitted+=("$array" "$report")
}
# state JOB prints the state of a job Slurm still knows.
state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }
# wait_done JOB waits (at most 4 minutes) until no task of JOB is queued or running.
wait_done() {
	for _ in $(seq 1200); do
		[ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
		sleep 0.2
	done
	fail "job $1 did not end in 4 minutes: $(squeue 2>&1)"
}

# A spec typo is refused before the queue.
if msg=$(cloud/compare-slurm.sh --archs cnn3,tinyresnt --train "$data/training.csv" 2>&1); then
	fail "compare-slurm.sh accepted --archs cnn3,tinyresnt"
fi
echo "check-slurm: refused before the queue: $msg"
[ -z "$(squeue -h)" ] || fail "a job was submitted despite the typo"

# wait_training LOG waits (at most a minute) until a task's log says it trains.
wait_training() {
	for _ in $(seq 600); do
		grep -q '^training cnn3' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no training in $1: $(cat "$1" 2>&1)"
}

echo "== check-slurm: 0. one shard, killed (SIGKILL): the report names the runs and fails; a resubmission breaks the lock"
killed=$tmp/killed
submit OUT="$killed" SHARDS=1
wait_training "$killed/logs/fkd-compare-${array}_0.out"
# As the kernel's OOM killer would (scancel always sends SIGTERM first):
# SIGKILL to the trainer, which the run's lock names.
lock=$(compgen -G "$killed/runs/*/model.lock") || fail "no lock while the task trains"
pid=$(grep -o '"pid":[0-9]*' "$lock" | cut -d: -f2)
[ -n "$pid" ] || fail "no pid in $lock: $(cat "$lock")"
kill -KILL "$pid"
wait_done "$array"
wait_done "$report"
echo "-- report $report ($(state "$report")):"; cat "$killed/logs/fkd-compare-report-$report.out"
[ "$(state "$report")" = FAILED ] || fail "the report job of a comparison with no finished run did not fail"
grep -q 'No run finished' "$killed/README.md" || fail "no report naming the unfinished runs in $killed"
[ -f "$lock" ] || fail "the killed task left no lock behind"
submit OUT="$killed" SHARDS=1
wait_done "$array"
wait_done "$report"
grep -h 'note: broke the lock' "$killed/logs/fkd-compare-${array}_0.out" || fail "the resubmitted task did not break the killed task's lock"
[ "$(state "$report")" = COMPLETED ] || fail "the report job after the resubmission did not complete"

echo "== check-slurm: 1. two shards; task 1 cancelled while it trains"
submit
task_log=$out/logs/fkd-compare-${array}_1.out
wait_training "$task_log"
sleep 1
[ "$(state "${array}_1")" = RUNNING ] || fail "task ${array}_1 ended before it could be cancelled ($(state "${array}_1")); the training is too short for this machine"
scancel "${array}_1"
echo "check-slurm: cancelled task ${array}_1 while it trained"
wait_done "$array"
wait_done "$report"
first_report_log=$out/logs/fkd-compare-report-$report.out
echo "-- task ${array}_1:"; tail -n 4 "$task_log"
echo "-- report $report ($(state "$report")):"; cat "$first_report_log"
grep -q 'left out of the report: cnn3 (shard 2/2)' "$first_report_log" || fail "the first report does not name the cancelled run"
[ "$(state "$report")" = COMPLETED ] || fail "the first report job did not complete"

echo "== check-slurm: 2. the failed index resubmitted: it resumes; a second submission meanwhile finds the run locked"
submit ARRAY=1
a1=$array r1=$report
resumed_log=$out/logs/fkd-compare-${a1}_1.out
for _ in $(seq 600); do
	grep -q '^resuming cnn3' "$resumed_log" 2>/dev/null && break
	sleep 0.1
done
grep -q '^resuming cnn3' "$resumed_log" 2>/dev/null || fail "task ${a1}_1 did not resume the cancelled run: $(cat "$resumed_log" 2>&1)"
# Stopped (SIGSTOP), the resumed task stays alive and holds its lock for
# as long as the second submission needs to find it.
scontrol suspend "${a1}_1"
submit ARRAY=1
a2=$array r2=$report
wait_done "$a2"
scontrol resume "${a1}_1"
wait_done "$a1"
wait_done "$r1"
wait_done "$r2"
locked_log=$out/logs/fkd-compare-${a2}_1.out
echo "-- task ${a1}_1:"; grep -v '^epoch' "$resumed_log" | tail -n 5
echo "-- task ${a2}_1 ($(state "${a2}_1")):"; tail -n 3 "$locked_log"
grep -q 'completed 3 epochs' "$resumed_log" || fail "the resumed run did not complete"
grep -q 'locked by another trainer' "$locked_log" || fail "the second submission did not find the run locked"
last_report_log=$out/logs/fkd-compare-report-$r2.out
echo "-- report $r2 ($(state "$r2")):"; cat "$last_report_log"
[ "$(state "$r2")" = COMPLETED ] || fail "the last report job did not complete"
for m in 'cnn3:width=8' 'cnn3:dropout=0.1,width=24'; do
	grep -qF "$m" "$out/README.md" || fail "the last report does not name $m"
done
grep -q 'left out' "$last_report_log" && fail "the last report left a run out"
ls "$repo"/fkd-compare-*.out >/dev/null 2>&1 && fail "job logs in the repository root"
result=PASS
