# Shared by the load scripts (source it): the machine checks, free loopback ports, and starting (and always
# stopping) the ceiling app, redis-server and sample gateways, all bound to 127.0.0.1.
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$here/.work"; mkdir -p "$work"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

build() {
  dotnet build "$here/Ceiling" -c Release -v q -nologo >"$work/build.log" 2>&1
  dotnet build "$root/samples/CacheProxy.Gateway" -c Release -v q -nologo >>"$work/build.log" 2>&1
}
start_redis() { # port
  command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install redis-server" >&2; exit 1; }
  redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
  pids+=($!)
}
start_ceiling() { # port; sets ceiling_pid
  ASPNETCORE_URLS="http://127.0.0.1:$1" dotnet "$here/Ceiling/bin/Release/net10.0/Ceiling.dll" >"$work/ceiling.log" 2>&1 &
  pids+=($!); ceiling_pid=$!
}
start_gateway() { # public-port management-port ceiling-port [NAME=value...]; sets gateway_pid
  local public=$1 management=$2 origin=$3; shift 3
  env ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning CacheProxy__Shutdown__DrainDelay=0 "$@" \
    Kestrel__Endpoints__Public__Url="http://127.0.0.1:$public" Kestrel__Endpoints__Management__Url="http://127.0.0.1:$management" \
    ReverseProxy__Clusters__origin__Destinations__primary__Address="http://127.0.0.1:$origin/" \
    dotnet "$root/samples/CacheProxy.Gateway/bin/Release/net10.0/CacheProxy.Gateway.dll" >"$work/gateway-$public.log" 2>&1 &
  pids+=($!); gateway_pid=$!
}
rss_mib() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$1/status"; } # pid -> resident set (working set), MiB
# pid file: samples the resident set every 0.5 s into file until killed (bounded by the script's own lifetime)
sample_rss() { while kill -0 "$1" 2>/dev/null; do rss_mib "$1" >>"$2"; sleep 0.5; done; }
# round command...: the measure commands' outputs on one line, in the order given. On odd rounds they run in that
# order, on even rounds in reverse, so that the machine's slow phases (tens of seconds on this kind of VM) mostly hit
# every run of a round alike.
in_turn() {
  local round=$1 i; shift
  local -a out=()
  if (( round % 2 )); then
    for (( i = 1; i <= $#; i++ )); do out[i]=$(eval "${!i}"); done
  else
    for (( i = $#; i >= 1; i-- )); do out[i]=$(eval "${!i}"); done
  fi
  echo "${out[*]}"
}
p99_ms() { # wrk --latency output on stdin -> the 99th percentile in ms
  awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'
}
# pid...: servers on CPU 0 and wrk (client_cpu) on CPU 1 when the machine has two; PIN=0 leaves them.
pin_servers() {
  client_cpu=""
  if (( $(nproc) >= 2 )) && [[ "${PIN:-1}" != 0 ]]; then
    client_cpu="taskset -c 1"
    local p
    for p in "$@"; do taskset -apc 0 "$p" >/dev/null; done
  fi
}
# url [wrk args...] -> "rps p99ms", with $duration, $connections and pin_servers' CPU
measure_wrk() {
  local out url=$1; shift
  out=$(timeout $((duration + 30)) $client_cpu wrk -t2 -c"$connections" -d"${duration}s" --latency "$@" "$url")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(p99_ms <<<"$out")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; } # numbers on stdin -> their median
