#!/usr/bin/env bash
# DigitLab beside its peers on the same machine in one sitting: Keras on TensorFlow CPU (the
# paper's stack, ../shared/peers/keras_cases.py) and PyTorch CPU in its default NCHW layout and in
# channels-last (../shared/peers/torch_cases.py). Cases 1 and 7 on LIMIT images (default 15,000),
# two epochs each, the second epoch's seconds timed (the first warms up); the four take turns
# within each of ROUNDS rounds (default 3), the order rotating from round to round, and the table
# gives medians over the rounds. Test-set inference: DigitLab's `bench --inference-only`, Keras's
# predict (batches of 32), PyTorch's batches of 256 (its SUMMARY line), medians over the rounds.
# Writes OUT/vs-peers.md (default OUT: results/bench/ and the CPU's name from scripts/cpu-dir.sh). The peers are
# not dependencies of the product or of CI; time only on an otherwise idle machine.
#
# Usage: scripts/vs-peers.sh                       (or: make vs-peers)
#        ROUNDS=1 LIMIT=2000 OUT=/tmp/vs scripts/vs-peers.sh   (a quick check that it runs)
# Needs two virtual environments outside the project (paths from the environment, these defaults):
#   TF_VENV=/work/venvs/tf:        python3 -m venv /work/venvs/tf && /work/venvs/tf/bin/pip install tensorflow-cpu scipy
#   TORCH_VENV=/work/venvs/torch:  python3 -m venv /work/venvs/torch && /work/venvs/torch/bin/pip install torch numpy
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
LIMIT=${LIMIT:-15000}
TF_VENV=${TF_VENV:-/work/venvs/tf}
TORCH_VENV=${TORCH_VENV:-/work/venvs/torch}
PEERS=${PEERS:-../shared/peers}
DATA=${DIGITLAB_DATA:-data/mnist}
BIN=.build/release/digitlab
OUT=${OUT:-results/bench/$(scripts/cpu-dir.sh)}

[ -x "$BIN" ] || { echo "error: no $BIN; build first: make build" >&2; exit 1; }
"$TF_VENV/bin/python" -c 'import tensorflow' 2>/dev/null || {
  echo "error: no TensorFlow in TF_VENV=$TF_VENV; make it: python3 -m venv $TF_VENV && $TF_VENV/bin/pip install tensorflow-cpu scipy" >&2; exit 1; }
"$TORCH_VENV/bin/python" -c 'import torch' 2>/dev/null || {
  echo "error: no PyTorch in TORCH_VENV=$TORCH_VENV; make it: python3 -m venv $TORCH_VENV && $TORCH_VENV/bin/pip install torch numpy" >&2; exit 1; }
for f in keras_cases.py torch_cases.py; do
  [ -f "$PEERS/$f" ] || { echo "error: no $PEERS/$f; set PEERS to the peers' directory (../shared/peers)" >&2; exit 1; }
done
DATA=$(cd "$DATA" && pwd)
export MNIST_DIR=$DATA TF_CPP_MIN_LOG_LEVEL=2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) exit 1; print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# The "sec" of the second JSON epoch line in a peer's log.
second_epoch() { grep '^{' "$1" | sed -n 2p | sed 's/.*"sec": \([0-9.]*\).*/\1/' | xargs -r printf '%.2f\n'; }

# One tool on one case: appends the second epoch's seconds to $TMP/TOOL-CASE (and, for PyTorch,
# its inference rate to $TMP/inf-TOOL).
time_one() {
  local tool=$1 c=$2 log=$TMP/log-$1-$2
  case $tool in
    ours)
      rm -rf "$TMP/ours"
      "$BIN" run experiments/case$c.yaml --epochs 2 --limit "$LIMIT" --data "$DATA" --out "$TMP/ours" >"$log" 2>&1
      sed -n 3p "$TMP/ours/runs/case$c+epochs=2,limit=$LIMIT/seed-0/timing.csv" | cut -d, -f2 >>"$TMP/ours-$c" ;;
    keras)
      "$TF_VENV/bin/python" "$PEERS/keras_cases.py" "$c" 2 0 --limit "$LIMIT" >"$log" 2>&1
      second_epoch "$log" >>"$TMP/keras-$c" ;;
    nchw|cl)
      "$TORCH_VENV/bin/python" "$PEERS/torch_cases.py" "$c" 2 --limit "$LIMIT" $([ "$tool" = cl ] && echo --channels-last) >"$log" 2>&1
      second_epoch "$log" >>"$TMP/$tool-$c"
      sed -n 's/^SUMMARY .*"inference_per_s": \([0-9.]*\).*/\1/p' "$log" >>"$TMP/inf-$tool" ;;
  esac
  [ -s "$TMP/$tool-$c" ] || { echo "error: $tool on case $c gave no second epoch; its output:" >&2; tail -n 20 "$log" >&2; exit 1; }
}

