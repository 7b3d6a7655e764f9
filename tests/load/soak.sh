#!/usr/bin/env bash
# Soak and leak check, loopback only and bounded in time: one sample gateway with a 32 MiB memory tier and the Redis
# tier, in front of the ceiling app, under a mixed load for SECONDS: hits on hot objects (1 KiB and 100 KiB), unique-URL
# misses that fill the memory tier past its limit, hot tagged objects purged by tag every 10 s, and redis-server
# killed and restarted twice (at 40 % and 70 % of the run). Every 5 s it records the gateway's working set, its GC
# heap after the last collection and the memory tier's bytes (tests/load/.work/soak.csv). Warm-up ends when the memory
# tier first holds 90 % of its limit, and not before 30 % of the run. It fails when memory grows after warm-up: the
# median working set of the last fifth of the run more than 10 % + 16 MiB above that of the fifth of the run after
# warm-up, or the same for the GC heap; and when the run is too short to have both windows.
#   tests/load/soak.sh [seconds=300]
set -euo pipefail
seconds="${1:-300}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
command -v redis-cli >/dev/null || { echo "redis-cli is missing: apt-get install redis-tools" >&2; exit 1; }
key="soak-test-key-0123456789abcdef0123456789"

redis_port=$(free_port); ceiling_port=$(free_port); public_port=$(free_port); mgmt_port=$(free_port)
build
start_redis "$redis_port"
redis_pid=${pids[-1]}
start_ceiling "$ceiling_port"
start_gateway "$public_port" "$mgmt_port" "$ceiling_port" CacheProxy__MemoryTierSizeLimit=33554432 CacheProxy__MaxObjectSize=1048576 \
  CacheProxy__Redis__Configuration="127.0.0.1:$redis_port" CacheProxy__Management__ApiKeys__soak="$key"
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$mgmt_port/health/live" >/dev/null 2>&1 && curl -fs -o /dev/null "http://127.0.0.1:$ceiling_port/1k" && break
  sleep 0.2
done

metric() { # name-regex -> sum of the matching series in a scrape
  curl -fs "http://127.0.0.1:$mgmt_port/metrics" | awk -v m="$1" '$1 ~ m {s += $NF} END {printf "%d", s}'
}
: >"$work/soak-events.txt"
csv="$work/soak.csv"
echo "seconds,working_set_mib,gc_heap_mib,memory_tier_mib,memory_entries,requests" >"$csv"
record() { # elapsed
  local heap tier entries requests
  heap=$(metric '^dotnet_gc_last_collection_heap_size_bytes'); tier=$(metric '^cacheproxy_memory_bytes')
  entries=$(metric '^cacheproxy_memory_entries'); requests=$(metric '^cacheproxy_requests_total')
  echo "$1,$(rss_mib "$gateway_pid"),$((heap / 1048576)),$((tier / 1048576)),$entries,$requests" >>"$csv"
}

# The load, each part bounded by the run's length.
end=$(( $(date +%s) + seconds ))
timeout $((seconds + 30)) wrk -t1 -c8 -d"${seconds}s" "http://127.0.0.1:$public_port/1k" >"$work/soak-hits-1k.txt" & pids+=($!)
timeout $((seconds + 30)) wrk -t1 -c4 -d"${seconds}s" "http://127.0.0.1:$public_port/100k" >"$work/soak-hits-100k.txt" & pids+=($!)
KEYS=unique timeout $((seconds + 30)) wrk -t1 -c4 -d"${seconds}s" -s "$here/random-keys.lua" "http://127.0.0.1:$public_port" >"$work/soak-misses.txt" & pids+=($!)
TAG=hot KEYS=200 THREADS=1 timeout $((seconds + 30)) wrk -t1 -c2 -d"${seconds}s" -s "$here/fill-keys.lua" "http://127.0.0.1:$public_port" >"$work/soak-tagged.txt" & pids+=($!)

start=$(date +%s); next_record=$start; next_purge=$((start + 10))
restarts=("$((start + seconds * 4 / 10))" "$((start + seconds * 7 / 10))")
purges=0; purge_failures=0
while (( $(date +%s) < end )); do
  now=$(date +%s)
  if (( now >= next_record )); then record $((now - start)); next_record=$((next_record + 5)); fi
  if (( now >= next_purge )); then
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$mgmt_port/purge" -H "Authorization: Bearer $key" \
      -H 'Content-Type: application/json' -d '{"tags":["hot"]}' || true)
    purges=$((purges + 1)); [[ "$code" == 200 ]] || purge_failures=$((purge_failures + 1))
    next_purge=$((next_purge + 10))
  fi
  if (( ${#restarts[@]} > 0 && now >= restarts[0] )); then
    kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true
    sleep 3 # Redis down for a while: the gateway serves from memory and the origin meanwhile
    start_redis "$redis_port"; redis_pid=${pids[-1]}
    echo "redis-server restarted at $((now - start)) s" >>"$work/soak-events.txt"
    restarts=("${restarts[@]:1}")
  fi
  sleep 1
done
record $(( $(date +%s) - start ))

cat "$work/soak-events.txt"
python3 - "$csv" "$seconds" "$purges" "$purge_failures" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
seconds, purges, purge_failures = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
limit_mib = 32
full = next((int(r["seconds"]) for r in rows if float(r["memory_tier_mib"]) >= 0.9 * limit_mib), None)
if full is None:
    print(f"soak: the memory tier never reached 90 % of its {limit_mib} MiB in {seconds} s: run longer")
    sys.exit(2)
warm_end = max(seconds * 0.3, full)
after_warmup = [r for r in rows if warm_end <= int(r["seconds"]) < warm_end + seconds * 0.2]
last = [r for r in rows if int(r["seconds"]) >= seconds * 0.8]
if not after_warmup or not last or warm_end + seconds * 0.2 > seconds * 0.8:
    print(f"soak: warm-up ended at {warm_end:.0f} s of {seconds} s: too late to compare two windows; run longer")
    sys.exit(2)
def med(rs, k): return statistics.median(float(r[k]) for r in rs)
failed = False
print(f"soak: {seconds} s, {len(rows)} samples, {rows[-1]['requests']} requests through the cache, {purges} purges ({purge_failures} not 200)")
print(f"warm-up over at {warm_end:.0f} s (memory tier at 90 % of its limit at {full} s)")
print("| measure | median of the fifth after warm-up | median of the last fifth | peak | growth allowed |")
print("| --- | ---: | ---: | ---: | ---: |")
for k, label in [("working_set_mib", "working set MiB"), ("gc_heap_mib", "GC heap MiB"), ("memory_tier_mib", "memory tier MiB")]:
    a, b, peak = med(after_warmup, k), med(last, k), max(float(r[k]) for r in rows)
    allowed = a * 1.10 + 16
    grew = k != "memory_tier_mib" and b > allowed
    failed |= grew
    print(f"| {label} | {a:.0f} | {b:.0f} | {peak:.0f} | {'≤ %.0f' % allowed if k != 'memory_tier_mib' else 'bounded by its 32 MiB limit'}{' — GREW' if grew else ''} |")
sys.exit(1 if failed else 0)
PY
