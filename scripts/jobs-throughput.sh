#!/usr/bin/env bash
# Does training several runs at once pay on this machine? Times, in alternating rounds, one run on
# THREADS engine threads (default 2) against THREADS runs at once on one thread each (`digitlab
# run --shard 0/1 --jobs THREADS --threads 1`, as `reproduce --jobs` trains them): case CASE
# (default 7) for EPOCHS epochs (default 3) on LIMIT images (default 15,000), wall seconds from
# start to end (data loading and test evaluation included, as in a reproduction), and epochs an
# hour for each, medians of ROUNDS rounds (default 3). Writes OUT/jobs.txt (default OUT:
# results/bench/ and the CPU's name from scripts/cpu-dir.sh), ending with the setting it supports
# for `JobsDefault.threadsPerRun` (Sources/digitlab/Jobs.swift), which `--jobs auto` follows.
# Time only on an otherwise idle machine.
#
# Usage: scripts/jobs-throughput.sh                 (or: make jobs-throughput)
#        ROUNDS=1 EPOCHS=1 LIMIT=2000 OUT=/tmp/jobs scripts/jobs-throughput.sh   (a quick check that it runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
EPOCHS=${EPOCHS:-3}
LIMIT=${LIMIT:-15000}
CASE=${CASE:-7}
THREADS=${THREADS:-2}
DATA=${DIGITLAB_DATA:-data/mnist}
BIN=.build/release/digitlab
OUT=${OUT:-results/bench/$(scripts/cpu-dir.sh)}
[ -x "$BIN" ] || { echo "error: no $BIN; build first: make build" >&2; exit 1; }
[ "$(nproc)" -ge "$THREADS" ] || { echo "error: THREADS=$THREADS but this machine has $(nproc) cores" >&2; exit 1; }
DATA=$(cd "$DATA" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# A sweep of the case over seeds 0..THREADS-1 (one seed for the single run).
spec() {
  local seeds
  seeds=$(seq -s, 0 $(($1 - 1)))
  printf 'extends: %s/experiments/case%s.yaml\nname: jobs-%s\ntraining:\n  epochs: %s\n  limit: %s\n  seeds: [%s]\n' \
    "$PWD" "$CASE" "$1" "$EPOCHS" "$LIMIT" "$seeds" >"$TMP/runs-$1.yaml"
}
spec 1
spec "$THREADS"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Wall seconds of `digitlab run --shard 0/1 ARGS...` from scratch.
wall() {
  rm -rf "$TMP/out"
  local start end
  start=$(date +%s.%N)
  "$BIN" run --shard 0/1 "$@" --data "$DATA" --out "$TMP/out" >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f\n", b - a}'
}

: >"$TMP/one"; : >"$TMP/many"
for r in $(seq 1 "$ROUNDS"); do
  # Alternate which goes first.
  for which in $([ $((r % 2)) = 1 ] && echo "one many" || echo "many one"); do
    echo "round $r/$ROUNDS: $which" >&2
    if [ "$which" = one ]; then
      wall "$TMP/runs-1.yaml" --threads "$THREADS" --jobs 1 >>"$TMP/one"
    else
      wall "$TMP/runs-$THREADS.yaml" --threads 1 --jobs "$THREADS" >>"$TMP/many"
    fi
  done
done

per_hour() { awk -v e="$1" -v s="$2" 'BEGIN {printf "%.0f", e * 3600 / s}'; }
ONE=$(cat "$TMP/one" | median)
MANY=$(cat "$TMP/many" | median)
ONE_RATE=$(per_hour "$EPOCHS" "$ONE")
MANY_RATE=$(per_hour $((EPOCHS * THREADS)) "$MANY")
{
  echo "# Several runs at once against one wider run (scripts/jobs-throughput.sh)"
  echo "date: $(date -u +%FT%TZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; OpenBLAS: $("$BIN" blas | head -1)"
  echo "case $CASE, $EPOCHS epochs on $LIMIT images a run; wall seconds, medians of $ROUNDS alternating rounds"
  echo "rounds, one run on $THREADS threads (s): $(cat "$TMP/one" | xargs)"
  echo "rounds, $THREADS runs at once on 1 thread each (s): $(cat "$TMP/many" | xargs)"
  echo "one run on $THREADS threads: $ONE s, $ONE_RATE epochs an hour"
  echo "$THREADS runs at once on 1 thread: $MANY s, $MANY_RATE epochs an hour"
  echo "ratio (runs at once / one run, epochs an hour): $(awk -v a="$MANY_RATE" -v b="$ONE_RATE" 'BEGIN {printf "%.2f", a / b}')"
  if [ "$MANY_RATE" -gt "$ONE_RATE" ]; then
    echo "supports: JobsDefault.threadsPerRun = 1 (--jobs auto trains $THREADS runs at once on this CPU)"
  else
    echo "supports: JobsDefault.threadsPerRun = nil (--jobs auto trains one run at a time on all cores)"
  fi
} >"$OUT/jobs.txt"
cat "$OUT/jobs.txt"
