#!/usr/bin/env bash
# Issue #25's matrix: CacheProxy beside the caches teams pick instead — nginx (proxy_cache), Varnish, Apache Traffic
# Server, and YARP with ASP.NET Core's OutputCache — and the two .NET baselines (the ceiling app: Kestrel writing the
# bytes itself; bare YARP: the same slim builder forwarding with no cache), all in front of the ceiling app, over
# loopback, bounded in time. CASES (default all, in this order):
#   1k, 100k   a hit on a 1 KiB / 100 KiB object, HTTP/1.1, CONNS connections (wrk), against the ceiling; CacheProxy
#              also against the ceiling that sends the same three fields it adds (Age, Cache-Status, X-Request-ID);
#   h2c        the 1 KiB hit over h2c, CONNS connections × STREAMS streams (h2load), against the ceiling over h2c;
#   nostore    1 KiB with Cache-Control: no-store on one URL (every request forwarded), against bare YARP;
#   distinct   the same on a URL never asked before each time (the per-request overhead alone), against bare YARP;
#   storm      the 1 KiB hit at STORM connections (default 10,000), against the ceiling.
# Each round runs, for each peer in turn, the anchor and the peer back to back (in turn first: in_turn); medians of the
# rounds' ratios are reported, with each side's median p99 (wrk). The resident set of every server (its processes
# summed) is read idle, sampled under the 1k case (peak), after the storm and once more after a quiet minute.
# Servers are pinned to CPU 0 and the load generator to CPU 1 on a two-core machine (PIN=0 leaves them).
# Needs wrk, h2load, nginx, varnish and trafficserver (apt-get install wrk nghttp2-client nginx varnish trafficserver);
# a missing peer is left out and said so. OutputCache is left out of nostore and distinct: it stores what the origin
# marks no-store (it does not read the response's Cache-Control), so its numbers there would be hits.
#   tests/load/matrix.sh [seconds-per-run=4] [connections=64]      ROUNDS (default 5), CASES, STREAMS (10),
#   STORM (10000), STORM_SECONDS (8), STORM_ROUNDS (3), PIN
set -euo pipefail
duration="${1:-4}"
connections="${2:-64}"
streams="${STREAMS:-10}"
storm="${STORM:-10000}"
storm_seconds="${STORM_SECONDS:-8}"
cases="${CASES:-1k 100k h2c nostore distinct storm}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
ulimit -n $(( storm + 4096 )) 2>/dev/null || { echo "$storm connections need ulimit -n above $storm (hard limit: $(ulimit -Hn))" >&2; exit 1; }

server_cpu="" client_cpu=""
if (( $(nproc) >= 2 )) && [[ "${PIN:-1}" != 0 ]]; then server_cpu="taskset -c 0"; client_cpu="taskset -c 1"; fi
# Traffic Server takes its time over SIGTERM: it is killed outright, then everything else as usual.
ats_pid=""
trap 'if [ -n "$ats_pid" ]; then pkill -9 -P "$ats_pid" 2>/dev/null || true; kill -9 "$ats_pid" 2>/dev/null || true; fi; cleanup' EXIT
build
dotnet build "$here/OutputCacheGateway" -c Release -v q -nologo >>"$work/build.log" 2>&1
declare -A port h2port pid idle after_storm quiet forwards
peers=()

ceiling_port=$(free_port); ceiling_h2c=$(free_port)
Kestrel__Endpoints__Http__Url="http://127.0.0.1:$ceiling_port" Kestrel__Endpoints__H2c__Url="http://127.0.0.1:$ceiling_h2c" \
  Kestrel__Endpoints__H2c__Protocols=Http2 $server_cpu dotnet "$here/Ceiling/bin/Release/net10.0/Ceiling.dll" >"$work/ceiling.log" 2>&1 &
pids+=($!); pid[ceiling]=$!; port[ceiling]=$ceiling_port; h2port[ceiling]=$ceiling_h2c

