#!/usr/bin/env bash
# Load test, loopback only and bounded in time: the sample gateway serving 1 KiB and 100 KiB cached objects
# against the ceiling app (Ceiling/) that returns the same bytes and headers from a fixed array.
#   tests/load/run.sh [seconds-per-run=10] [connections=64]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
duration="${1:-10}"
connections="${2:-64}"
work="$here/.work"; mkdir -p "$work"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
ceiling_port=$(free_port); public_port=$(free_port); mgmt_port=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

dotnet build "$here/Ceiling" -c Release -v q -nologo >"$work/build.log" 2>&1
dotnet build "$root/samples/CacheProxy.Gateway" -c Release -v q -nologo >>"$work/build.log" 2>&1

ASPNETCORE_URLS="http://127.0.0.1:$ceiling_port" dotnet "$here/Ceiling/bin/Release/net10.0/Ceiling.dll" >"$work/ceiling.log" 2>&1 &
pids+=($!)
ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
Kestrel__Endpoints__Public__Url="http://127.0.0.1:$public_port" \
Kestrel__Endpoints__Management__Url="http://127.0.0.1:$mgmt_port" \
ReverseProxy__Clusters__origin__Destinations__primary__Address="http://127.0.0.1:$ceiling_port/" \
  dotnet "$root/samples/CacheProxy.Gateway/bin/Release/net10.0/CacheProxy.Gateway.dll" >"$work/gateway.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null 2>&1 && curl -fs -o /dev/null "http://127.0.0.1:$ceiling_port/1k" 2>/dev/null && break
  sleep 0.2
done
# Fill the cache and check that the gateway answers from it.
for size in 1k 100k; do
  curl -fs -o /dev/null "http://127.0.0.1:$public_port/$size"
  status=$(curl -fs -D - -o /dev/null "http://127.0.0.1:$public_port/$size" | tr -d '\r' | grep -i '^cache-status:' || true)
  case "$status" in *"; hit"*) ;; *) echo "gateway is not serving /$size from cache: $status" >&2; exit 1 ;; esac
done

measure() { # name url -> "rps p99ms"
  local out; out=$(timeout $((duration + 30)) wrk -t2 -c"$connections" -d"${duration}s" --latency "$2")
  echo "$out" >"$work/wrk-$1.txt"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  echo "$rps $p99"
}

echo "| object | ceiling req/s | ceiling p99 ms | CacheProxy hit req/s | CacheProxy p99 ms | ratio |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for size in 1k 100k; do
  # warm-up so both run JIT-compiled code
  timeout 30 wrk -t2 -c"$connections" -d2s "http://127.0.0.1:$ceiling_port/$size" >/dev/null
  timeout 30 wrk -t2 -c"$connections" -d2s "http://127.0.0.1:$public_port/$size" >/dev/null
  read -r c_rps c_p99 < <(measure "ceiling-$size" "http://127.0.0.1:$ceiling_port/$size")
  read -r g_rps g_p99 < <(measure "gateway-$size" "http://127.0.0.1:$public_port/$size")
  ratio=$(python3 -c "print(f'{$g_rps/$c_rps:.2f}')")
  echo "| $size | $c_rps | $c_p99 | $g_rps | $g_p99 | $ratio |"
done
echo
echo "wrk -t2 -c$connections -d${duration}s --latency, loopback, $(nproc) cores; raw output in tests/load/.work/"
