#!/usr/bin/env bash
# Load test of `digitlab serve` on loopback (issue 20): the study page, predict on the same 28x28
# upload each time (which its answer cache serves) and on a different one each time (which it
# cannot), each with wrk (Debian's package) at 50 concurrent connections for 30 s, on 2 threads.
# Writes the requests per second, the errors, the latency percentiles (p50, p90, p99) and how many
# responses a cache answered, to results/bench/serve.md. Needs a built tool (make build) and
# nothing else on the port.
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
# Every script counts the responses a cache answered (X-Page-Cache or X-Answer-Cache: hit), each
# wrk thread in its own Lua state, summed at the end, and prints the latency percentiles.
cat > "$work/common.lua" <<'LUA'
local threads = {}
setup = function(thread) thread:set("id", #threads) table.insert(threads, thread) end
hits = 0
response = function(status, headers, body)
  if (headers["X-Page-Cache"] or headers["x-page-cache"] or headers["X-Answer-Cache"] or headers["x-answer-cache"]) == "hit" then hits = hits + 1 end
end
done = function(summary, latency, requests)
  local h = 0
  for _, t in ipairs(threads) do h = h + t:get("hits") end
  io.write(string.format("LATENCY %.2f %.2f %.2f\n", latency:percentile(50)/1000, latency:percentile(90)/1000, latency:percentile(99)/1000))
  io.write(string.format("HITS %d\n", h))
end
LUA
cat > "$work/get.lua" <<LUA
dofile("$work/common.lua")
LUA
cat > "$work/post.lua" <<LUA
dofile("$work/common.lua")
wrk.method = "POST"
local f = io.open("$work/digit.pgm", "rb"); wrk.body = f:read("*all"); f:close()
LUA
# Every request a different upload, so no answer can come from the cache: the first five pixels of
# the top row spell a request counter in base 16 and the last one the wrk thread, in grey levels
# 0-15, far below what either pipeline takes for ink (the answers may still differ in the last digits).
cat > "$work/distinct.lua" <<LUA
dofile("$work/common.lua")
local f = io.open("$work/digit.pgm", "rb"); local pgm = f:read("*all"); f:close()
local header, pixels = pgm:sub(1, 13), pgm:sub(14)
local count = 0
request = function()
  local n, stamp = count, {}
  for i = 1, 5 do stamp[i] = string.char(n % 16); n = math.floor(n / 16) end
  count = count + 1
  local body = header .. table.concat(stamp) .. pixels:sub(6, 27) .. string.char(id % 16) .. pixels:sub(29)
  return wrk.format("POST", nil, nil, body)
end
LUA
row() { # name, url, script
  local log="$work/$(printf %s "$1" | tr -c "a-zA-Z0-9" _).txt"
  wrk -t2 -c50 -d30s --latency -s "$3" "$2" > "$log"
  local rps errors lat hits
  rps=$(awk '/Requests\/sec/ {print $2}' "$log")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$log" | tr '\n' ' ')
  lat=$(awk '/^LATENCY/ {print $2" | "$3" | "$4}' "$log")
  hits=$(awk '/^HITS/ {print $2}' "$log")
  echo "| $1 | $rps | $lat | ${errors:-none} | $hits |"
}
{
  echo "# digitlab serve under load"
  echo
  echo "wrk, 2 threads, 50 connections, 30 s each, on loopback; $(date -u +%F), commit $(git rev-parse --short HEAD),"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs. Written by scripts/load-serve.sh."
  echo "Targets (issue 20): study page p99 under 50 ms, predict under 20 ms."
  echo "Cache hits: responses the server answered from its page or answer cache (X-Page-Cache or X-Answer-Cache: hit)."
  # Other work on the machine slows every row: its 1-minute load average before the first row (wrk not yet running).
  echo "Load average before the runs (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| endpoint | requests/s | p50 ms | p90 ms | p99 ms | errors | cache hits |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  row "study page (GET /)" "http://127.0.0.1:$port/" "$work/get.lua"
  row "predict, the same 28x28 upload each time (POST /api/predict)" "http://127.0.0.1:$port/api/predict?model=models/case7" "$work/post.lua"
  row "predict, a different 28x28 upload each time" "http://127.0.0.1:$port/api/predict?model=models/case7" "$work/distinct.lua"
} > "$work/serve.md"
mkdir -p "$(dirname "$out")"
mv "$work/serve.md" "$out"
cat "$out"