public_port=$(free_port); public_h2c=$(free_port); mgmt_port=$(free_port)
start_gateway "$public_port" "$mgmt_port" "$ceiling_port" \
  Kestrel__Endpoints__PublicH2c__Url="http://127.0.0.1:$public_h2c" Kestrel__Endpoints__PublicH2c__Protocols=Http2
[[ -z "$server_cpu" ]] || taskset -apc 0 "$gateway_pid" >/dev/null
peers+=(CacheProxy); pid[CacheProxy]=$gateway_pid; port[CacheProxy]=$public_port; h2port[CacheProxy]=$public_h2c

for name in OutputCache YARP; do
  p=$(free_port); p2=$(free_port)
  Kestrel__Endpoints__Http__Url="http://127.0.0.1:$p" Kestrel__Endpoints__H2c__Url="http://127.0.0.1:$p2" \
    Kestrel__Endpoints__H2c__Protocols=Http2 Upstream="http://127.0.0.1:$ceiling_port/" Bare=$([[ $name == YARP ]] && echo true || echo false) \
    $server_cpu dotnet "$here/OutputCacheGateway/bin/Release/net10.0/OutputCacheGateway.dll" >"$work/$name.log" 2>&1 &
  pids+=($!); pid[$name]=$!; port[$name]=$p; h2port[$name]=$p2
done
peers+=(OutputCache)

if command -v nginx >/dev/null; then
  nginx_port=$(free_port); nginx_h2c=$(free_port); mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
worker_rlimit_nofile $(( storm + 4096 ));
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections $(( storm + 2048 )); }
http {
  access_log off;
  keepalive_requests 1000000; # the default (1,000) closes a load generator's connections mid-run, over h2c too
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy; fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  proxy_cache_path $work/nginx/cache levels=1:2 keys_zone=c:10m max_size=256m inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$ceiling_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port;
    listen 127.0.0.1:$nginx_h2c http2;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache c;
      add_header X-Cache-Status \$upstream_cache_status;
    }
  }
}
CONF
  $server_cpu nginx -c "$work/nginx/nginx.conf" >"$work/nginx/stdout.log" 2>&1 &
  pids+=($!); peers+=(nginx); pid[nginx]=$!; port[nginx]=$nginx_port; h2port[nginx]=$nginx_h2c
else
  echo "nginx is missing: left out" >&2
fi

if command -v varnishd >/dev/null; then
  varnish_port=$(free_port)
  $server_cpu varnishd -F -a "127.0.0.1:$varnish_port" -b "127.0.0.1:$ceiling_port" -s malloc,256m -n "$work/varnish" \
    -p feature=+http2 -T none >"$work/varnish.log" 2>&1 &
  pids+=($!); peers+=(Varnish); pid[Varnish]=$!; port[Varnish]=$varnish_port; h2port[Varnish]=$varnish_port
else
  echo "varnish is missing: left out" >&2
fi

if command -v traffic_server >/dev/null; then
  ats_port=$(free_port); ats="$work/ats"; rm -rf "$ats"; mkdir -p "$ats/config" "$ats/var/run" "$ats/var/log" "$ats/cache"
  cp -r /etc/trafficserver/. "$ats/config/"
  cat >"$ats/runroot.yaml" <<CONF
prefix: $ats
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: $ats/config
datadir: /usr/share/trafficserver
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: $ats/var
runtimedir: $ats/var/run
logdir: $ats/var/log
cachedir: $ats/cache
CONF
  cat >>"$ats/config/records.config" <<CONF
