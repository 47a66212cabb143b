#!/usr/bin/env bash
# make test-slurm: a real Slurm test on this machine.
#
# Installs Debian's slurm-wlm and munge if they are missing, starts munged, slurmctld and slurmd
# as a one-node cluster (2 CPUs) configured under .build/slurm-test, and then:
#   1. submits the smoke sweep (experiments/sweeps/smoke-lr.yaml: 2 learning rates x 2 seeds) with
#      `digitlab sweep --slurm`, waits for the job array, and checks that every task completed,
#      that `digitlab report` finds all 4 runs, and that the runs and the aggregated table equal,
#      with tolerance 0, the same runs made locally (`digitlab run --shard 0/1`, same threads);
#      submitting the sweep again submits nothing;
#   2. submits a run longer than its time limit (2 minutes, warning 60 s before): Slurm warns it,
#      it saves its place and requeues itself, Slurm starts it again, it resumes and finishes;
#      its history and summary must equal an uninterrupted run's, made locally meanwhile.
# Stops the daemons it started at the end, also on failure. Needs root (or sudo) for the
# packages and the daemons. Takes about 7 minutes on an idle 2-CPU machine, most of it training.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${BIN:-.build/release/digitlab}
WORK=$ROOT/.build/slurm-test
SWEEP=experiments/sweeps/smoke-lr.yaml
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
PORT=${SLURM_TEST_PORT:-16817}   # slurmctld; slurmd takes the next one (not Slurm's defaults, to keep clear of a real cluster)
started_at=$(date +%s)

say() { echo "test-slurm [$(($(date +%s) - started_at))s]: $*"; }
die() { echo "test-slurm: FAIL: $*" >&2; exit 1; }

[ -x "$BIN" ] || die "$BIN not built; run make build"

# --- Slurm and munge from Debian -----------------------------------------------------------------
missing=$(for p in slurm-wlm munge; do dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q "install ok installed" || echo $p; done)
if [ -n "$missing" ]; then
    say "installing Debian packages:" $missing
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# --- a one-node cluster ---------------------------------------------------------------------------
# Daemons left over from an interrupted earlier run of this test.
for pidfile in "$WORK"/slurmd.pid "$WORK"/slurmctld.pid; do
    if [ -f "$pidfile" ] && pid=$(cat "$pidfile") && [ -n "$pid" ] && grep -q slurm "/proc/$pid/comm" 2>/dev/null; then
        $SUDO kill "$pid" 2>/dev/null || true
    fi
done
sleep 1
rm -rf "$WORK"
mkdir -p "$WORK"/state "$WORK"/spool "$WORK"/log
host=$(hostname -s)
cpus=$(( $(nproc) < 2 ? $(nproc) : 2 ))
cat > "$WORK/slurm.conf" <<EOF
# One node, $cpus CPUs, written by scripts/test-slurm.sh.
ClusterName=digitlab-test
SlurmctldHost=$host
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A requeued job waits for its begin time: the credential lifetime (default 120 s) and a second.
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobRequeue=1
ReturnToService=2
MinJobAge=3600
KillWait=30
# Generous timeouts: on a loaded 2-CPU machine the daemons can be slow to answer.
MessageTimeout=60
BatchStartTimeout=120
SlurmdTimeout=600
SlurmctldTimeout=600
UnkillableStepTimeout=300
# Start jobs (and requeued jobs past their begin time) within seconds rather than half a minute.
SchedulerParameters=bf_interval=5
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$WORK/slurm.conf

started_munge=
cleanup() {
    status=$?
    say "stopping the cluster"
    scancel --quiet --user "$(id -un)" 2>/dev/null || true
    for d in slurmd slurmctld; do
        if [ -f "$WORK/$d.pid" ]; then $SUDO kill "$(cat "$WORK/$d.pid")" 2>/dev/null || true; fi
    done
    if [ -n "$started_munge" ] && [ -f /run/munge/munged.pid ]; then $SUDO kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; fi
    if [ "$status" != 0 ]; then
        echo "test-slurm: logs in $WORK (log/slurmctld.log, log/slurmd.log, */slurm/*.out)" >&2
    fi
    exit "$status"
}
trap cleanup EXIT

