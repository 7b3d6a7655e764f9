-- wrk script: GET /1k?k=N for a random N in [0, KEYS), so the working set can exceed the memory tier.
-- Each thread seeds its own generator: with one shared seed the threads would ask for the same keys in step and
-- turn each other's misses into hits.
-- KEYS=unique: N is never repeated in a run (each thread its own series), so every request is a miss that fills a
-- new entry and the memory tier keeps evicting.
local keys = os.getenv("KEYS") or "5000"
local path = os.getenv("KEYS_PATH") or "/1k" -- the ceiling's object the keys are query strings of
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_id * 7919)
  n = 0
  prefix = tostring(os.time()) .. "-" .. thread_id .. "-"
end

request = function()
  if keys == "unique" then
    n = n + 1
    return wrk.format("GET", path .. "?k=" .. prefix .. n)
  end
  return wrk.format("GET", path .. "?k=" .. math.random(0, tonumber(keys) - 1))
end