CONFIG proxy.config.http.server_ports STRING $ats_port
CONFIG proxy.config.http.cache.http INT 1
CONFIG proxy.config.reverse_proxy.enabled INT 1
CONFIG proxy.config.url_remap.remap_required INT 1
CONFIG proxy.config.log.logging_enabled INT 0
CONFIG proxy.config.admin.user_id STRING #-1
CONFIG proxy.config.http.insert_age_in_response INT 1
CONF
  echo "map http://127.0.0.1:$ats_port/ http://127.0.0.1:$ceiling_port/" >"$ats/config/remap.config"
  echo "$ats/cache 256M" >"$ats/config/storage.config"
  $server_cpu traffic_server --run-root="$ats/runroot.yaml" >"$work/ats.log" 2>&1 &
  pids+=($!); ats_pid=$!; peers+=(TrafficServer); pid[TrafficServer]=$!; port[TrafficServer]=$ats_port
else
  echo "trafficserver is missing: left out" >&2
fi

for _ in $(seq 1 150); do curl -fs -o /dev/null "http://127.0.0.1:$ceiling_port/1k" 2>/dev/null && break; sleep 0.2; done
for _ in $(seq 1 150); do curl -fs -o /dev/null "http://127.0.0.1:${port[YARP]}/1k" 2>/dev/null && break; sleep 0.2; done
# Fill each cache and check that its answer is a hit for both objects (a cache that does not store is left out).
active=()
for name in "${peers[@]}"; do
  ok=""
  for _ in $(seq 1 75); do curl -fs -o /dev/null "http://127.0.0.1:${port[$name]}/1k" 2>/dev/null && ok=1 && break; sleep 0.2; done
  [ -n "$ok" ] || { echo "$name did not answer: left out (logs in $work)" >&2; continue; }
  for object in 1k 100k; do curl -fs -o /dev/null "http://127.0.0.1:${port[$name]}/$object"; done
  sleep 1.2 # an Age of 1 s or more: the next answer came from the cache
  hit=1
  for object in 1k 100k; do
    headers=$(curl -fs -D - -o /dev/null "http://127.0.0.1:${port[$name]}/$object" | tr -d '\r')
    case "$name" in
      CacheProxy) grep -qi '^cache-status: .*; hit' <<<"$headers" ;;
      nginx) grep -qi '^x-cache-status: HIT' <<<"$headers" ;;
      Varnish) grep -qiE '^x-varnish: [0-9]+ [0-9]+' <<<"$headers" ;;
      TrafficServer | OutputCache) grep -qiE '^age: [1-9][0-9]*' <<<"$headers" ;;
    esac || { echo "$name is not answering /$object from its cache: left out"$'\n'"$headers" >&2; hit=""; }
  done
  # ... and that it forwards what the origin marks no-store (OutputCache stores it: left out of those cases below).
  forwards[$name]=""
  if [[ $name != OutputCache ]]; then
    forwards[$name]=1
    headers=$(curl -fs -D - -o /dev/null "http://127.0.0.1:${port[$name]}/nostore/1k" | tr -d '\r')
    case "$name" in
      CacheProxy) grep -qi '^cache-status: .*fwd=' <<<"$headers" ;;
      nginx) ! grep -qi '^x-cache-status: HIT' <<<"$headers" ;;
      Varnish) grep -qiE '^x-varnish: [0-9]+$' <<<"$headers" ;;
      TrafficServer) ! grep -qiE '^age: [1-9]' <<<"$headers" ;;
    esac || { echo "$name: its answer to /nostore/1k does not show it was forwarded (left out of nostore and distinct)"$'\n'"$headers" >&2; forwards[$name]=""; }
  fi
  [ -n "$hit" ] && active+=("$name")
done
# h2c: who answers over it with prior knowledge (Traffic Server here has no cleartext HTTP/2).
h2_active=()
for name in "${active[@]}"; do
  [[ -n "${h2port[$name]:-}" ]] || continue
  if curl -fs --http2-prior-knowledge -o /dev/null "http://127.0.0.1:${h2port[$name]}/1k" 2>/dev/null; then h2_active+=("$name")
  else echo "$name does not answer h2c with prior knowledge: left out of h2c" >&2; fi
done

