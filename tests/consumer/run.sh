#!/usr/bin/env bash
# The consumer test: the README's install steps as a new user runs them, in a home of its own (empty NuGet caches):
# its pack command in this repository (no warning allowed), then two new apps (`dotnet new web`) that add the folder
# feed beside nuget.org and the packages as the README says — the core package alone with the core Program.cs, and
# every package with the full one — each with the README's appsettings.json, built with warnings as errors and run
# in front of a small origin: a miss, then a hit, the management plane on its own port only. Then the command line,
# installed as docs/operations/cli.md says, against the full app. Fails if a package does not pack, a dependency is
# missing, or a README step or snippet no longer works as written. Everything binds to 127.0.0.1; waits are bounded.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d /tmp/cacheproxy-consumer.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { [ -f "$work/app.log" ] && tail -n 40 "$work/app.log" >&2; echo "consumer test: $*" >&2; exit 1; } # the reason last
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# A new user: a home of its own, so NuGet's caches are empty (no stale copy of this version can stand in for the one
# packed now) and the README's ~/cacheproxy-feed and the tool's --global install land inside $work.
machine_packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
export HOME="$work/home" DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
mkdir -p "$HOME"
unset NUGET_PACKAGES

# The README's blocks that follow <!-- consumer-test: NAME --> markers, as written.
extract() {
  awk -v name="$2" '
    index($0, "<!-- consumer-test: " name " -->") { armed = 1; next }
    armed && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$1"
}
block() { extract "$root/README.md" "$1"; }
run_block() { # NAME [FILTER]: the block's lines as a script, each a step that must succeed
  local script; script="$(block "$1" | grep -v "${2:-^$}" || true)"
  [ -n "$script" ] || fail "README.md has no consumer-test block '$1'"
  bash -euo pipefail -c "$script" >>"$work/steps.log" 2>&1 || { cat "$work/steps.log" >&2; fail "README step '$1' failed"; }
}

# In the repository, as its developer has it: the repository's own restore uses the machine's package cache.
(cd "$root" && NUGET_PACKAGES="$machine_packages" run_block pack)
pack_warnings=$(grep -E ': warning [A-Z]*[0-9]+|warning :' "$work/steps.log" || true)
[ -z "$pack_warnings" ] || fail "dotnet pack printed warnings: $pack_warnings"
feed="$HOME/cacheproxy-feed"
version_of() { basename "$(ls "$feed/$1".[0-9]*.nupkg)" .nupkg | sed "s/^$1\.//"; }
core=$(version_of CacheProxy); redis=$(version_of CacheProxy.Redis); metrics=$(version_of CacheProxy.Metrics)
[ "$core" = "$redis" ] || fail "CacheProxy $core and CacheProxy.Redis $redis differ"
echo "consumer test: packed CacheProxy $core, CacheProxy.Redis $redis, CacheProxy.Metrics $metrics"

# Two new apps: the core package alone with the core snippet, and every package with the full one.
new_app() { # DIR PROGRAM-BLOCK [INSTALL-FILTER]
  mkdir -p "$work/$1"
  (cd "$work/$1" && dotnet new web --name "$1" --output . >>"$work/steps.log" 2>&1) || fail "dotnet new web failed"
  (cd "$work/$1" && run_block install "${3:-}")
  block "$2" >"$work/$1/Program.cs"
  block appsettings.json >"$work/$1/appsettings.json"
  [ -s "$work/$1/Program.cs" ] && [ -s "$work/$1/appsettings.json" ] || fail "README.md has no '$2' / appsettings.json block"
  (cd "$work/$1" && dotnet build -c Release -nologo -v q -p:TreatWarningsAsErrors=true >"$work/build.log" 2>&1) \
    || { cat "$work/build.log" >&2; fail "the README's '$2' does not build with its packages"; }
}
new_app core "Program.cs (core)" "optional:"
grep -q 'Include="CacheProxy.Redis"\|Include="CacheProxy.Metrics"' "$work/core/core.csproj" && fail "the core app references an optional package"
new_app app "Program.cs"
grep -q "Include=\"CacheProxy\" Version=\"$core\"" "$work/app/app.csproj" || fail "the app did not get CacheProxy $core from the folder feed"

mkdir -p "$work/site"
echo "hello from the origin" >"$work/site/hello.txt"
touch -d '2020-01-01 00:00:00' "$work/site/hello.txt" # Last-Modified long ago: heuristically fresh (RFC 9111 §4.2.2)
origin=$(free_port); key="consumer-test-key-0123456789abcdef0123"
python3 -m http.server "$origin" --bind 127.0.0.1 --directory "$work/site" >"$work/origin.log" 2>&1 &
pids+=($!)

