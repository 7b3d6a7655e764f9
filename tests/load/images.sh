#!/usr/bin/env bash
# Image variants (issue #30), in one run on this machine, loopback only and bounded in time.
# 1. Making them: the gateway's own variant making (ImageTransformer, libvips through NetVips.Native 8.18) against
#    Debian's vipsthumbnail (libvips-tools) on the same 2 MP JPEG, 800 px wide, as WebP and AVIF at quality 75, effort 3
#    and 2, metadata stripped: the median time of ROUNDS (default 9), the bytes made, and the memory (the gateway's
#    resident set growth in a .NET process; vipsthumbnail's whole peak RSS).
# 2. Serving them: the sample gateway with an image route (/files/photo.jpg) in front of the ceiling app, which serves
#    the source and, as a plain object on another route, the stored WebP variant's own bytes: a hit of the variant
#    (Accept: image/webp, ?w=800) against a plain hit of the same bytes, each round back to back, in turn first.
#    Servers on CPU 0 and wrk on CPU 1 (PIN=0 leaves them).
#   tests/load/images.sh [seconds-per-run=4] [connections=64]
set -euo pipefail
duration="${1:-4}"
connections="${2:-64}"
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
command -v vipsthumbnail >/dev/null || { echo "vipsthumbnail is missing: apt-get install libvips-tools" >&2; exit 1; }
images="$work/images"; rm -rf "$images"; mkdir -p "$images/files"
rounds="${ROUNDS:-9}"
dotnet build "$root/tests/CacheProxy.Benchmarks" -c Release -v q -nologo >"$images/build.log" 2>&1
timeout 600 dotnet "$root/tests/CacheProxy.Benchmarks/bin/Release/net10.0/CacheProxy.Benchmarks.dll" images "$images" "$rounds" | tee "$images/ours.txt"
for format in webp avif; do
  case $format in
    webp) options="[Q=75,effort=3,strip]" ;;
    avif) options="[Q=75,compression=av1,effort=2,strip]" ;;
  esac
  : >"$images/vips-$format.txt"
  for _ in $(seq 1 "$rounds"); do
    /usr/bin/time -f "%e %M" -o "$images/time.txt" timeout 120 vipsthumbnail "$images/source.jpg" -s 800x -o "$images/out.$format$options" --export-profile srgb
    awk '{printf "%.1f %d\n", $1 * 1000, $2}' "$images/time.txt" >>"$images/vips-$format.txt"
  done
  echo "vipsthumbnail $format $(awk '{print $1}' "$images/vips-$format.txt" | median) ms $(stat -c %s "$images/out.$format") bytes peak-rss $(( $(awk '{print $2}' "$images/vips-$format.txt" | median) / 1024 )) MiB"
done

# 2. A stored variant's hit against a plain hit of the same bytes.
cp "$images/source.jpg" "$images/files/photo.jpg"
ceiling_port=$(free_port); public_port=$(free_port); mgmt_port=$(free_port)
build
CEILING_FILES="$images/files" start_ceiling "$ceiling_port"
start_gateway "$public_port" "$mgmt_port" "$ceiling_port" ReverseProxy__Routes__images__ClusterId=origin \
  ReverseProxy__Routes__images__Match__Path=/files/photo.jpg CacheProxy__Routes__images__Images__Enabled=true \
  CacheProxy__Routes__images__Images__Widths__0=800
for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$mgmt_port/health" >/dev/null 2>&1 && break; sleep 0.2; done
g="http://127.0.0.1:$public_port"
variant="$g/files/photo.jpg?w=800"
curl -fs -H 'Accept: image/webp' -o "$images/files/plain.webp" "$variant"
for _ in 1 2 3; do curl -fs -o /dev/null -H 'Accept: image/webp' "$variant"; curl -fs -o /dev/null "$g/files/plain.webp"; done
cmp -s <(curl -fs -H 'Accept: image/webp' "$variant") <(curl -fs "$g/files/plain.webp") || { echo "the variant hit and the plain object differ" >&2; exit 1; }
status=$(curl -fs -H 'Accept: image/webp' -D - -o /dev/null "$variant" | tr -d '\r' | grep -i '^cache-status:' || true)
case "$status" in *"; hit"*) ;; *) echo "the gateway is not serving the variant from cache: $status" >&2; exit 1 ;; esac
pin_servers "$ceiling_pid" "$gateway_pid"
f="$images/hits.txt"; : >"$f"
measure_wrk "$g/files/plain.webp" >/dev/null; measure_wrk "$variant" -H 'Accept: image/webp' >/dev/null # warm-up
for round in $(seq 1 "$rounds"); do in_turn "$round" 'measure_wrk "$g/files/plain.webp"' 'measure_wrk "$variant" -H "Accept: image/webp"' >>"$f"; done
col() { awk -v c="$1" '{print $c}' "$f" | median; }
echo "| comparison | plain hit req/s | plain p99 ms | variant hit req/s | variant p99 ms | median round ratio | rounds |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
printf '| WebP variant hit (%s bytes) / plain hit | %s | %s | %s | %s | %.2f | %s|\n' "$(stat -c %s "$images/files/plain.webp")" "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" \
  "$(awk '{printf "%.4f\n", $3/$1}' "$f" | median)" "$(awk '{printf "%.2f ", $3/$1}' "$f")"
