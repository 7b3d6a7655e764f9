#!/usr/bin/env bash
# Runs the public HTTP caching test suite behind cache-tests.fyi against the sample gateway, in two revisions at
# once, loopback only:
#   npm      http-cache-tests 0.4.5 from npm (the newest release there)
#   current  the current revision, read from ../shared/cache-tests beside the checkout (or $CACHE_TESTS_DIR)
# Each suite gets its own origin server and its own gateway process. Prints required / optimal pass counts and
# fails when either count of either suite drops below the one recorded in baseline.json.
#   tests/conformance/run.sh            run both and compare with the baseline
#   tests/conformance/run.sh --record   run both and write the new counts to baseline.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$here/.work"
rm -rf "$work"
mkdir -p "$work"

current_src="${CACHE_TESTS_DIR:-$root/../shared/cache-tests}"
if [ ! -f "$current_src/test-engine/cli.mjs" ]; then
  echo "conformance: the current cache-tests suite is not at $current_src (set CACHE_TESTS_DIR)" >&2
  exit 1
fi
# The shared copy may be read-only: run from a copy of our own.
cp -r "$current_src" "$work/current-suite"

if [ ! -f "$here/node_modules/http-cache-tests/cli.mjs" ]; then
  (cd "$here" && npm install --no-audit --no-fund --silent)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

dotnet build "$root/samples/CacheProxy.Gateway" -c Release -v q -nologo >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }

# run_suite NAME DIR SERVER CLI: origin + gateway + client for one suite; results in $work/NAME/results.json.
run_suite() {
  local name=$1 dir=$2 server=$3 cli=$4 out="$work/$1"
  mkdir -p "$out"
  local origin_port public_port mgmt_port
  origin_port=$(free_port); public_port=$(free_port); mgmt_port=$(free_port)
  (cd "$dir" && npm_config_port=$origin_port npm_config_protocol=http npm_config_pidfile="$out/origin.pid" \
    exec node --import "$here/loopback.mjs" "$server") >"$out/origin.log" 2>&1 &
  local origin_pid=$!
  ASPNETCORE_ENVIRONMENT=Production CacheProxy__Shutdown__DrainDelay=0 \
  Kestrel__Endpoints__Public__Url="http://127.0.0.1:$public_port" \
  Kestrel__Endpoints__Management__Url="http://127.0.0.1:$mgmt_port" \
  ReverseProxy__Clusters__origin__Destinations__primary__Address="http://127.0.0.1:$origin_port/" \
    dotnet "$root/samples/CacheProxy.Gateway/bin/Release/net10.0/CacheProxy.Gateway.dll" >"$out/gateway.log" 2>&1 &
  local gateway_pid=$!
  for _ in $(seq 1 150); do
    if curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null 2>&1 && curl -s "http://127.0.0.1:$origin_port/" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  if ! curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null; then
    echo "conformance ($name): gateway did not start" >&2; cat "$out/gateway.log" >&2
    kill "$origin_pid" "$gateway_pid" 2>/dev/null || true
    return 1
  fi
  local rc=0
  (cd "$dir" && npm_config_base="http://127.0.0.1:$public_port" npm_config_id= npm_package_config_id= \
    timeout 600 node --no-warnings "$cli") >"$out/results.json" 2>"$out/client.log" || rc=$?
  kill "$origin_pid" "$gateway_pid" 2>/dev/null || true
  wait "$origin_pid" "$gateway_pid" 2>/dev/null || true
  return $rc
}

npm_dir="$here/node_modules/http-cache-tests"
run_suite npm "$npm_dir" server/server.mjs cli.mjs & npm_job=$!
run_suite current "$work/current-suite" test-engine/server/server.mjs test-engine/cli.mjs & current_job=$!
pids+=($npm_job $current_job)
failed=0
wait $npm_job || { echo "conformance: the npm suite did not run (see $work/npm/client.log)" >&2; failed=1; }
wait $current_job || { echo "conformance: the current suite did not run (see $work/current/client.log)" >&2; failed=1; }
[ $failed -eq 0 ] || exit 1

node "$here/summarize.mjs" "$npm_dir" lib/display.mjs "$work/npm/results.json" tests/index.mjs tests/surrogate-control.mjs >"$work/npm/summary.json"
node "$here/summarize.mjs" "$work/current-suite" test-engine/lib/results.mjs "$work/current/results.json" tests/index.mjs >"$work/current/summary.json"

report() { # NAME LABEL
  node -e '
    const s = require(process.argv[1])
    console.log(`${process.argv[2]}: required ${s.required}/${s.requiredTotal}, optimal ${s.optimal}/${s.optimalTotal}`)
    for (const f of s.failing) console.log(`  ${f.outcome} ${f.kind} ${f.id}: ${f.detail}`)' "$work/$1/summary.json" "$2"
}
report npm "http-cache-tests 0.4.5 (npm) against CacheProxy"
report current "cache-tests current ($(grep -o 'commit [0-9a-f]\{12\}' "$current_src/SOURCE.md" || echo 'shared copy')) against CacheProxy"

if [ "${1:-}" = "--record" ]; then
  node -e '
    const [npm, current] = process.argv.slice(1, 3).map(f => require(f))
    const base = require(process.argv[3])
    const pick = s => ({ required: s.required, optimal: s.optimal })
    console.log(JSON.stringify({ npm: pick(npm), current: pick(current), deliberate: base.deliberate }, null, 2))' \
    "$work/npm/summary.json" "$work/current/summary.json" "$here/baseline.json" >"$work/baseline.json"
  mv "$work/baseline.json" "$here/baseline.json"
  echo "recorded in tests/conformance/baseline.json"
  exit 0
fi

node -e '
  const base = require(process.argv[1])
  const deliberate = base.deliberate || {}
  let ok = true
  for (const name of ["npm", "current"]) {
    const s = require(`${process.argv[2]}/${name}/summary.json`)
    // A deliberate failure is a safe default that a test expects otherwise (baseline.json says why, and
    // docs/conformance.md): it must keep failing, and it is not a regression.
    for (const id of Object.keys(deliberate).filter(id => s.passed.includes(id))) {
      console.error(`conformance (${name}): ${id} passes: the safe default it fails on purpose changed`); ok = false
    }
    for (const kind of ["required", "optimal"]) {
      const was = base[name][kind], now = s[kind]
      const onPurpose = s.failing.filter(f => f.kind === kind && f.id in deliberate).length
      if (now + onPurpose < was) { console.error(`conformance (${name}): ${kind} passes fell from ${was} to ${now} (+ ${onPurpose} failing on purpose)`); ok = false }
      else console.log(`conformance (${name}): ${kind} ${now} + ${onPurpose} failing on purpose >= recorded ${was}`)
    }
  }
  process.exit(ok ? 0 : 1)' "$here/baseline.json" "$work"
