#!/usr/bin/env bash
# The consumer test: packs every package under src/ (warnings as errors), builds a new app from those .nupkg files
# in a local folder feed (not project references) with the README's Program.cs and appsettings.json as written,
# starts it in front of a small origin, and checks a miss, a hit, and the management plane on its own port.
# Fails if a package does not pack, a dependency is missing or wrong, or the README's code no longer compiles or
# runs. Everything binds to 127.0.0.1; every wait is bounded.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d /tmp/cacheproxy-consumer.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "consumer test: $*" >&2; [ -f "$work/app.log" ] && tail -n 40 "$work/app.log" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

for project in "$root"/src/*/; do
  dotnet pack "$project" -c Release -o "$work/feed" -nologo -v q >"$work/pack.log" 2>&1 || { cat "$work/pack.log" >&2; fail "dotnet pack $project failed"; }
done
version_of() { basename "$(ls "$work/feed/$1".[0-9]*.nupkg)" .nupkg | sed "s/^$1\.//"; }
core=$(version_of CacheProxy); redis=$(version_of CacheProxy.Redis); metrics=$(version_of CacheProxy.Metrics)
[ "$core" = "$redis" ] || fail "CacheProxy $core and CacheProxy.Redis $redis differ"
echo "consumer test: packed CacheProxy $core, CacheProxy.Redis $redis, CacheProxy.Metrics $metrics"

# The README's code blocks that follow <!-- consumer-test: NAME --> markers, as written.
extract() {
  awk -v name="$1" '
    $0 ~ "<!-- consumer-test: " name " -->" { armed = 1; next }
    armed && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$root/README.md"
}
mkdir -p "$work/app"
cp "$here/Consumer.csproj" "$work/app/"
extract Program.cs >"$work/app/Program.cs"
extract appsettings.json >"$work/app/appsettings.json"
[ -s "$work/app/Program.cs" ] && [ -s "$work/app/appsettings.json" ] || fail "README.md has no consumer-test Program.cs / appsettings.json block"
# Only the local feed for CacheProxy; its dependencies from the machine's package cache, else nuget.org. A packages
# folder of its own, so that a package of the same version from an earlier run is never used in place of this one.
cat >"$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="packed" value="$work/feed" />
    <add key="cache" value="$HOME/.nuget/packages" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="packed"><package pattern="CacheProxy" /><package pattern="CacheProxy.*" /></packageSource>
    <packageSource key="cache"><package pattern="*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
(cd "$work/app" && dotnet build -c Release -nologo -v q --packages "$work/packages" \
  -p:CacheProxyVersion="$core" -p:CacheProxyMetricsVersion="$metrics" >"$work/build.log" 2>&1) || { cat "$work/build.log" >&2; fail "the README's Program.cs does not build against the packages"; }

mkdir -p "$work/site"
echo "hello from the origin" >"$work/site/hello.txt"
touch -d '2020-01-01 00:00:00' "$work/site/hello.txt" # Last-Modified long ago: heuristically fresh (RFC 9111 §4.2.2)
origin=$(free_port); public=$(free_port); management=$(free_port); key="consumer-test-key-0123456789abcdef0123"
python3 -m http.server "$origin" --bind 127.0.0.1 --directory "$work/site" >"$work/origin.log" 2>&1 &
pids+=($!)
(cd "$work/app/bin/Release/net10.0" && ASPNETCORE_ENVIRONMENT=Production \
  Kestrel__Endpoints__Public__Url="http://127.0.0.1:$public" Kestrel__Endpoints__Management__Url="http://127.0.0.1:$management" \
  ReverseProxy__Clusters__origin__Destinations__primary__Address="http://127.0.0.1:$origin/" \
  CacheProxy__Management__ApiKeys__ops="$key" exec dotnet Consumer.dll) >"$work/app.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$management/health/live" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$management/health/live" >/dev/null || fail "the app did not start"

status() { curl -fs -D - -o /dev/null "http://127.0.0.1:$public/hello.txt" | tr -d '\r' | awk 'tolower($1) == "cache-status:" { $1 = ""; print substr($0, 2) }'; }
first=$(status); second=$(status)
[[ "$first" == *"fwd=miss"*"stored"* ]] || fail "first request: Cache-Status '$first', expected a stored miss"
[[ "$second" == "CacheProxy; hit" ]] || fail "second request: Cache-Status '$second', expected a hit"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$public/health")" = 404 ] || fail "/health answers on the public port"
curl -fs "http://127.0.0.1:$management/metrics" | grep -q '^cacheproxy_requests_total' || fail "/metrics has no cacheproxy_requests_total"

# The tool, installed as operators install it, against the app.
dotnet tool install CacheProxy.Cli --version "$core" --tool-path "$work/tools" --configfile "$work/app/nuget.config" >"$work/tool.log" 2>&1 \
  || { cat "$work/tool.log" >&2; fail "dotnet tool install CacheProxy.Cli failed"; }
export CACHEPROXY_MANAGEMENT_URL="http://127.0.0.1:$management" CACHEPROXY_API_KEY="$key"
"$work/tools/cacheproxy" health >"$work/cli.log" 2>&1 || { cat "$work/cli.log" >&2; fail "cacheproxy health failed"; }
"$work/tools/cacheproxy" stats --json | python3 -c 'import json,sys; t=json.load(sys.stdin)["totals"]["requests"]; sys.exit(0 if t == 2 else "requests %s, expected 2" % t)' \
  || fail "cacheproxy stats does not count the two requests"
(cd "$work/app" && ReverseProxy__Clusters__origin__Destinations__primary__Address="http://127.0.0.1:$origin/" \
  "$work/tools/cacheproxy" config check appsettings.json --with-environment) >"$work/cli.log" 2>&1 \
  || { cat "$work/cli.log" >&2; fail "cacheproxy config check finds the README's appsettings.json invalid"; }
echo "consumer test: passed (miss, then hit; /health and /metrics on the management port only; cacheproxy installed and run)"
