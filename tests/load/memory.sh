#!/usr/bin/env bash
# Memory an operator can budget: the resident set (VmRSS) of sample gateways serving a 1 KiB hit, beside the bare
# ceiling app serving the same bytes (Kestrel with nothing else), through one pattern:
#   idle        after startup and one request each;
#   load        ROUNDS rounds of LOAD seconds at 64 connections, each server in turn (req/s medians; resident set
#               median and peak while that server is under the load, sampled every 0.5 s);
#   storm       STORM connections (default 10000) for STORM_SECONDS on one server at a time;
#   after       the resident set 5, 30 and 60 s after that server's storm ended, nothing else running.
# STORM=0 skips the storm. BASELINE=/path/to/another/checkout adds that checkout's sample gateway (built here) as
# "baseline", for an A/B of two commits in one run.
# VARIANTS: gateways to compare, separated by ";", each a list of NAME=value settings ("-" for none), e.g.
#   VARIANTS='-;DOTNET_GCgen0size=0x1000000' tests/load/memory.sh
# Servers are pinned to CPU 0 and wrk to CPU 1 when the machine has two (PIN=0 leaves them). Loopback only, bounded
# in time. Each gateway's GC figures come from its own /metrics (System.Runtime meter).
set -euo pipefail
load_seconds="${LOAD:-4}"
storm="${STORM:-10000}"
storm_seconds="${STORM_SECONDS:-10}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
(( storm == 0 )) || ulimit -n $(( storm + 1024 )) 2>/dev/null || { echo "a storm of $storm connections needs ulimit -n above $storm (hard limit: $(ulimit -Hn))" >&2; exit 1; }

build
ceiling_port=$(free_port)
start_ceiling "$ceiling_port"
IFS=';' read -r -a variants <<<"${VARIANTS:--}"
names=(); server_pids=(); urls=(); mgmt=(); settings_of=()
add_server() { # name pid port management-port settings
  names+=("$1"); server_pids+=("$2"); urls+=("http://127.0.0.1:$3/1k"); mgmt+=("$4"); settings_of+=("$5")
}
add_server ceiling "$ceiling_pid" "$ceiling_port" "" "—"
if [[ -n "${BASELINE:-}" ]]; then
  dotnet build "$BASELINE/samples/CacheProxy.Gateway" -c Release -v q -nologo >>"$work/build.log" 2>&1
  public=$(free_port); management=$(free_port)
  root="$BASELINE" start_gateway "$public" "$management" "$ceiling_port"
  add_server baseline "$gateway_pid" "$public" "$management" "$BASELINE"
fi
for i in "${!variants[@]}"; do
  public=$(free_port); management=$(free_port); settings="${variants[$i]}"; [[ "$settings" == - ]] && settings=""
  # shellcheck disable=SC2086 # settings: words
  start_gateway "$public" "$management" "$ceiling_port" $settings
  add_server "gateway$i" "$gateway_pid" "$public" "$management" "${variants[$i]}"
done
for i in "${!names[@]}"; do
  for _ in $(seq 1 150); do curl -fs -o /dev/null "${urls[$i]}" 2>/dev/null && break; sleep 0.2; done
  [[ -z "${mgmt[$i]}" ]] && continue
  curl -fs -o /dev/null "${urls[$i]}"
  status=$(curl -fs -D - -o /dev/null "${urls[$i]}" | tr -d '\r' | grep -i '^cache-status:' || true)
  case "$status" in *"; hit"*) ;; *) echo "${names[$i]} is not serving /1k from cache: $status" >&2; exit 1 ;; esac
done

server_cpu="" client_cpu=""
if (( $(nproc) >= 2 )) && [[ "${PIN:-1}" != 0 ]]; then
  server_cpu="taskset -apc 0"; client_cpu="taskset -c 1"
  for p in "${server_pids[@]}"; do $server_cpu "$p" >/dev/null; done
