-- wrk script: GET /1k?tag=TAG&k=N for N = 0 .. KEYS-1, each thread taking every THREADS-th N, so a run of wrk
-- fills KEYS distinct entries, then goes round again (hits). Going round matters: wrk takes one request from a
-- thread before it starts sending, so the first pass misses a key.
local keys = tonumber(os.getenv("KEYS") or "100000")
local tag = os.getenv("TAG") or "bulk"
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
  thread:set("threads_total", 0)
end

function init(args)
  n = id
  step = tonumber(os.getenv("THREADS") or "2")
end

request = function()
  local k = n
  n = n + step
  if n >= keys then n = id end
  return wrk.format("GET", "/1k?tag=" .. tag .. "&k=" .. k)
end
