#!/usr/bin/env python3
"""Writes a synthetic nginx "combined" access log with $request_time, for `cacheproxy simulate` (docs/operations/cli.md).

Usage: tests/load/access-log.py LINES > access.log

Deterministic (seeded): 200,000 URLs requested with Zipf popularity (skew 0.9), a quarter of the requests for URLs
asked for once (one-hit wonders), sizes lognormal per URL (median 16 KiB), one POST in fifty, one 503 in two hundred,
two requests a millisecond from 2026-12-01 00:00:00 UTC, and an origin time of 20-200 ms on each line.
"""
import bisect
import math
import random
import sys
from datetime import datetime, timedelta, timezone

lines = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rng = random.Random(28)
urls = 200_000
weights = [1.0 / math.pow(i + 1, 0.9) for i in range(urls)]
total = sum(weights)
cumulative, running = [], 0.0
for w in weights:
    running += w / total
    cumulative.append(running)
sizes = [max(64, min(16 << 20, int(rng.lognormvariate(math.log(16384), 1.2)))) for _ in range(urls)]
start = datetime(2026, 12, 1, tzinfo=timezone.utc)
out = sys.stdout
once = 0
for n in range(lines):
    at = (start + timedelta(milliseconds=n // 2)).strftime("%d/%b/%Y:%H:%M:%S +0000")
    method, status = "GET", 200
    if rng.random() < 0.25:
        path, size = f"/once/{once}", max(64, int(rng.lognormvariate(math.log(16384), 1.2)))
        once += 1
    else:
        rank = min(bisect.bisect_left(cumulative, rng.random()), urls - 1)
        path, size = f"/item/{rank}?v=1", sizes[rank]
    if rng.random() < 0.02:
        method = "POST"
    if rng.random() < 0.005:
        status, size = 503, 0
    seconds = 0.02 + rng.random() * 0.18
    out.write(f'10.0.{n % 250}.{n % 199} - - [{at}] "{method} {path} HTTP/1.1" {status} {size} "-" "Mozilla/5.0 (X11; Linux x86_64)" {seconds:.3f}\n')
