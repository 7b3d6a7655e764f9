#!/usr/bin/env bash
# Runs the public HTTP caching test suite (npm http-cache-tests 0.4.5, the suite behind cache-tests.fyi)
# against the sample gateway, loopback only, and prints required / optimal pass counts. Fails when the
# required count drops below the one recorded in baseline.json.
#   tests/conformance/run.sh            run and compare with the baseline
#   tests/conformance/run.sh --record   run and write the new counts to baseline.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$here/.work"
mkdir -p "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

if [ ! -f "$here/node_modules/http-cache-tests/cli.mjs" ]; then
  (cd "$here" && npm install --no-audit --no-fund --silent)
fi
suite="$here/node_modules/http-cache-tests"

origin_port=$(free_port); public_port=$(free_port); mgmt_port=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

(cd "$suite" && npm_config_port=$origin_port npm_config_protocol=http npm_config_pidfile="$work/origin.pid" \
  exec node --import "$here/loopback.mjs" server/server.mjs) >"$work/origin.log" 2>&1 &
pids+=($!)

dotnet build "$root/samples/CacheProxy.Gateway" -c Release -v q -nologo >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
ASPNETCORE_ENVIRONMENT=Production \
Kestrel__Endpoints__Public__Url="http://127.0.0.1:$public_port" \
Kestrel__Endpoints__Management__Url="http://127.0.0.1:$mgmt_port" \
ReverseProxy__Clusters__origin__Destinations__primary__Address="http://127.0.0.1:$origin_port/" \
  dotnet "$root/samples/CacheProxy.Gateway/bin/Release/net10.0/CacheProxy.Gateway.dll" >"$work/gateway.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  if curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null 2>&1 && curl -s "http://127.0.0.1:$origin_port/" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null || { echo "gateway did not start"; cat "$work/gateway.log"; exit 1; }

(cd "$suite" && npm_config_base="http://127.0.0.1:$public_port" npm_config_id= npm_package_config_id= \
  timeout 600 node --no-warnings cli.mjs) >"$work/results.json" 2>"$work/client.log"
node "$here/summarize.mjs" "$suite" "$work/results.json" >"$work/summary.json"

read -r req reqt opt optt < <(node -e 'const s=require(process.argv[1]); console.log(s.required, s.requiredTotal, s.optimal, s.optimalTotal)' "$work/summary.json")
echo "http-cache-tests 0.4.5 against CacheProxy: required $req/$reqt, optimal $opt/$optt"
node -e 'for (const f of require(process.argv[1]).failing) console.log(`  ${f.outcome} ${f.kind} ${f.id}: ${f.detail}`)' "$work/summary.json"

if [ "${1:-}" = "--record" ]; then
  printf '{ "required": %s, "optimal": %s }\n' "$req" "$opt" >"$here/baseline.json"
  echo "recorded in tests/conformance/baseline.json"
  exit 0
fi
base_req=$(node -e 'console.log(require(process.argv[1]).required)' "$here/baseline.json")
if [ "$req" -lt "$base_req" ]; then
  echo "conformance: required passes fell from $base_req to $req" >&2
  exit 1
fi
echo "conformance: required $req >= recorded $base_req"