start_app() { # NAME DLL: starts an app on two free ports in front of the origin; sets public and management
  public=$(free_port); management=$(free_port)
  (cd "$(dirname "$2")" && ASPNETCORE_ENVIRONMENT=Production \
    Kestrel__Endpoints__Public__Url="http://127.0.0.1:$public" Kestrel__Endpoints__Management__Url="http://127.0.0.1:$management" \
    ReverseProxy__Clusters__origin__Destinations__primary__Address="http://127.0.0.1:$origin/" \
    CacheProxy__Management__ApiKeys__ops="$key" exec dotnet "$(basename "$2")") >"$work/app.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$management/health/live" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fs "http://127.0.0.1:$management/health/live" >/dev/null || fail "the $1 app did not start"
}
status() { curl -fs -D - -o /dev/null "http://127.0.0.1:$public/$1" | tr -d '\r' | awk 'tolower($1) == "cache-status:" { $1 = ""; print substr($0, 2) }'; }
# What is promised: a client that has received a whole stored response finds it stored when it asks again.
miss_then_hit() { # NAME PATH
  local first second
  first=$(status "$2"); second=$(status "$2")
  [[ "$first" == *"fwd=miss"*"stored"* ]] || fail "$1 app, first request: Cache-Status '$first', expected a stored miss"
  [[ "$second" == "CacheProxy; hit" ]] || fail "$1 app, second request: Cache-Status '$second', expected a hit"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$public/health")" = 404 ] || fail "$1 app: /health answers on the public port"
}

start_app core "$work/core/bin/Release/net10.0/core.dll"
miss_then_hit core hello.txt
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$management/metrics")" = 404 ] || fail "the core app serves /metrics without CacheProxy.Metrics"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
start_app app "$work/app/bin/Release/net10.0/app.dll"
miss_then_hit app "hello.txt?full"
# Read whole, then searched: `curl | grep -q` fails under pipefail when grep stops at the first match while curl is
# still writing (SIGPIPE, curl exit 23) — seen on a busy machine as "/metrics has no cacheproxy_requests_total".
metrics_text=$(curl -fs "http://127.0.0.1:$management/metrics") || fail "/metrics did not answer"
grep -q '^cacheproxy_requests_total' <<<"$metrics_text" || fail "/metrics has no cacheproxy_requests_total"

# The sample gateway as the README runs it in production: its publish command as written (in the repository, as its
# developer has it), then the published dll, on this test's ports and origin.
publish=$(block production | grep '^dotnet publish')
[ -n "$publish" ] || fail "README.md's production block has no dotnet publish command"
(cd "$root" && NUGET_PACKAGES="$machine_packages" bash -euo pipefail -c "$publish" >>"$work/steps.log" 2>&1) || { cat "$work/steps.log" >&2; fail "'$publish' failed"; }
published="$root/$(block production | grep -o 'dotnet [^ ]*CacheProxy.Gateway.dll' | cut -d' ' -f2)"
[ -f "$published" ] || fail "the README runs $published, which its publish command did not write"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
start_app "published gateway" "$published"
miss_then_hit "published gateway" "hello.txt?published"

# The tool, installed as docs/operations/cli.md says (--global lands in this test's own home), against the gateway.
(cd "$work" && script="$(extract "$root/docs/operations/cli.md" tool)" && [ -n "$script" ] && bash -euo pipefail -c "$script") >>"$work/steps.log" 2>&1 \
  || { cat "$work/steps.log" >&2; fail "installing the command line as docs/operations/cli.md says failed"; }
cacheproxy="$HOME/.dotnet/tools/cacheproxy"
export CACHEPROXY_MANAGEMENT_URL="http://127.0.0.1:$management" CACHEPROXY_API_KEY="$key"
"$cacheproxy" health >"$work/cli.log" 2>&1 || { cat "$work/cli.log" >&2; fail "cacheproxy health failed"; }
"$cacheproxy" stats --json | python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]["requests"]; sys.exit(0 if t == 2 else "requests %s, expected 2" % t)' \
  || fail "cacheproxy stats does not count the two requests"
(cd "$work/app" && ReverseProxy__Clusters__origin__Destinations__primary__Address="http://127.0.0.1:$origin/" \
  "$cacheproxy" config check appsettings.json --with-environment --strict) >"$work/cli.log" 2>&1 \
  || { cat "$work/cli.log" >&2; fail "cacheproxy config check --strict finds the README's appsettings.json invalid"; }
echo "consumer test: passed (the README's install steps; core and full apps, and the published sample gateway: miss, then hit; /health and /metrics on the management port only; cacheproxy installed and run against the published gateway)"
