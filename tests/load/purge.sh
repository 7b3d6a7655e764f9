#!/usr/bin/env bash
# Purge by tag at scale, loopback only and bounded in time: two sample gateways sharing one redis-server in front of
# the ceiling app; KEYS entries (default 100,000) tagged "bulk" and 1,000 tagged "other" are filled through the
# first; then one POST /purge {"tags":["bulk"]} on the first. Prints how long the purge took to answer, and what a
# sample of requests on both gateways got afterwards (bulk: misses, other: hits).
#   tests/load/purge.sh [keys=100000]
set -euo pipefail
export KEYS="${1:-100000}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
key="load-test-key-0123456789abcdef01234567"

redis_port=$(free_port); ceiling_port=$(free_port)
a_port=$(free_port); a_mgmt=$(free_port); b_port=$(free_port); b_mgmt=$(free_port)
build
start_redis "$redis_port"
start_ceiling "$ceiling_port"
shared=(CacheProxy__Redis__Configuration="127.0.0.1:$redis_port" CacheProxy__Management__ApiKeys__load="$key")
start_gateway "$a_port" "$a_mgmt" "$ceiling_port" "${shared[@]}"
start_gateway "$b_port" "$b_mgmt" "$ceiling_port" "${shared[@]}"
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$a_mgmt/health" 2>/dev/null | grep -q '^{"status":"Healthy"' && curl -fs "http://127.0.0.1:$b_mgmt/health" 2>/dev/null | grep -q '^{"status":"Healthy"' && break
  sleep 0.2
done

entries() { curl -fs "http://127.0.0.1:$1/metrics" | awk '/^cacheproxy_memory_entries/ {print $NF}'; }
fill() { # tag keys -> fills keys entries through gateway a
  local seconds=$(( $2 / 1000 + 5 ))
  TAG="$1" KEYS="$2" THREADS=2 timeout $((seconds + 30)) wrk -t2 -c16 -d"${seconds}s" -s "$here/fill-keys.lua" "http://127.0.0.1:$a_port" >"$work/fill-$1.txt"
}
fill other 1000
fill bulk "$KEYS"
echo "memory-tier entries on a: $(entries "$a_mgmt"); keys in Redis: $(redis-cli -p "$redis_port" DBSIZE)"

# b reads a sample into its memory tier, so the purge has to reach it there too. Requests to b carry a's Host, as
# behind a load balancer: the host is part of the cache key.
host="127.0.0.1:$a_port"
for k in $(seq 0 97 $((KEYS - 1))); do printf 'url = "http://127.0.0.1:%s/1k?tag=bulk&k=%s"\nheader = "Host: %s"\noutput = "/dev/null"\n' "$b_port" "$k" "$host"; done >"$work/sample-bulk-b.curl"
curl -s -K "$work/sample-bulk-b.curl"

start=$(date +%s%N)
answer=$(curl -fs -X POST "http://127.0.0.1:$a_mgmt/purge" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{"tags":["bulk"]}')
end=$(date +%s%N)
echo "POST /purge {\"tags\":[\"bulk\"]} answered in $(( (end - start) / 1000000 )) ms: $answer"

status() { # port tag k -> miss|hit|other
  curl -fs -D - -o /dev/null -H "Host: $host" "http://127.0.0.1:$1/1k?tag=$2&k=$3" | tr -d '\r' | awk 'tolower($1)=="cache-status:" {print ($0 ~ /; hit/ ? "hit" : ($0 ~ /fwd=miss/ ? "miss" : "other"))}'
}
sample() { # port tag -> counts of hit/miss over 200 keys
  local counts; counts=$(for k in $(seq 0 $(( ( ${3} ) / 200 )) $(( $3 - 1 )) | head -200); do status "$1" "$2" "$k"; done | sort | uniq -c | tr '\n' ' ')
  echo "$counts"
}
# b first: what a refetches after the purge is new content, and b may hit it in Redis.
on_b=$(sample "$b_port" bulk "$KEYS"); on_a=$(sample "$a_port" bulk "$KEYS")
echo "after the purge, 200 bulk keys on b: $on_b; on a: $on_a"
echo "after the purge, 200 other keys on b: $(sample "$b_port" other 1000); on a: $(sample "$a_port" other 1000)"
echo "memory-tier entries on a: $(entries "$a_mgmt"), on b: $(entries "$b_mgmt")"
