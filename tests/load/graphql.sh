#!/usr/bin/env bash
# GraphQL under load (issue #29), loopback only and bounded in time: the sample gateway with GraphQL on its route, in
# front of the ceiling app, whose /graphql answers any POST with the same 10.5 kB of JSON and whose /graphql-plain is those
# bytes as a plain GET object. One comparison, each round running its two sides back to back, in turn first
# (in_turn): a GraphQL POST hit (graphql-post.lua: a typical query with variables, its body remembered so the hit does
# not parse it) against a GET hit of the same bytes. Servers on CPU 0 and wrk on CPU 1 (PIN=0 leaves them).
# ROUNDS (default 7).
#   tests/load/graphql.sh [seconds-per-run=4] [connections=64]
set -euo pipefail
duration="${1:-4}"
connections="${2:-64}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

ceiling_port=$(free_port); public_port=$(free_port); mgmt_port=$(free_port)
build
start_ceiling "$ceiling_port"
start_gateway "$public_port" "$mgmt_port" "$ceiling_port" CacheProxy__Routes__all__GraphQL__Enabled=true CacheProxy__Routes__all__GraphQL__Key=Shared

for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null 2>&1 && break; sleep 0.2; done
g="http://127.0.0.1:$public_port"
body=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$here/graphql-post.lua")
post() { curl -fs -X POST -H 'Content-Type: application/json' --data-binary "$body" "$@" "$g/graphql"; }
for _ in 1 2 3; do post -o /dev/null; curl -fs -o /dev/null "$g/graphql-plain"; done
[[ "$(post)" == "$(curl -fs "$g/graphql-plain")" ]] || { echo "the POST hit and the plain object differ" >&2; exit 1; }
status=$(post -D - -o /dev/null | tr -d '\r' | grep -i '^cache-status:' || true)
case "$status" in *"; hit"*) ;; *) echo "the gateway is not serving the GraphQL POST from cache: $status" >&2; exit 1 ;; esac

pin_servers "$ceiling_pid" "$gateway_pid"
rounds="${ROUNDS:-7}"
f="$work/graphql.txt"; : >"$f"
measure_wrk "$g/graphql-plain" >/dev/null; measure_wrk "$g/graphql" -s "$here/graphql-post.lua" >/dev/null # warm-up
for round in $(seq 1 "$rounds"); do in_turn "$round" 'measure_wrk "$g/graphql-plain"' 'measure_wrk "$g/graphql" -s "$here/graphql-post.lua"' >>"$f"; done
col() { awk -v c="$1" '{print $c}' "$f" | median; }
echo "| comparison | GET hit req/s | GET hit p99 ms | POST hit req/s | POST hit p99 ms | median round ratio | rounds |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
printf '| GraphQL POST hit / GET hit | %s | %s | %s | %s | %.2f | %s|\n' "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" \
  "$(awk '{printf "%.4f\n", $3/$1}' "$f" | median)" "$(awk '{printf "%.2f ", $3/$1}' "$f")"
