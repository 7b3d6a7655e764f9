#!/usr/bin/env bash
# Redis killed under load, loopback only and bounded in time: one gateway with the Redis tier and a 2 MiB memory
# tier in front of the ceiling app, random GETs over KEYS distinct 1 KiB objects (more than the memory tier holds,
# so most requests read Redis). The p99 of a run with Redis up, then of a run during which Redis is killed (kill -9,
# a second in); the ratio is the one to read (docs/redis.md: at most 2).
#   tests/load/redis-kill.sh [seconds-per-run=6] [connections=64] [keys=5000]
set -euo pipefail
duration="${1:-6}"; connections="${2:-64}"; export KEYS="${3:-5000}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

redis_port=$(free_port); ceiling_port=$(free_port); port=$(free_port); mgmt=$(free_port)
build
start_redis "$redis_port"; redis_pid=$!
start_ceiling "$ceiling_port"
start_gateway "$port" "$mgmt" "$ceiling_port" CacheProxy__MemoryTierSizeLimit=2097152 CacheProxy__MaxObjectSize=65536 \
  CacheProxy__Redis__Configuration="127.0.0.1:$redis_port"
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$mgmt/health" 2>/dev/null | grep -q '^{"status":"Healthy"' && break
  sleep 0.2
done
for k in $(seq 0 $((KEYS - 1))); do printf 'url = "http://127.0.0.1:%s/1k?k=%s"\noutput = "/dev/null"\n' "$port" "$k"; done >"$work/fill.curl"
curl -s -K "$work/fill.curl"

measure() { # -> "rps p99ms errors"
  local out; out=$(timeout $((duration + 30)) wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$here/random-keys.lua" "http://127.0.0.1:$port")
  local errors; errors=$(awk '/Non-2xx|Socket errors/ {n++} END {print n+0}' <<<"$out")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(p99_ms <<<"$out") $errors"
}
read -r up_rps up_p99 up_errors < <(measure)
(sleep 1; kill -9 "$redis_pid") &
read -r kill_rps kill_p99 kill_errors < <(measure)
breaker=$(curl -fs "http://127.0.0.1:$mgmt/metrics" | awk '/^cacheproxy_redis_breaker_state/ {print $NF}')

echo "| run | req/s | p99 ms | wrk error lines |"
echo "| --- | ---: | ---: | ---: |"
echo "| Redis up | $up_rps | $up_p99 | $up_errors |"
echo "| Redis killed 1 s in | $kill_rps | $kill_p99 | $kill_errors |"
python3 -c "import sys; print(f'p99 ratio (killed / up) = {float(sys.argv[2]) / float(sys.argv[1]):.2f}')" "$up_p99" "$kill_p99"
echo "breaker state after the kill: $breaker (1 open)"
echo "wrk -t2 -c$connections -d${duration}s, $KEYS keys of 1 KiB, 2 MiB memory tier, loopback, $(nproc) cores."
