#!/usr/bin/env bash
# Edge Side Includes under load (issue #26), loopback only and bounded in time: the sample gateway with ESI on, in
# front of the ceiling app's ESI pages (Ceiling/: a page of 10 fragments of 200 bytes each, the same page with its last
# fragment no-store, and the bytes the page assembles to as one plain object). Three comparisons, each round running
# its two sides back to back, in turn first (in_turn):
#   assembled     the page of 10 cached fragments, against a plain hit of the same bytes (the gateway's /esi/plain);
#   one uncached  the page whose last fragment goes upstream every time, against the same plain hit;
#   Varnish       Debian's varnishd with beresp.do_esi on the same page, against the gateway's assembled page.
# Servers on CPU 0 and wrk on CPU 1 (PIN=0 leaves them). ROUNDS (default 7). ACCEPT_ENCODING=br (or gzip) sends it with
# every request: the plain hit is then the stored br copy, the assembled page is coded per request.
#   tests/load/esi.sh [seconds-per-run=4] [connections=64]
set -euo pipefail
duration="${1:-4}"
connections="${2:-64}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

ceiling_port=$(free_port); public_port=$(free_port); mgmt_port=$(free_port)
build
start_ceiling "$ceiling_port"
start_gateway "$public_port" "$mgmt_port" "$ceiling_port" CacheProxy__Esi__Enabled=true
varnish_port=""
if command -v varnishd >/dev/null; then
  varnish_port=$(free_port); mkdir -p "$work/varnish-esi"
  cat >"$work/varnish-esi/esi.vcl" <<VCL
vcl 4.1;
backend default { .host = "127.0.0.1"; .port = "$ceiling_port"; }
sub vcl_recv { set req.http.Surrogate-Capability = {"varnish="ESI/1.0""}; }
sub vcl_backend_response {
  if (beresp.http.Surrogate-Control ~ "ESI/1.0") { unset beresp.http.Surrogate-Control; set beresp.do_esi = true; }
}
VCL
  varnishd -F -a "127.0.0.1:$varnish_port" -f "$work/varnish-esi/esi.vcl" -s malloc,256m -n "$work/varnish-esi" -T none \
    >"$work/varnish-esi.log" 2>&1 &
  pids+=($!); varnish_pid=$!
else
  echo "varnish is missing (apt-get install varnish): the Varnish comparison is left out" >&2
fi

for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null 2>&1 && break; sleep 0.2; done
g="http://127.0.0.1:$public_port"
for path in /esi/plain /esi/page /esi/page-uncached; do
  for _ in 1 2 3; do curl -fs -o /dev/null ${ACCEPT_ENCODING:+-H "Accept-Encoding: $ACCEPT_ENCODING"} "$g$path"; done
done
plain=$(curl -fs "$g/esi/plain"); page=$(curl -fs "$g/esi/page"); uncached=$(curl -fs "$g/esi/page-uncached")
[[ "$page" == "$plain" && "$uncached" == "$plain" ]] || { echo "the assembled pages are not the plain page's bytes" >&2; exit 1; }
status=$(curl -fs -D - -o /dev/null "$g/esi/page" | tr -d '\r' | grep -i '^cache-status:' || true)
case "$status" in *"; hit"*) ;; *) echo "the gateway is not serving /esi/page from cache: $status" >&2; exit 1 ;; esac
if [[ -n "$varnish_port" ]]; then
  v="http://127.0.0.1:$varnish_port"
  for _ in $(seq 1 75); do curl -fs -o /dev/null "$v/esi/page" 2>/dev/null && break; sleep 0.2; done
  [[ "$(curl -fs "$v/esi/page")" == "$plain" ]] || { echo "Varnish does not assemble /esi/page: left out" >&2; varnish_port=""; }
fi

server_cpu="" client_cpu=""
if (( $(nproc) >= 2 )) && [[ "${PIN:-1}" != 0 ]]; then
  server_cpu="taskset -apc 0"; client_cpu="taskset -c 1"
  for p in "$ceiling_pid" "$gateway_pid" ${varnish_pid:+$(pgrep -P "$varnish_pid") $varnish_pid}; do $server_cpu "$p" >/dev/null; done
fi
measure() { # url -> "rps p99ms"
  local out
  out=$(timeout $((duration + 30)) $client_cpu wrk -t2 -c"$connections" -d"${duration}s" --latency ${ACCEPT_ENCODING:+-H "Accept-Encoding: $ACCEPT_ENCODING"} "$1")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(p99_ms <<<"$out")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rounds="${ROUNDS:-7}"
declare -A anchor_url peer_url
cases=(assembled uncached); anchor_url[assembled]="$g/esi/plain"; peer_url[assembled]="$g/esi/page"
anchor_url[uncached]="$g/esi/plain"; peer_url[uncached]="$g/esi/page-uncached"
if [[ -n "$varnish_port" ]]; then cases+=(varnish); anchor_url[varnish]="$g/esi/page"; peer_url[varnish]="$v/esi/page"; fi
echo "| comparison | anchor req/s | anchor p99 ms | req/s | p99 ms | median round ratio | rounds |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
for case in "${cases[@]}"; do
  a="${anchor_url[$case]}"; p="${peer_url[$case]}"; f="$work/esi-$case.txt"; : >"$f"
  measure "$a" >/dev/null; measure "$p" >/dev/null # warm-up
  for round in $(seq 1 "$rounds"); do in_turn "$round" 'measure "$a"' 'measure "$p"' >>"$f"; done
  col() { awk -v c="$1" '{print $c}' "$f" | median; }
  printf '| %s | %s | %s | %s | %s | %.2f | %s|\n' "$case" "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" \
    "$(awk '{printf "%.4f\n", $3/$1}' "$f" | median)" "$(awk '{printf "%.2f ", $3/$1}' "$f")"
done
echo
echo "assembled: the page of 10 cached fragments ÷ a plain hit of its $(wc -c <<<"$plain") bytes; uncached: the page whose last"
echo "fragment is no-store ÷ the same plain hit; varnish: Varnish's assembled page ÷ CacheProxy's. wrk -t2 -c$connections"
echo "-d${duration}s --latency${ACCEPT_ENCODING:+, Accept-Encoding: $ACCEPT_ENCODING}, $rounds alternating rounds (medians), loopback, $(nproc) cores${server_cpu:+, servers on CPU 0 and wrk on CPU 1}."
