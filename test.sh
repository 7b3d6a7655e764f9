#!/usr/bin/env bash
# Runs every test: installs what the tests need when it is missing (redis-server and redis-cli for the Redis
# tier's tests, Node.js and curl for the conformance runs, promtool from Debian's prometheus package for the
# alerting rules, chromium for the dashboard's browser test, the npm snapshot of the conformance suite), then the
# .NET test suite (which must build and run without a warning), the consumer test (the README's install steps and
# code against freshly packed packages, tests/consumer/run.sh) and the RFC 9111 conformance suite in two
# revisions: npm http-cache-tests 0.4.5 and the current one from ../shared/cache-tests.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)   # the Redis tier's tests start their own servers
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # the dashboard's browser test drives it with Playwright
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
install() {
  [ -n "${updated:-}" ] || { $SUDO apt-get update -qq; updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
if [ ${#need[@]} -gt 0 ]; then install "${need[@]}"; fi
# promtool checks docs/operations/alerts.yml: the prometheus package without what it recommends (node-exporter and
# the tools that come with it), so a machine gains promtool and not a monitoring stack.
command -v promtool >/dev/null 2>&1 || install --no-install-recommends prometheus

log="$(mktemp /tmp/cacheproxy-test.XXXXXX)"
trap 'rm -f "$log"' EXIT
set +e
dotnet test CacheProxy.sln -c Release --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || exit "$status"
# Quiet means nothing to skim past: a warning or a skipped test case is a defect to fix, not noise.
if grep -E ': warning [A-Z]+[0-9]+|Skipping test case' "$log" | sort -u; then
  echo "test.sh: the build or the test run printed the warnings above" >&2
  exit 1
fi
tests/consumer/run.sh
tests/conformance/run.sh