tree_pids() { local p=$1 c; echo "$p"; for c in $(pgrep -P "$p" 2>/dev/null); do tree_pids "$c"; done; }
rss_tree() { local s=0 p; for p in $(tree_pids "$1"); do s=$(( s + $(rss_mib "$p" 2>/dev/null || echo 0) )); done; echo "$s"; }
sample_tree() { while kill -0 "$1" 2>/dev/null; do rss_tree "$1" >>"$2"; sleep 0.5; done; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "—"}'; }
# A server started before its children were (nginx, Varnish, Traffic Server) has them on CPU 0 already; the .NET
# ones are pinned above or started pinned. Each child's affinity is checked, not trusted.
if [[ -n "$server_cpu" ]]; then for name in ceiling YARP "${active[@]}"; do for p in $(tree_pids "${pid[$name]}"); do taskset -apc 0 "$p" >/dev/null; done; done; fi

sleep 3
for name in ceiling YARP "${active[@]}"; do idle[$name]=$(rss_tree "${pid[$name]}"); done

wrk_run() { # connections seconds url [lua-script] -> "rps p99ms"
  local out
  out=$(KEYS=unique KEYS_PATH=/nostore/1k timeout $(( $2 + 60 )) $client_cpu wrk -t2 -c"$1" -d"$2s" --latency ${4:+-s "$4"} "$3" 2>&1) || true
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(p99_ms <<<"$out")"
  { grep -o 'Socket errors.*' <<<"$out" | sed "s|^|$3: |" >>"$work/matrix-errors.txt"; } || true
}
h2_run() { # url -> "rps -"
  local out
  out=$(timeout $(( duration + 60 )) $client_cpu h2load -c"$connections" -m"$streams" -t2 -D"$duration" "$1" 2>&1) || true
  { grep '^requests:' <<<"$out" | grep -v ' 0 failed, 0 errored' | sed "s|^|$1: |" >>"$work/matrix-errors.txt"; } || true
  echo "$(awk '/^finished in/ {print $4}' <<<"$out") -"
}
url_of() { # case peer
  case "$1" in
    1k | storm) echo "http://127.0.0.1:${port[$2]}/1k" ;;
    100k) echo "http://127.0.0.1:${port[$2]}/100k" ;;
    h2c) echo "http://127.0.0.1:${h2port[$2]}/1k" ;;
    nostore | distinct) echo "http://127.0.0.1:${port[$2]}/nostore/1k" ;;
  esac
}
measure() { # case url
  case "$1" in
    h2c) h2_run "$2" ;;
    storm) wrk_run "$storm" "$storm_seconds" "$2" ;;
    distinct) wrk_run "$connections" "$duration" "$2" "$here/random-keys.lua" ;;
    *) wrk_run "$connections" "$duration" "$2" ;;
  esac
}
fields_url() { case "$1" in 1k) echo "http://127.0.0.1:$ceiling_port/fields/1k" ;; 100k) echo "http://127.0.0.1:$ceiling_port/fields/100k" ;; h2c) echo "http://127.0.0.1:$ceiling_h2c/fields/1k" ;; esac; }

