#!/usr/bin/env bash
# Image variants (issue #30), in one run on this machine: the gateway's own variant making (ImageTransformer, libvips
# through NetVips.Native 8.18) against Debian's vipsthumbnail (libvips-tools) on the same 2 MP JPEG, 800 px wide, as
# WebP and AVIF at quality 75, effort 3 and 2, metadata stripped: the median time of ROUNDS (default 9), the bytes made, and
# the memory — the process's resident set growth for the gateway's (a .NET process), vipsthumbnail's whole peak RSS.
#   tests/load/images.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
work="$here/.work/images"; mkdir -p "$work"
command -v vipsthumbnail >/dev/null || { echo "vipsthumbnail is missing: apt-get install libvips-tools" >&2; exit 1; }
rounds="${ROUNDS:-9}"
dotnet build "$root/tests/CacheProxy.Benchmarks" -c Release -v q -nologo >"$work/build.log" 2>&1
timeout 600 dotnet "$root/tests/CacheProxy.Benchmarks/bin/Release/net10.0/CacheProxy.Benchmarks.dll" images "$work" "$rounds" | tee "$work/ours.txt"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for format in webp avif; do
  case $format in
    webp) options="[Q=75,effort=3,strip]" ;;
    avif) options="[Q=75,compression=av1,effort=2,strip]" ;;
  esac
  : >"$work/vips-$format.txt"
  for _ in $(seq 1 "$rounds"); do
    /usr/bin/time -f "%e %M" -o "$work/time.txt" timeout 120 vipsthumbnail "$work/source.jpg" -s 800x -o "$work/out.$format$options" --export-profile srgb
    awk '{printf "%.1f %d\n", $1 * 1000, $2}' "$work/time.txt" >>"$work/vips-$format.txt"
  done
  echo "vipsthumbnail $format $(awk '{print $1}' "$work/vips-$format.txt" | median) ms $(stat -c %s "$work/out.$format") bytes peak-rss $(( $(awk '{print $2}' "$work/vips-$format.txt" | median) / 1024 )) MiB"
done
