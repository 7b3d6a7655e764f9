#!/usr/bin/env bash
# Load test of the Redis tier, loopback only and bounded in time: two gateways in front of the ceiling app, one
# with the Redis tier and one without, both with a 2 MiB memory tier, under random GETs over KEYS distinct
# 1 KiB objects (more than the memory tier holds). Prints req/s, p99 and the memory-tier hit ratio.
#   tests/load/redis.sh [seconds-per-run=10] [connections=64] [keys=5000]
set -euo pipefail
duration="${1:-10}"; connections="${2:-64}"; export KEYS="${3:-5000}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

redis_port=$(free_port); ceiling_port=$(free_port)
on_port=$(free_port); on_mgmt=$(free_port); off_port=$(free_port); off_mgmt=$(free_port)
build
start_redis "$redis_port"
start_ceiling "$ceiling_port"
small=(CacheProxy__MemoryTierSizeLimit=2097152 CacheProxy__MaxObjectSize=65536)
start_gateway "$on_port" "$on_mgmt" "$ceiling_port" "${small[@]}" CacheProxy__Redis__Configuration="127.0.0.1:$redis_port"
start_gateway "$off_port" "$off_mgmt" "$ceiling_port" "${small[@]}"
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$on_mgmt/health" 2>/dev/null | grep -q '^{"status":"Healthy"' && curl -fs "http://127.0.0.1:$off_mgmt/health" >/dev/null 2>&1 && break
  sleep 0.2
done

# Fill Redis with every key once (and warm both gateways' code paths).
for k in $(seq 0 $((KEYS - 1))); do printf 'url = "http://127.0.0.1:%s/1k?k=%s"\noutput = "/dev/null"\n' "$on_port" "$k"; done >"$work/fill.curl"
curl -s -K "$work/fill.curl"
timeout 30 wrk -t2 -c"$connections" -d2s -s "$here/random-keys.lua" "http://127.0.0.1:$off_port" >/dev/null

gets() { # management port, tier -> count of store gets
  curl -fs "http://127.0.0.1:$1/metrics" | awk -v t="$2" '$0 ~ /^cacheproxy_store_duration_seconds_count/ && $0 ~ "tier=\""t"\"" && $0 ~ /operation="get"/ {s+=$NF} END {print s+0}'
}
measure() { # url -> "rps p99ms"
  local out; out=$(timeout $((duration + 30)) wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$here/random-keys.lua" "$1")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(p99_ms <<<"$out")"
}

echo "| gateway | req/s | p99 ms | memory-tier hit ratio | answered from Redis |"
echo "| --- | ---: | ---: | ---: | ---: |"
requests() { curl -fs "http://127.0.0.1:$1/metrics" | awk '/^cacheproxy_requests_total/ {s+=$NF} END {print s+0}'; }
# Every GET looks in memory first (reads of the memory tier are not timed, so requests count the lookups).
mem0=$(requests "$on_mgmt"); redis0=$(gets "$on_mgmt" redis)
read -r on_rps on_p99 < <(measure "http://127.0.0.1:$on_port")
mem1=$(requests "$on_mgmt"); redis1=$(gets "$on_mgmt" redis)
read -r off_rps off_p99 < <(measure "http://127.0.0.1:$off_port")
curl -fs "http://127.0.0.1:$off_mgmt/metrics" | grep -E '^cacheproxy_(requests_total|memory_entries|memory_bytes|memory_evictions_total|store_duration_seconds_count)' >"$work/off-metrics.txt"
offmem=$(curl -fs "http://127.0.0.1:$off_mgmt/metrics" | awk '/^cacheproxy_requests_total/ && /cache_status="hit"/ {h+=$NF} /^cacheproxy_requests_total/ {t+=$NF} END {printf "%.2f", h/t}')
python3 - "$on_rps" "$on_p99" "$mem0" "$mem1" "$redis0" "$redis1" <<'PY'
import sys
rps, p99, m0, m1, r0, r1 = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
lookups, from_redis = m1 - m0, r1 - r0
print(f"| memory + Redis | {rps} | {p99} | {1 - from_redis / lookups:.2f} | {from_redis / lookups:.2f} |")
PY
echo "| memory only | $off_rps | $off_p99 | $offmem (hits of all requests) | — |"
echo
echo "wrk -t2 -c$connections -d${duration}s, $KEYS keys of 1 KiB, 2 MiB memory tier, loopback, $(nproc) cores."
