#!/usr/bin/env bash
# Traffic the cache cannot keep: 1 KiB responses with Cache-Control: no-store, through the sample gateway and through
# bare YARP (tests/load/OutputCacheGateway with Bare=true), both in front of the ceiling app, in two cases:
#   one-url   every request for /nostore/1k: what 64 clients on one uncacheable URL cost (hit-for-pass);
#   distinct  every request for a URL never asked before (/nostore/1k?k=…): the per-request overhead alone.
# Servers are pinned to CPU 0 and wrk to CPU 1 when the machine has two. Each round runs YARP and the gateway back to
# back, in turn first; medians of the rounds' ratios (gateway / YARP) are reported. Loopback only, bounded in time.
#   tests/load/pass.sh [seconds-per-run=4] [connections=64]      ROUNDS (default 7), CASES (default "one-url distinct"),
#   PIN=0 (leave the processes where the scheduler puts them), GATEWAY_ENV (NAME=value settings for the gateway)
set -euo pipefail
duration="${1:-4}"
connections="${2:-64}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

ceiling_port=$(free_port); public_port=$(free_port); mgmt_port=$(free_port); yarp_port=$(free_port)
build
dotnet build "$here/OutputCacheGateway" -c Release -v q -nologo >>"$work/build.log" 2>&1
start_ceiling "$ceiling_port"
# shellcheck disable=SC2086 # GATEWAY_ENV: words, e.g. CacheProxy__HitForPassTtl=00:00:00
start_gateway "$public_port" "$mgmt_port" "$ceiling_port" ${GATEWAY_ENV:-}
ASPNETCORE_URLS="http://127.0.0.1:$yarp_port" Upstream="http://127.0.0.1:$ceiling_port/" Bare=true \
  dotnet "$here/OutputCacheGateway/bin/Release/net10.0/OutputCacheGateway.dll" >"$work/yarp.log" 2>&1 &
pids+=($!); yarp_pid=$!

for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null 2>&1 && curl -fs -o /dev/null "http://127.0.0.1:$yarp_port/nostore/1k" 2>/dev/null && break
  sleep 0.2
done
status=$(curl -fs -D - -o /dev/null "http://127.0.0.1:$public_port/nostore/1k" | tr -d '\r' | grep -i '^cache-status:' || true)
case "$status" in *fwd=*) ;; *) echo "the gateway does not answer /nostore/1k through its cache: $status" >&2; exit 1 ;; esac

server_cpu="" client_cpu=""
if (( $(nproc) >= 2 )) && [[ "${PIN:-1}" != 0 ]]; then
  server_cpu="taskset -apc 0"; client_cpu="taskset -c 1"
  for p in "$ceiling_pid" "$gateway_pid" "$yarp_pid"; do $server_cpu "$p" >/dev/null; done
fi

measure() { # name url [lua-script] -> "rps p99ms"
  local out
  out=$(KEYS=unique KEYS_PATH=/nostore/1k timeout $((duration + 30)) $client_cpu wrk -t2 -c"$connections" -d"${duration}s" --latency ${3:+-s "$3"} "$2")
  echo "$out" >"$work/wrk-pass-$1.txt"
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(p99_ms <<<"$out")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rounds="${ROUNDS:-7}"
echo "| case | YARP req/s | YARP p99 ms | CacheProxy req/s | CacheProxy p99 ms | median round req/s ratio | median round p99 ratio |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
per_round=""
for case in ${CASES:-one-url distinct}; do
  script=""; [[ "$case" == distinct ]] && script="$here/random-keys.lua"
  y_url="http://127.0.0.1:$yarp_port/nostore/1k"; g_url="http://127.0.0.1:$public_port/nostore/1k"
  measure "warm-yarp" "$y_url" "$script" >/dev/null; measure "warm-gateway" "$g_url" "$script" >/dev/null
  : >"$work/rounds-pass-$case.txt"
  for round in $(seq 1 "$rounds"); do
    in_turn "$round" 'measure "yarp-$case-$round" "$y_url" "$script"' 'measure "gateway-$case-$round" "$g_url" "$script"' \
      >>"$work/rounds-pass-$case.txt"
  done
  col() { awk -v c="$1" '{print $c}' "$work/rounds-pass-$case.txt" | median; }
  rps_ratio=$(awk '{printf "%.4f\n", $3/$1}' "$work/rounds-pass-$case.txt" | median)
  p99_ratio=$(awk '{printf "%.4f\n", $4/$2}' "$work/rounds-pass-$case.txt" | median)
  printf '| %s | %s | %s | %s | %s | %.2f | %.2f |\n' "$case" "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" "$rps_ratio" "$p99_ratio"
  per_round+="$case: $(awk '{printf "%.2f/%.2f ", $3/$1, $4/$2}' "$work/rounds-pass-$case.txt")"$'\n'
done
echo
echo "wrk -t2 -c$connections -d${duration}s --latency, $rounds alternating rounds (medians), loopback, $(nproc) cores${server_cpu:+, servers on CPU 0 and wrk on CPU 1}."
echo "Ratios are CacheProxy / bare YARP; req/s higher is better, p99 lower is better. Each round (req/s ratio/p99 ratio):"
printf '%s' "$per_round"
