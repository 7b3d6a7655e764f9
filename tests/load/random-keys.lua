-- wrk script: GET /1k?k=N for a random N in [0, KEYS), so the working set can exceed the memory tier.
-- Each thread seeds its own generator: with one shared seed the threads would ask for the same keys in step and
-- turn each other's misses into hits.
local keys = tonumber(os.getenv("KEYS") or "5000")
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_id * 7919)
end

request = function()
  return wrk.format("GET", "/1k?k=" .. math.random(0, keys - 1))
end
