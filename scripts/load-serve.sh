#!/usr/bin/env bash
# Load test of `digitlab serve` on loopback (issue 20): the study page and predict on a 28x28
# upload, each with wrk (Debian's package) at 50 concurrent connections for 30 s, on 2 threads.
# Writes the requests per second, the errors and the latency percentiles (p50, p90, p99) to
# results/bench/serve.md. Needs a built tool (make build) and nothing else on the port.
# Usage: scripts/load-serve.sh [PORT]   (default 18080)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-18080}"
bin=.build/release/digitlab
out=results/bench/serve.md
command -v wrk >/dev/null || { echo "error: wrk not found; install Debian's wrk (apt-get install wrk)" >&2; exit 1; }
[ -x "$bin" ] || { echo "error: $bin not found; run make build first" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" serve --port "$port" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "http://127.0.0.1:$port/" >/dev/null || { echo "error: the server did not start (see $work/serve.log)" >&2; exit 1; }
# The upload: a 28x28 white stroke on black, as the try page's canvas sends it (PGM, so no encoder is needed).
{ printf 'P5\n28 28\n255\n'; for y in $(seq 0 27); do for x in $(seq 0 27); do
    if [ "$x" -ge 13 ] && [ "$x" -le 15 ] && [ "$y" -ge 4 ] && [ "$y" -le 23 ]; then printf '\xff'; else printf '\x00'; fi
  done; done; } > "$work/digit.pgm"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
local f = io.open("$work/digit.pgm", "rb"); wrk.body = f:read("*all"); f:close()
done = function(summary, latency, requests)
  io.write(string.format("LATENCY %.2f %.2f %.2f\n", latency:percentile(50)/1000, latency:percentile(90)/1000, latency:percentile(99)/1000))
end
LUA
cat > "$work/get.lua" <<LUA
done = function(summary, latency, requests)
  io.write(string.format("LATENCY %.2f %.2f %.2f\n", latency:percentile(50)/1000, latency:percentile(90)/1000, latency:percentile(99)/1000))
end
LUA
row() { # name, url, script
  local log="$work/$(printf %s "$1" | tr -c "a-zA-Z0-9" _).txt"
  wrk -t2 -c50 -d30s --latency -s "$3" "$2" > "$log"
  local rps errors lat
  rps=$(awk '/Requests\/sec/ {print $2}' "$log")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$log" | tr '\n' ' ')
  lat=$(awk '/^LATENCY/ {print $2" | "$3" | "$4}' "$log")
  echo "| $1 | $rps | $lat | ${errors:-none} |"
}
{
  echo "# digitlab serve under load"
  echo
  echo "wrk, 2 threads, 50 connections, 30 s each, on loopback; $(date -u +%F), commit $(git rev-parse --short HEAD),"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs. Written by scripts/load-serve.sh."
  echo "Targets (issue 20): study page p99 under 50 ms, predict under 20 ms."
  echo
  echo "| endpoint | requests/s | p50 ms | p90 ms | p99 ms | errors |"
  echo "| --- | --- | --- | --- | --- | --- |"
  row "study page (GET /)" "http://127.0.0.1:$port/" "$work/get.lua"
  row "predict, 28x28 upload (POST /api/predict)" "http://127.0.0.1:$port/api/predict?model=models/case7" "$work/post.lua"
} > "$work/serve.md"
mkdir -p "$(dirname "$out")"
mv "$work/serve.md" "$out"
cat "$out"
