#!/usr/bin/env bash
# HTTP/2 cleartext load test, loopback only and bounded in time: h2load (Debian's nghttp2-client), 64 connections x 10
# concurrent streams, against a 1 KiB object that the sample gateway serves from cache on an h2c endpoint, and the
# ceiling app (Ceiling/) serving the same bytes on an h2c endpoint of its own. ROUNDS (default 9) alternating rounds.
#   tests/load/h2.sh [seconds-per-run=4] [connections=64] [streams=10]
set -euo pipefail
duration="${1:-4}"
connections="${2:-64}"
streams="${3:-10}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
command -v h2load >/dev/null || { echo "h2load is missing: apt-get install nghttp2-client" >&2; exit 1; }

ceiling_port=$(free_port); ceiling_h2c=$(free_port); public_port=$(free_port); public_h2c=$(free_port); mgmt_port=$(free_port)
build
Kestrel__Endpoints__Http__Url="http://127.0.0.1:$ceiling_port" Kestrel__Endpoints__H2c__Url="http://127.0.0.1:$ceiling_h2c" \
  Kestrel__Endpoints__H2c__Protocols=Http2 dotnet "$here/Ceiling/bin/Release/net10.0/Ceiling.dll" >"$work/ceiling.log" 2>&1 &
pids+=($!); ceiling_pid=$!
start_gateway "$public_port" "$mgmt_port" "$ceiling_port" \
  Kestrel__Endpoints__PublicH2c__Url="http://127.0.0.1:$public_h2c" Kestrel__Endpoints__PublicH2c__Protocols=Http2 ${GATEWAY_ENV:-}

for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null 2>&1 && curl -fs --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$ceiling_h2c/1k" 2>/dev/null && break
  sleep 0.2
done
curl -fs --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$public_h2c/1k"
status=$(curl -fs --http2-prior-knowledge -D - -o /dev/null "http://127.0.0.1:$public_h2c/1k" | tr -d '\r' | grep -i '^cache-status:' || true)
case "$status" in *"; hit"*) ;; *) echo "gateway is not serving /1k from cache over h2c: $status" >&2; exit 1 ;; esac

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() { # name url pid -> "rps cpu-us-per-request"
  local out before after; before=$(cpu_ticks "$3")
  out=$(timeout $((duration + 30)) h2load -c"$connections" -m"$streams" -t2 -D"$duration" "$2")
  after=$(cpu_ticks "$3")
  echo "$out" >"$work/h2load-$1.txt"
  local rps requests
  rps=$(awk '/^finished in/ {print $4}' <<<"$out")
  requests=$(awk '/^requests:/ {print $4}' <<<"$out")
  grep -q " 0 failed, 0 errored" <<<"$(grep '^requests:' <<<"$out")" || { echo "$1: requests failed: $(grep '^requests:' <<<"$out")" >&2; exit 1; }
  echo "$rps $(python3 -c "print(f'{($after - $before) * 1e6 / $(getconf CLK_TCK) / $requests:.1f}')")"
}

timeout 30 h2load -c"$connections" -m"$streams" -t2 -D2 "http://127.0.0.1:$ceiling_h2c/1k" >/dev/null
timeout 30 h2load -c"$connections" -m"$streams" -t2 -D2 "http://127.0.0.1:$public_h2c/1k" >/dev/null
rounds="${ROUNDS:-9}"
: >"$work/rounds-h2.txt"
for round in $(seq 1 "$rounds"); do
  in_turn "$round" 'measure "ceiling-$round" "http://127.0.0.1:$ceiling_h2c/1k" "$ceiling_pid"' \
    'measure "gateway-$round" "http://127.0.0.1:$public_h2c/1k" "$gateway_pid"' >>"$work/rounds-h2.txt"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$1" '{print $c}' "$work/rounds-h2.txt" | median; }
echo "| object | ceiling req/s | ceiling CPU µs/req | CacheProxy hit req/s | CacheProxy CPU µs/req | median round ratio |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
echo "| 1k over h2c | $(col 1) | $(col 2) | $(col 3) | $(col 4) | $(awk '{printf "%.4f\n", $3/$1}' "$work/rounds-h2.txt" | median | xargs printf '%.2f') |"
echo "h2load -c$connections -m$streams -t2 -D$duration, $rounds alternating rounds (medians), loopback, $(nproc) cores."
echo "Each round's ratio: $(awk '{printf "%.2f ", $3/$1}' "$work/rounds-h2.txt")"