: >"$work/matrix-errors.txt"
for name in ceiling YARP "${active[@]}"; do : >"$work/matrix-rss-$name.txt"; done
report=""
for case in $cases; do
  case "$case" in
    nostore | distinct) anchor=YARP; list=(); for n in "${active[@]}"; do [[ -z "${forwards[$n]}" ]] || list+=("$n"); done ;;
    h2c) anchor=ceiling; list=("${h2_active[@]}") ;;
    *) anchor=ceiling; list=("${active[@]}") ;;
  esac
  rounds="${ROUNDS:-5}"; [[ $case == storm ]] && rounds="${STORM_ROUNDS:-3}"
  a_url=$(url_of "$case" "$anchor")
  anchor_sampler=""
  if [[ $case == 1k ]]; then sample_tree "${pid[$anchor]}" "$work/matrix-rss-$anchor.txt" & anchor_sampler=$!; fi
  measure "$case" "$a_url" >/dev/null # warm-up
  report+=$'\n'"### $case (anchor: $anchor)"$'\n\n'
  report+="| peer | $anchor req/s | $anchor p99 ms | peer req/s | peer p99 ms | median round ratio | median round p99 ratio | rounds |"$'\n'
  report+="| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"$'\n'
  for name in "${list[@]}"; do
    url=$(url_of "$case" "$name"); f="$work/matrix-$case-$name.txt"; : >"$f"
    measure "$case" "$url" >/dev/null # warm-up
    sampler=""
    if [[ $case == 1k ]]; then sample_tree "${pid[$name]}" "$work/matrix-rss-$name.txt" & sampler=$!; fi
    same=""; [[ $name == CacheProxy ]] && same=$(fields_url "$case")
    for round in $(seq 1 "$rounds"); do
      if [[ -n "$same" ]]; then in_turn "$round" 'measure "$case" "$a_url"' 'measure "$case" "$url"' 'measure "$case" "$same"' >>"$f"
      else in_turn "$round" 'measure "$case" "$a_url"' 'measure "$case" "$url"' >>"$f"; fi
    done
    [[ -z "$sampler" ]] || { kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; }
    col() { awk -v c="$1" '{print $c}' "$f" | median; }
    ratio=$(awk '$1 > 0 {printf "%.4f\n", $3/$1}' "$f" | median)
    p99=$(awk '$2 != "-" && $2 > 0 {printf "%.4f\n", $4/$2}' "$f" | median)
    report+="| $name | $(col 1) | $(col 2) | $(col 3) | $(col 4) | $(printf '%.2f' "$ratio") | $([[ $p99 == — ]] && echo — || printf '%.2f' "$p99") | $(awk '$1 > 0 {printf "%.2f ", $3/$1}' "$f")|"$'\n'
    if [[ -n "$same" ]]; then
      report+="| CacheProxy ÷ the same-fields ceiling | $(col 5) | $(col 6) | $(col 3) | $(col 4) | $(awk '$5 > 0 {printf "%.4f\n", $3/$5}' "$f" | median | xargs printf '%.2f') | — | $(awk '$5 > 0 {printf "%.2f ", $3/$5}' "$f")|"$'\n'
    fi
  done
  [[ -z "$anchor_sampler" ]] || { kill "$anchor_sampler" 2>/dev/null; wait "$anchor_sampler" 2>/dev/null || true; }
  if [[ $case == storm ]]; then
    for name in ceiling YARP "${active[@]}"; do after_storm[$name]=$(rss_tree "${pid[$name]}"); done
    sleep 60
    for name in ceiling YARP "${active[@]}"; do quiet[$name]=$(rss_tree "${pid[$name]}"); done
  fi
done

printf '%s\n' "$report"
echo "### Resident set (MiB, each server's processes summed)"
echo
echo "| server | idle | peak under the 1k case | after the storm case | after a quiet minute more |"
echo "| --- | ---: | ---: | ---: | ---: |"
for name in ceiling YARP "${active[@]}"; do
  peak="—"; [[ -s "$work/matrix-rss-$name.txt" ]] && peak=$(sort -n "$work/matrix-rss-$name.txt" | tail -1)
  echo "| $name | ${idle[$name]} | $peak | ${after_storm[$name]:-—} | ${quiet[$name]:-—} |"
done
echo
echo "$(date -u +%F), $(nproc) cores${client_cpu:+, servers on CPU 0 and the load generator on CPU 1}; wrk -t2 -c$connections -d${duration}s --latency,"
echo "h2load -c$connections -m$streams -t2 -D$duration, storm wrk -t2 -c$storm -d${storm_seconds}s; ${ROUNDS:-5} rounds (storm ${STORM_ROUNDS:-3})."
echo "Load-generator errors (by URL; the port says whose):"
sort "$work/matrix-errors.txt" | sed 's/^/  /' || true
echo "Ports: $(for name in ceiling YARP "${active[@]}"; do printf '%s %s; ' "$name" "${port[$name]}"; done)"