if ! pgrep -x munged >/dev/null; then
    [ -f /etc/munge/munge.key ] || $SUDO mungekey --create
    $SUDO mkdir -p /run/munge && $SUDO chown munge:munge /run/munge 2>/dev/null || true
    $SUDO munged --force
    started_munge=1
fi
munge -n | unmunge >/dev/null || die "munge does not work"
$SUDO slurmctld -f "$SLURM_CONF"
$SUDO slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
    sleep 1
done
[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || die "the node did not come up: $(sinfo 2>&1)"
say "Slurm $(sinfo --version | cut -d' ' -f2) is up: $(sinfo -h -o '%P %D node, %c CPUs, %T')"

# Waits until no task of job $1 is queued or running (at most $2 seconds); prints the queue now and then.
wait_for_job() {
    local job=$1 limit=$2 start=$SECONDS next=0
    while [ -n "$(squeue -h -j "$job" -o %i 2>/dev/null)" ]; do
        if (( SECONDS - start > limit )); then squeue -j "$job"; die "job $job still queued or running after $limit s"; fi
        if (( SECONDS >= next )); then say "job $job: $(squeue -h -j "$job" -o '%i %T %r' | tr '\n' ' ')"; next=$((SECONDS + 30)); fi
        sleep 2
    done
}

# Every task of job $1 has JobState COMPLETED and exit code 0:0.
check_completed() {
    local lines bad
    lines=$(scontrol -o show job "$1")
    bad=$(grep -v 'JobState=COMPLETED .*ExitCode=0:0' <<<"$lines" || true)
    [ -z "$bad" ] || die "tasks of job $1 did not complete:"$'\n'"$bad"
    say "job $1: $(wc -l <<<"$lines") tasks completed"
}

# --- 1. the smoke sweep through Slurm, and the same runs locally -----------------------------------
cluster=$WORK/cluster
local=$WORK/local
"$BIN" plan --out "$cluster" "$SWEEP"
job=$("$BIN" sweep --slurm --parsable --cpus-per-task 1 --array-parallelism 2 --time 10 --out "$cluster" "$SWEEP")
say "submitted the sweep as job array $job"
wait_for_job "$job" 1200
check_completed "$job"
report=$("$BIN" report --out "$cluster" "$SWEEP")
echo "$report"
grep -q "4 planned runs: 4 finished, 0 missing" <<<"$report" || die "digitlab report does not find the 4 runs"
again=$("$BIN" sweep --slurm --out "$cluster" "$SWEEP")
grep -q "nothing to submit" <<<"$again" || die "submitting the finished sweep again should submit nothing: $again"
say "the same runs locally (one engine thread, as each Slurm task had one CPU)"
"$BIN" run --shard 0/1 --threads 1 --out "$local" "$SWEEP"
"$BIN" report --out "$local" "$SWEEP" >/dev/null
accuracy=(min_train_acc max_train_acc min_val_acc max_val_acc test_acc test_loss)
"$BIN" diff "$local/sweeps/smoke-lr/runs.csv" "$cluster/sweeps/smoke-lr/runs.csv" --tolerance 0 \
    --columns status epochs "${accuracy[@]}" || die "the Slurm runs differ from the local ones"
"$BIN" diff "$local/sweeps/smoke-lr/summary.csv" "$cluster/sweeps/smoke-lr/summary.csv" --tolerance 0 \
    --columns name finished $(for c in "${accuracy[@]::5}"; do echo "${c}_mean ${c}_min ${c}_max"; done) test_loss_mean \
    || die "the aggregated Slurm table differs from the local one"
for dir in "$local"/runs/*/seed-*; do
    run=${dir#"$local"/}
    cmp <(cut -d, -f1-5 "$dir/history.csv") <(cut -d, -f1-5 "$cluster/$run/history.csv") \
        || die "$run: the Slurm history differs from the local one"
done
say "part 1 passed: the sweep's 4 runs on Slurm equal the local runs exactly"

# --- 2. a run longer than its time limit: warned, saved, requeued, resumed -------------------------
# With a 2-minute limit and the warning 60 s before it, Slurm warns the task 30 to 60 s after it
# starts (it checks every 30 s). The run should take about 150 s here (case 7 on 10,000 images,
# epochs set from part 1's epoch times), so that it is warned on any plausible machine. Once it
# has been requeued, the test lifts the task's time limit (as the cluster's admin), so that the
# second start finishes rather than being warned and requeued again, as it would be on a real
# cluster, each start resuming further on. Meanwhile the same run is made locally, uninterrupted.
per_epoch=$(awk -F, 'NR > 1 { s += $NF; n++ } END { printf "%.2f", s / n }' "$cluster/sweeps/smoke-lr/runs.csv")
epochs=$(awk -v t="$per_epoch" 'BEGIN { e = int(150 / t + 0.999); print (e < 4 ? 4 : e > 400 ? 400 : e) }')
spec=.build/slurm-test/requeue.yaml
cat > "$spec" <<EOF
# The smoke run made longer than its Slurm time limit, for scripts/test-slurm.sh.
extends: ../../experiments/smoke.yaml
name: requeue
paper_case: ~
training:
  epochs: $epochs
  seeds: [0]
EOF
say "requeue test: $epochs epochs of about $per_epoch s, under a 2-minute limit with the warning 60 s before it"
job=$("$BIN" sweep --slurm --parsable --cpus-per-task 1 --time 2 --signal-seconds 60 --out "$cluster" "$spec")
if dup=$("$BIN" sweep --slurm --out "$cluster" "$spec" 2>&1); then die "the same sweep was submitted twice: $dup"; fi
grep -q "still queued or running" <<<"$dup" || die "submitting a queued sweep again: $dup"
say "submitted job $job (and a second submission was refused); the same run uninterrupted, locally, meanwhile"
"$BIN" run --shard 0/1 --threads 1 --out "$local" "$spec" > "$WORK/requeue-local.log" 2>&1 &
reference=$!
lifted=
start=$SECONDS
next=0
while [ -n "$(squeue -h -j "$job" -o %i 2>/dev/null)" ]; do
    (( SECONDS - start < 1500 )) || { squeue -j "$job"; die "job $job still queued or running after 1500 s"; }
    restarts=$(scontrol -o show job "$job" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
    if [ -z "$lifted" ] && (( ${restarts:-0} >= 1 )); then
        say "job $job was warned and requeued; lifting its time limit for its next start"
        scontrol update JobId="${job}_0" TimeLimit=30
        lifted=1
    fi
    if (( SECONDS >= next )); then say "job $job: $(squeue -h -j "$job" -o '%i %T %r %M' | tr '\n' ' ')"; next=$((SECONDS + 30)); fi
    sleep 2
done
log=$cluster/slurm/requeue-${job}_0.out
cat "$log"
check_completed "$job"
restarts=$(scontrol -o show job "$job" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
(( restarts >= 1 )) || die "job $job was never requeued (Restarts=$restarts): the run finished before Slurm's warning"
grep -q "requeueing ${job}_0" "$log" || die "the task did not requeue itself"
grep -q "resuming from its checkpoint" "$log" || die "the requeued task did not resume"
wait "$reference" || { cat "$WORK/requeue-local.log"; die "the local run failed"; }
say "job $job was requeued $restarts time(s) and finished; compared with the uninterrupted local run:"
cmp <(cut -d, -f1-5 "$local/runs/requeue/seed-0/history.csv") <(cut -d, -f1-5 "$cluster/runs/requeue/seed-0/history.csv") \
    || die "the requeued run's history differs from the uninterrupted run's"
"$BIN" diff "$local/runs/requeue/seed-0/summary.csv" "$cluster/runs/requeue/seed-0/summary.csv" --tolerance 0 \
    --columns epochs status "${accuracy[@]}" || die "the requeued run's summary differs from the uninterrupted run's"
say "part 2 passed: warned, saved, requeued, resumed, and equal to the uninterrupted run"
say "PASS"
