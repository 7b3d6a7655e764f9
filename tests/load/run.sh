#!/usr/bin/env bash
# Load test, loopback only and bounded in time: the sample gateway serving 1 KiB and 100 KiB cached objects, and JSON as a br hit,
# against the ceiling app (Ceiling/) that returns the same bytes and headers from a fixed array, and against the same
# ceiling sending also the three fields the gateway adds to a hit (Age, Cache-Status, a fresh X-Request-ID: /fields/…).
# ROUNDS (default 17) rounds per object, each a ceiling and a gateway run back to back; medians are reported.
#   tests/load/run.sh [seconds-per-run=4] [connections=64]      OBJECTS (default "1k 100k json-br"), GATEWAY_ENV (NAME=value settings for the gateway)
set -euo pipefail
duration="${1:-4}"
connections="${2:-64}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

ceiling_port=$(free_port); public_port=$(free_port); mgmt_port=$(free_port)
build
start_ceiling "$ceiling_port"
# shellcheck disable=SC2086 # GATEWAY_ENV: NAME=value settings for the gateway, words
start_gateway "$public_port" "$mgmt_port" "$ceiling_port" ${GATEWAY_ENV:-}

for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null 2>&1 && curl -fs -o /dev/null "http://127.0.0.1:$ceiling_port/1k" 2>/dev/null && break
  sleep 0.2
done
# Objects: 1 KiB and 100 KiB of random bytes, and JSON the gateway stores compressed, asked for in br (json-br:
# the gateway's /json with Accept-Encoding: br against the ceiling's /json.br, the same br bytes).
gateway_path() { [[ "$1" == json-br ]] && echo /json || echo "/$1"; }
ceiling_path() { [[ "$1" == json-br ]] && echo /json.br || echo "/$1"; }
accept() { [[ "$1" == json-br ]] && echo "Accept-Encoding: br" || echo "Accept-Encoding: identity"; }
objects="${OBJECTS:-1k 100k json-br}"
# Fill the cache and check that the gateway answers from it.
for size in $objects; do
  curl -fs -o /dev/null -H "$(accept "$size")" "http://127.0.0.1:$public_port$(gateway_path "$size")"
  status=$(curl -fs -D - -o /dev/null -H "$(accept "$size")" "http://127.0.0.1:$public_port$(gateway_path "$size")" | tr -d '\r' | grep -i '^cache-status:' || true)
  case "$status" in *"; hit"*) ;; *) echo "gateway is not serving $(gateway_path "$size") from cache: $status" >&2; exit 1 ;; esac
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() { # name url pid -> "rps p99ms cpu-us-per-request"
  local out before after; before=$(cpu_ticks "$3")
  out=$(timeout $((duration + 30)) wrk -t2 -c"$connections" -d"${duration}s" --latency -H "${4:-Accept-Encoding: identity}" "$2")
  after=$(cpu_ticks "$3")
  echo "$out" >"$work/wrk-$1.txt"
  local rps p99 requests
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  p99=$(p99_ms <<<"$out")
  # The server's own CPU time (user + system) per request: steadier than req/s on a machine whose CPU share drifts.
  echo "$rps $p99 $(python3 -c "print(f'{($after - $before) * 1e6 / $(getconf CLK_TCK) / $requests:.1f}')")"
}

sleep 2 # let the startup's garbage be collected before the idle reading
g_idle=$(rss_mib "$gateway_pid"); c_idle=$(rss_mib "$ceiling_pid")
: >"$work/rss-gateway.txt"; : >"$work/rss-ceiling.txt"
sample_rss "$gateway_pid" "$work/rss-gateway.txt" & pids+=($!)
sample_rss "$ceiling_pid" "$work/rss-ceiling.txt" & pids+=($!)

rounds="${ROUNDS:-17}"
per_round=""
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| object | ceiling req/s | ceiling p99 ms | ceiling CPU µs/req | CacheProxy hit req/s | CacheProxy p99 ms | CacheProxy CPU µs/req | req/s ratio | median round ratio | CPU ratio | same-fields ceiling req/s | median round ratio, same fields |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for size in $objects; do
  c_url="http://127.0.0.1:$ceiling_port$(ceiling_path "$size")"; g_url="http://127.0.0.1:$public_port$(gateway_path "$size")"
  f_url="http://127.0.0.1:$ceiling_port/fields$(ceiling_path "$size")"
  # warm-up so both run JIT-compiled code
  timeout 30 wrk -t2 -c"$connections" -d2s -H "$(accept "$size")" "$c_url" >/dev/null
  timeout 30 wrk -t2 -c"$connections" -d2s -H "$(accept "$size")" "$g_url" >/dev/null
  timeout 30 wrk -t2 -c"$connections" -d2s -H "$(accept "$size")" "$f_url" >/dev/null
  : >"$work/rounds-$size.txt"
  # Each round runs the ceiling, the gateway and the same-fields ceiling back to back, in turn first (ABCCBA), so the
  # machine's slow phases (tens of seconds on this kind of VM) mostly hit every run of a round alike; medians of the
  # rounds are reported.
  for round in $(seq 1 "$rounds"); do
    in_turn "$round" 'measure "ceiling-$size-$round" "$c_url" "$ceiling_pid" "$(accept "$size")"' \
      'measure "gateway-$size-$round" "$g_url" "$gateway_pid" "$(accept "$size")"' \
      'measure "fields-$size-$round" "$f_url" "$ceiling_pid" "$(accept "$size")"' >>"$work/rounds-$size.txt"
  done
  col() { awk -v c="$1" '{print $c}' "$work/rounds-$size.txt" | median; }
  c_rps=$(col 1); c_p99=$(col 2); c_cpu=$(col 3); g_rps=$(col 4); g_p99=$(col 5); g_cpu=$(col 6)
  ratio=$(python3 -c "print(f'{$g_rps/$c_rps:.2f}')")
  round_ratio=$(awk '{printf "%.4f\n", $4/$1}' "$work/rounds-$size.txt" | median)
  cpu_ratio=$(python3 -c "print(f'{$c_cpu/$g_cpu:.2f}')")
  fields_ratio=$(awk '{printf "%.4f\n", $4/$7}' "$work/rounds-$size.txt" | median)
  echo "| $size | $c_rps | $c_p99 | $c_cpu | $g_rps | $g_p99 | $g_cpu | $ratio | $(printf '%.2f' "$round_ratio") | $cpu_ratio | $(col 7) | $(printf '%.2f' "$fields_ratio") |"
  per_round+="$size: $(awk '{printf "%.2f/%.2f ", $4/$1, $4/$7}' "$work/rounds-$size.txt")"$'\n'
done
echo
peak() { sort -n "$1" | tail -1; }
echo "Working set (resident set): gateway idle ${g_idle} MiB, peak $(peak "$work/rss-gateway.txt") MiB under the load; ceiling idle ${c_idle} MiB, peak $(peak "$work/rss-ceiling.txt") MiB."
echo "wrk -t2 -c$connections -d${duration}s --latency, $rounds alternating rounds (medians), loopback, $(nproc) cores."
echo "CPU ratio = ceiling CPU per request / gateway CPU per request. Per-round numbers: tests/load/.work/rounds-*.txt"
echo "req/s ratio = gateway median / ceiling median; median round ratio = median of the rounds' gateway / ceiling, the one to read when the machine changes speed during the run (docs/performance.md)."
echo "req/s ratio of each round (gateway / the ceiling run beside it, gateway / the same-fields ceiling):"
printf '%s' "$per_round"