fi
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
peak() { sort -n | tail -1; }
gc_mib() { # management-port metric-name -> MiB, summed over its series
  curl -fs "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m"([{]|$)" {s += $NF} END {printf "%d", s / 1048576}'
}
sleep 5 # the startup's garbage collected before the idle reading
declare -A idle
for i in "${!names[@]}"; do idle[$i]=$(rss_mib "${server_pids[$i]}"); done

# load: each round runs every server in turn for LOAD seconds, its resident set sampled meanwhile.
rounds="${ROUNDS:-5}"
for i in "${!names[@]}"; do : >"$work/mem-rps-$i.txt"; : >"$work/mem-rss-$i.txt"; done
for i in "${!names[@]}"; do timeout 30 $client_cpu wrk -t2 -c64 -d2s "${urls[$i]}" >/dev/null; done # warm-up
run_load() { # index
  local sampler out
  sample_rss "${server_pids[$1]}" "$work/mem-rss-$1.txt" & sampler=$!
  out=$(timeout $((load_seconds + 30)) $client_cpu wrk -t2 -c64 -d"${load_seconds}s" "${urls[$1]}")
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  awk '/Requests\/sec/ {print $2}' <<<"$out" >>"$work/mem-rps-$1.txt"
}
for round in $(seq 1 "$rounds"); do
  order=("${!names[@]}"); (( round % 2 )) || order=($(printf '%s\n' "${order[@]}" | sort -rn))
  for i in "${order[@]}"; do run_load "$i"; done
done
declare -A under_gc
for i in "${!names[@]}"; do [[ -n "${mgmt[$i]}" ]] && under_gc[$i]="$(gc_mib "${mgmt[$i]}" dotnet_gc_last_collection_heap_size_bytes)/$(gc_mib "${mgmt[$i]}" dotnet_gc_last_collection_memory_committed_size_bytes)"; done

# storm, then quiet: the resident set 5, 30 and 60 s after each server's storm.
declare -A storm_peak after5 after30 after60 after_gc
for i in "${!names[@]}"; do
  (( storm > 0 )) || break
  : >"$work/mem-storm-$i.txt"
  sample_rss "${server_pids[$i]}" "$work/mem-storm-$i.txt" & sampler=$!
  timeout $((storm_seconds + 60)) $client_cpu wrk -t2 -c"$storm" -d"${storm_seconds}s" "${urls[$i]}" >"$work/wrk-storm-$i.txt" 2>&1 || true
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  storm_peak[$i]=$(peak <"$work/mem-storm-$i.txt")
  sleep 5; after5[$i]=$(rss_mib "${server_pids[$i]}")
  sleep 25; after30[$i]=$(rss_mib "${server_pids[$i]}")
  sleep 30; after60[$i]=$(rss_mib "${server_pids[$i]}")
  [[ -n "${mgmt[$i]}" ]] && after_gc[$i]="$(gc_mib "${mgmt[$i]}" dotnet_gc_last_collection_heap_size_bytes)/$(gc_mib "${mgmt[$i]}" dotnet_gc_last_collection_memory_committed_size_bytes)"
done

echo "| server | settings | idle MiB | 64 conns req/s | 64 conns MiB median / peak | GC heap / committed MiB | storm peak MiB | 5 s after | 30 s after | 60 s after | GC heap / committed MiB 60 s after |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for i in "${!names[@]}"; do
  echo "| ${names[$i]} | ${settings_of[$i]} | ${idle[$i]} | $(median <"$work/mem-rps-$i.txt") | $(median <"$work/mem-rss-$i.txt") / $(peak <"$work/mem-rss-$i.txt") | ${under_gc[$i]:-—} | ${storm_peak[$i]:-—} | ${after5[$i]:-—} | ${after30[$i]:-—} | ${after60[$i]:-—} | ${after_gc[$i]:-—} |"
done
echo
echo "wrk -t2 -c64 -d${load_seconds}s × $rounds rounds in turn; storm: wrk -t2 -c$storm -d${storm_seconds}s; $(nproc) cores, servers on CPU 0 and wrk on CPU 1 unless PIN=0."
echo "Storm errors (wrk): $(for i in "${!names[@]}"; do printf '%s: %s; ' "${names[$i]}" "$(grep -ho 'Socket errors.*' "$work/wrk-storm-$i.txt" || echo none)"; done)"
