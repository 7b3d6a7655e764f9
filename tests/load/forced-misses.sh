#!/usr/bin/env bash
# Forced misses, loopback only and bounded in time: a client asking for a compressible JSON (the ceiling's /json,
# about 12 KB) with a new query string each time, so every request is a miss that stores, through two gateways
# side by side, compression on and off. The gateway CPU per request is the number to read: compression must not
# make a forced miss cost more than 1.2x one without it (docs/caching.md). ROUNDS alternating rounds, medians.
#   tests/load/forced-misses.sh [seconds-per-run=5] [connections=16]
set -euo pipefail
duration="${1:-5}"; connections="${2:-16}"; rounds="${ROUNDS:-3}"
export KEYS=unique KEYS_PATH=/json
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

ceiling_port=$(free_port); on_port=$(free_port); on_mgmt=$(free_port); off_port=$(free_port); off_mgmt=$(free_port)
build
start_ceiling "$ceiling_port"
start_gateway "$on_port" "$on_mgmt" "$ceiling_port"; on_pid=$gateway_pid
start_gateway "$off_port" "$off_mgmt" "$ceiling_port" CacheProxy__Compression__Enabled=false; off_pid=$gateway_pid
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$on_mgmt/health" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$off_mgmt/health" >/dev/null 2>&1 && break
  sleep 0.2
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() { # url pid -> CPU µs per request
  local before after out requests
  before=$(cpu_ticks "$2")
  out=$(timeout $((duration + 30)) wrk -t2 -c"$connections" -d"${duration}s" -H 'Accept-Encoding: br' -s "$here/random-keys.lua" "$1")
  after=$(cpu_ticks "$2")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  python3 -c "import os,sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / os.sysconf(\"SC_CLK_TCK\") * 1e6 / int(sys.argv[3]):.0f}')" "$before" "$after" "$requests"
}
measure "http://127.0.0.1:$on_port" "$on_pid" >/dev/null # warm both
measure "http://127.0.0.1:$off_port" "$off_pid" >/dev/null
on=(); off=()
for _ in $(seq 1 "$rounds"); do
  on+=("$(measure "http://127.0.0.1:$on_port" "$on_pid")")
  off+=("$(measure "http://127.0.0.1:$off_port" "$off_pid")")
done
python3 - "${on[*]}" "${off[*]}" <<'PY'
import statistics, sys
on, off = [list(map(float, a.split())) for a in sys.argv[1:3]]
print(f"gateway CPU µs per forced miss: compression on {on}, off {off}")
print(f"median ratio on / off = {statistics.median(on) / statistics.median(off):.2f}")
PY
echo "wrk -t2 -c$connections -d${duration}s, a new query string per request, /json (12 KB), Accept-Encoding: br, loopback, $(nproc) cores."
