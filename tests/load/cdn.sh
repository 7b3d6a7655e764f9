#!/usr/bin/env bash
# CDN purge forwarding, loopback only and bounded in time: how long from POST /purge to the CDN's API receiving it,
# for one sample gateway alone (memory outbox) and for two gateways sharing one redis-server (Redis outbox: the
# delivery waits until both applied the purge), purges made on each in turn. The "CDN" is a webhook listener in this
# script (Python's http.server) that answers 200 at once. Prints p50, p90, p99 and max in ms per setup.
#   tests/load/cdn.sh [purges=200]
set -euo pipefail
purges="${1:-200}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
key="load-test-key-0123456789abcdef01234567"

redis_port=$(free_port); ceiling_port=$(free_port); hook_port=$(free_port)
build
start_ceiling "$ceiling_port"
start_redis "$redis_port"

measure() { # label management-port... -> one line of percentiles
  local label=$1; shift
  python3 - "$label" "$hook_port" "$purges" "$key" "$@" <<'PY'
import http.server, json, sys, threading, time, urllib.request
label, hook_port, purges, key, ports = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
arrived, cond = {}, threading.Condition()
class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive, as a CDN's API
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with cond:
            arrived[self.headers['CacheProxy-Purge-Id']] = time.monotonic()
            cond.notify_all()
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *a): pass
server = http.server.ThreadingHTTPServer(('127.0.0.1', hook_port), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
latencies = []
for i in range(purges):
    port = ports[i % len(ports)]
    body = json.dumps({'tags': [f'cdn-load-{i}']}).encode()
    request = urllib.request.Request(f'http://127.0.0.1:{port}/purge', body, {'Content-Type': 'application/json', 'Authorization': f'Bearer {key}'})
    sent = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as response:
        fid = json.load(response)['forwarding']['id']
    with cond:
        if not cond.wait_for(lambda: fid in arrived, timeout=10):
            print(f'{label}: purge {i} not delivered within 10 s', file=sys.stderr); sys.exit(1)
        latencies.append((arrived[fid] - sent) * 1000)
server.shutdown()
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f'{label}: {purges} purges, POST /purge to the CDN receiving it: p50 {pick(0.5):.1f} ms, p90 {pick(0.9):.1f} ms, p99 {pick(0.99):.1f} ms, max {latencies[-1]:.1f} ms')
PY
}
wait_healthy() { # management-port...
  for port in "$@"; do
    for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '^{"status":"Healthy"' && break; sleep 0.2; done
  done
}

cdn=(CacheProxy__Management__ApiKeys__load="$key" CacheProxy__Management__PurgesPerSecondPerKey=100000 CacheProxy__Cdn__Providers__hook__Type=Webhook
  CacheProxy__Cdn__Providers__hook__Url="http://127.0.0.1:$hook_port/purge")
a_port=$(free_port); a_mgmt=$(free_port)
start_gateway "$a_port" "$a_mgmt" "$ceiling_port" "${cdn[@]}"; alone=$gateway_pid
wait_healthy "$a_mgmt"
measure "memory outbox, one gateway" "$a_mgmt"
kill "$alone"

shared=("${cdn[@]}" CacheProxy__Redis__Configuration="127.0.0.1:$redis_port")
b_port=$(free_port); b_mgmt=$(free_port); c_port=$(free_port); c_mgmt=$(free_port)
start_gateway "$b_port" "$b_mgmt" "$ceiling_port" "${shared[@]}"
start_gateway "$c_port" "$c_mgmt" "$ceiling_port" "${shared[@]}"
wait_healthy "$b_mgmt" "$c_mgmt"
measure "Redis outbox, two gateways" "$b_mgmt" "$c_mgmt"
