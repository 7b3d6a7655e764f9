#!/usr/bin/env bash
# Runs every test: installs what the tests need when it is missing (redis-server and redis-cli for the Redis
# tier's tests, Node.js and curl for the conformance runs, promtool from Debian's prometheus package for the
# alerting rules, the npm snapshot of the conformance suite), then the .NET test suite, the consumer test (every
# package packed, a new app built from them with the README's code, tests/consumer/run.sh) and the RFC 9111
# conformance suite in two revisions: npm http-cache-tests 0.4.5 and the current one from ../shared/cache-tests.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)   # the Redis tier's tests start their own servers
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)   # promtool checks docs/operations/alerts.yml
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # the dashboard's browser test drives it with Playwright
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

dotnet test CacheProxy.sln -c Release --nologo
tests/consumer/run.sh
tests/conformance/run.sh
