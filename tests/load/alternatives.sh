#!/usr/bin/env bash
# Hit throughput of CacheProxy beside the caches teams pick instead — nginx (proxy_cache), Varnish, Apache Traffic
# Server and YARP with ASP.NET Core's OutputCache — each in front of the ceiling app, each against the ceiling
# serving the same 1 KiB object directly, over HTTP/1.1 with wrk. Loopback only, bounded in time. Each round, for
# each cache in turn, runs the ceiling and the cache back to back (ABBA); the median of the rounds' ratios is
# reported, as in run.sh. Needs nginx, varnish and trafficserver (apt-get install nginx varnish trafficserver);
# a missing one is left out and said so.
#   tests/load/alternatives.sh [seconds-per-run=4] [connections=64]      ROUNDS (default 7)
set -euo pipefail
duration="${1:-4}"
connections="${2:-64}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

# Traffic Server takes its time over SIGTERM: it is killed outright, then everything else as usual.
ats_pid=""
trap 'if [ -n "$ats_pid" ]; then pkill -9 -P "$ats_pid" 2>/dev/null || true; kill -9 "$ats_pid" 2>/dev/null || true; fi; cleanup' EXIT
ceiling_port=$(free_port)
build
dotnet build "$here/OutputCacheGateway" -c Release -v q -nologo >>"$work/build.log" 2>&1
start_ceiling "$ceiling_port"
declare -A port check
names=()

public_port=$(free_port); mgmt_port=$(free_port)
start_gateway "$public_port" "$mgmt_port" "$ceiling_port"
names+=(CacheProxy); port[CacheProxy]=$public_port

outputcache_port=$(free_port)
ASPNETCORE_URLS="http://127.0.0.1:$outputcache_port" Upstream="http://127.0.0.1:$ceiling_port/" \
  dotnet "$here/OutputCacheGateway/bin/Release/net10.0/OutputCacheGateway.dll" >"$work/outputcache.log" 2>&1 &
pids+=($!); names+=(OutputCache); port[OutputCache]=$outputcache_port

if command -v nginx >/dev/null; then
  nginx_port=$(free_port); mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy; fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  proxy_cache_path $work/nginx/cache levels=1:2 keys_zone=c:10m max_size=256m inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$ceiling_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port;
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
  nginx -c "$work/nginx/nginx.conf" >"$work/nginx/stdout.log" 2>&1 & pids+=($!)
  names+=(nginx); port[nginx]=$nginx_port
else
  echo "nginx is missing: left out" >&2
fi

if command -v varnishd >/dev/null; then
  varnish_port=$(free_port)
  varnishd -F -a "127.0.0.1:$varnish_port" -b "127.0.0.1:$ceiling_port" -s malloc,256m -n "$work/varnish" \
    -T none >"$work/varnish.log" 2>&1 & pids+=($!)
  names+=(Varnish); port[Varnish]=$varnish_port
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
  traffic_server --run-root="$ats/runroot.yaml" >"$work/ats.log" 2>&1 & pids+=($!); ats_pid=$!
  names+=(TrafficServer); port[TrafficServer]=$ats_port
else
  echo "trafficserver is missing: left out" >&2
fi

sleep 5
for _ in $(seq 1 150); do curl -fs -o /dev/null "http://127.0.0.1:$ceiling_port/1k" 2>/dev/null && break; sleep 0.2; done
# Fill each cache and check that its second answer is a hit (a cache that does not store makes no row).
active=()
for name in "${names[@]}"; do
  url="http://127.0.0.1:${port[$name]}/1k"
  ok=""
  for _ in $(seq 1 50); do curl -fs -o /dev/null "$url" 2>/dev/null && ok=1 && break; sleep 0.2; done
  [ -n "$ok" ] || { echo "$name did not answer: left out (logs in $work)" >&2; continue; }
  curl -fs -o /dev/null "$url"; sleep 1.2 # an Age of 1 s or more: the second answer came from the cache
  headers=$(curl -fs -D - -o /dev/null "$url" | tr -d '\r')
  case "$name" in
    CacheProxy) grep -qi '^cache-status: .*; hit' <<<"$headers" ;;
    nginx) grep -qi '^x-cache-status: HIT' <<<"$headers" ;;
    Varnish) grep -qiE '^x-varnish: [0-9]+ [0-9]+' <<<"$headers" ;;
    TrafficServer | OutputCache) grep -qiE '^age: [1-9][0-9]*' <<<"$headers" ;;
  esac || { echo "$name is not answering /1k from its cache: left out"$'\n'"$headers" >&2; continue; }
  active+=("$name")
done

measure() { # url -> req/s
  timeout $((duration + 30)) wrk -t2 -c"$connections" -d"${duration}s" "$1" | awk '/Requests\/sec/ {print $2}'
}
c_url="http://127.0.0.1:$ceiling_port/1k"
timeout 30 wrk -t2 -c"$connections" -d2s "$c_url" >/dev/null
for name in "${active[@]}"; do timeout 30 wrk -t2 -c"$connections" -d2s "http://127.0.0.1:${port[$name]}/1k" >/dev/null; done
rounds="${ROUNDS:-7}"
for name in "${active[@]}"; do : >"$work/alt-$name.txt"; done
for round in $(seq 1 "$rounds"); do
  for name in "${active[@]}"; do
    url="http://127.0.0.1:${port[$name]}/1k"
    in_turn "$round" 'measure "$c_url"' 'measure "$url"' >>"$work/alt-$name.txt"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| cache | ceiling req/s | cache hit req/s | median round ratio | rounds |"
echo "| --- | ---: | ---: | ---: | --- |"
for name in "${active[@]}"; do
  f="$work/alt-$name.txt"
  echo "| $name | $(awk '{print $1}' "$f" | median) | $(awk '{print $2}' "$f" | median) | $(awk '{printf "%.4f\n", $2/$1}' "$f" | median | xargs printf '%.2f') | $(awk '{printf "%.2f ", $2/$1}' "$f")|"
done
echo "1 KiB hit over HTTP/1.1, wrk -t2 -c$connections -d${duration}s, $rounds rounds, loopback, $(nproc) cores, $(date -u +%F)."