keras_inference() {
  "$TF_VENV/bin/python" - "$PEERS" <<'PYEOF'
import os, sys, time
sys.path.insert(0, sys.argv[1])
import keras_cases as kc
xte = kc.keras.utils.normalize(kc.idx("t10k-images-idx3-ubyte.gz").astype("float32"), axis=1).reshape(-1, 28, 28, 1)
m = kc.build(3, True); m.predict(xte[:256], verbose=0)
t = time.time(); m.predict(xte, verbose=0)
print(round(len(xte) / (time.time() - t)))
PYEOF
}

TOOLS=(ours keras nchw cl)
for r in $(seq 1 "$ROUNDS"); do
  # Rotate the order each round, so no tool always runs first (or right after the heaviest).
  order=("${TOOLS[@]:$(( (r - 1) % 4 ))}" "${TOOLS[@]:0:$(( (r - 1) % 4 ))}")
  for c in 1 7; do
    for tool in "${order[@]}"; do
      echo "round $r/$ROUNDS, case $c: $tool" >&2
      time_one "$tool" "$c"
    done
  done
  echo "round $r/$ROUNDS: inference" >&2
  "$BIN" bench --epochs 0 --inference-only --data "$DATA" --out "$TMP/bench" | awk '/inference:/ {print $2}' >>"$TMP/inf-ours"
  keras_inference 2>"$TMP/log-keras-inference" >>"$TMP/inf-keras" || { tail -n 20 "$TMP/log-keras-inference" >&2; exit 1; }
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
thousands() { awk -v x="$1" 'BEGIN {printf "%.1fk", x / 1000}'; }
declare -A M
for tool in "${TOOLS[@]}"; do
  for c in 1 7; do M[$tool-$c]=$(median <"$TMP/$tool-$c"); done
  M[inf-$tool]=$(median <"$TMP/inf-$tool")
done
TF_VERSION=$("$TF_VENV/bin/python" -c 'import tensorflow as tf; print(tf.__version__)' 2>/dev/null)
TORCH_VERSION=$("$TORCH_VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')
{
  echo "# DigitLab beside Keras and PyTorch, same machine, one sitting"
  echo
  echo "- date: $(date -u +%FT%TZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; OpenBLAS: $("$BIN" blas | head -1)"
  echo "- $LIMIT images (cases 1-4 hold out 10% for validation), batch 32; the second epoch's seconds, medians of $ROUNDS alternating rounds"
  echo
  echo "| | DigitLab | Keras (TensorFlow $TF_VERSION) | PyTorch $TORCH_VERSION, NCHW | PyTorch $TORCH_VERSION, channels-last |"
  echo "| --- | --- | --- | --- | --- |"
  for c in 1 7; do
    row="| case $c | ${M[ours-$c]} s"
    for tool in keras nchw cl; do row+=" | ${M[$tool-$c]} s ($(ratio "${M[ours-$c]}" "${M[$tool-$c]}")x)"; done
    echo "$row |"
  done
  row="| test-set inference | $(thousands "${M[inf-ours]}") images/s"
  for tool in keras nchw cl; do row+=" | $(thousands "${M[inf-$tool]}")/s ($(ratio "${M[inf-ours]}" "${M[inf-$tool]}")x)"; done
  echo "$row |"
  echo
  echo "In brackets: DigitLab's epoch time over the peer's (below 1: DigitLab is faster), and DigitLab's"
  echo "inference rate over the peer's (above 1: DigitLab is faster)."
  echo
  echo "Rerun on an otherwise idle machine: \`make vs-peers\` (TF_VENV, TORCH_VENV, ROUNDS, LIMIT, OUT: see scripts/vs-peers.sh)."
} >"$OUT/vs-peers.md"
cat "$OUT/vs-peers.md"
