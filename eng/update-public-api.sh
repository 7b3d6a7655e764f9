#!/usr/bin/env bash
# Adds every symbol the PublicApiAnalyzers report as undeclared (RS0016) to PublicAPI.Unshipped.txt of its
# project. Run after adding public API on purpose; review the diff of the .txt files.
set -euo pipefail
cd "$(dirname "$0")/.."
for proj in src/*/; do
  [ -f "$proj/PublicAPI.Unshipped.txt" ] || continue
  out=$(dotnet build "$proj" --no-incremental 2>&1 || true)
  dir=$(cd "$proj" && pwd)
  # Only diagnostics raised in this project's own files (building it also builds its dependencies).
  syms=$(grep -F "$dir/" <<<"$out" | grep -oP "RS0016: Symbol '\K.*?(?=' is not part of the declared)" | sort -u || true)
  [ -n "$syms" ] || continue
  file="$proj/PublicAPI.Unshipped.txt"
  { cat "$file"; echo "$syms"; } | sed '/^$/d' | { read -r first; echo "$first"; sort -u; } > "$file.tmp"
  mv "$file.tmp" "$file"
  echo "updated $file"
done
