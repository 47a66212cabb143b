#!/usr/bin/env bash
# Side-by-side speed comparison with the peer: the paper's own stack (Keras on TensorFlow CPU,
# ../shared/peers/keras_cases.py), run on the same machine one after the other, in one sitting.
# Writes results/bench/vs-keras.md. The peer is not a dependency of the product or of CI.
#
# Usage: scripts/vs-keras.sh [EPOCHS]      (default 3 timed epochs per case)
#        OUT=results/bench/zen3 scripts/vs-keras.sh   (to keep another machine's figures apart)
# Needs: a Python with TensorFlow, e.g.
#   python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu scipy
#   KERAS_PYTHON=/tmp/tfenv/bin/python scripts/vs-keras.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-3}
PY=${KERAS_PYTHON:-/tmp/tfenv/bin/python}
PEERS=${PEERS:-../shared/peers}
DATA=${DIGITLAB_DATA:-data/mnist}
BIN=.build/release/digitlab
OUT=${OUT:-results/bench}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -x "$PY" ] || { echo "error: no Python with TensorFlow at $PY; set KERAS_PYTHON (see the comment at the top)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "error: build first: make build" >&2; exit 1; }
mkdir -p "$OUT"

# Peak resident memory (MB) of a command, from GNU time's report.
peak_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A OURS KERAS OURS_MB KERAS_MB
for c in 1 7; do
  echo "case $c: DigitLab, $EPOCHS epochs" >&2
  /usr/bin/time -v "$BIN" run experiments/case$c.yaml --epochs "$EPOCHS" --data "$DATA" --out "$TMP/ours" >/dev/null 2>"$TMP/time-ours-$c"
  OURS[$c]=$(tail -n +2 "$TMP/ours/runs/case$c+epochs=$EPOCHS/seed-0/timing.csv" | cut -d, -f2 | median)
  OURS_MB[$c]=$(peak_mb "$TMP/time-ours-$c")
  echo "case $c: Keras, $EPOCHS epochs" >&2
  MNIST_DIR="$DATA" /usr/bin/time -v "$PY" "$PEERS/keras_cases.py" "$c" "$EPOCHS" 0 >"$TMP/keras-$c.log" 2>"$TMP/time-keras-$c"
  KERAS[$c]=$(grep '^{' "$TMP/keras-$c.log" | sed 's/.*"sec": \([0-9.]*\).*/\1/' | median)
  KERAS_MB[$c]=$(peak_mb "$TMP/time-keras-$c")
done

echo "inference: both" >&2
OURS_INF=$("$BIN" bench --epochs 0 --inference-only --data "$DATA" --out "$TMP/bench" | awk '/inference:/ {print $2}')
KERAS_INF=$(MNIST_DIR="$DATA" "$PY" - "$PEERS" <<'PYEOF'
import os, sys, time, json
sys.path.insert(0, sys.argv[1]); os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras_cases as kc
xte = kc.keras.utils.normalize(kc.idx("t10k-images-idx3-ubyte.gz").astype("float32"), axis=1).reshape(-1, 28, 28, 1)
m = kc.build(3, True); m.predict(xte[:256], verbose=0)
ts = []
for _ in range(3):
    t = time.time(); m.predict(xte, verbose=0); ts.append(time.time() - t)
print(round(len(xte) / sorted(ts)[1]))
PYEOF
)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
{
  echo "# DigitLab against Keras (TensorFlow CPU), same machine, one sitting"
  echo
  echo "- date: $(date -u +%FT%TZ)"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
  echo "- OpenBLAS: $("$BIN" blas | head -1)"
  echo "- Keras: $("$PY" -c 'import tensorflow as tf, keras; print("TensorFlow", tf.__version__, "Keras", keras.__version__)' 2>/dev/null)"
  echo "- epochs timed per case: $EPOCHS (medians); batch 32; case 1 trains 54,000 images and validates on 6,000, case 7 trains 60,000 with rotation"
  echo
  echo "| measure | DigitLab | Keras | DigitLab / Keras |"
  echo "| --- | --- | --- | --- |"
  for c in 1 7; do
    echo "| case $c epoch (s) | ${OURS[$c]} | ${KERAS[$c]} | $(ratio "${OURS[$c]}" "${KERAS[$c]}") |"
  done
  for c in 1 7; do
    echo "| case $c training peak memory (MB) | ${OURS_MB[$c]} | ${KERAS_MB[$c]} | $(ratio "${OURS_MB[$c]}" "${KERAS_MB[$c]}") |"
  done
  echo "| test-set inference (images/s) | $OURS_INF | $KERAS_INF | $(ratio "$OURS_INF" "$KERAS_INF") |"
  echo
  echo "Rerun: \`KERAS_PYTHON=/path/to/python-with-tensorflow scripts/vs-keras.sh [EPOCHS]\` on an otherwise idle machine."
} > "$OUT/vs-keras.md"
cat "$OUT/vs-keras.md"
