-- wrk script for benches/martin.sh: requests a fixed list of tiles, each wrk
-- thread taking every n-th tile of the list.
--
-- Environment:
--   TILE_LIST      file with one `z/x/y` per line
--   TILE_PREFIX    path before `z/x/y` (`/tiles/crop,aquaculture/` or `/crop,aquaculture/`)
--   TILE_SUFFIX    text after `z/x/y` (`.mvt` for agrimap, empty for Martin)
--   TILE_THREADS   the `-t` given to wrk
--   TILE_ENCODING  the Accept-Encoding sent (gzip)
--   TILE_MODE      `loop`: cycle through the list until wrk's duration ends;
--                  `pass`: every tile exactly once. A connection whose thread
--                  has sent its whole share waits instead of sending more; a
--                  thread stops when its share is answered and touches
--                  `$TILE_DONE_DIR/thread-N`. wrk itself only ends after `-d`
--                  or on SIGINT (martin.sh sends it once every thread is done),
--                  so the pass measures its own time, from the first request
--                  sent to the last answer received, on the monotonic clock.
--
-- `done` prints one line starting with RESULT that martin.sh parses. In pass
-- mode it also counts answers by status and the bytes of their bodies.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } tile_list_timespec;
int clock_gettime(int clk_id, tile_list_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local ts = ffi.new("tile_list_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local list_file = assert(os.getenv("TILE_LIST"), "TILE_LIST is not set")
local prefix = assert(os.getenv("TILE_PREFIX"), "TILE_PREFIX is not set")
local suffix = os.getenv("TILE_SUFFIX") or ""
local nthreads = tonumber(os.getenv("TILE_THREADS") or "1")
local mode = os.getenv("TILE_MODE") or "loop"
local done_dir = os.getenv("TILE_DONE_DIR")
local encoding = os.getenv("TILE_ENCODING") or "gzip"

local paths = {}
for line in io.lines(list_file) do
  if line ~= "" then
    paths[#paths + 1] = prefix .. line .. suffix
  end
end

-- Main state: the threads, to read their counters in `done`.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

-- Thread state. Globals, so that `done` can read them with thread:get.
share = 0
started, finished = 0, 0
sent, answered = 0, 0
ok, empty, other, gzipped, body_bytes = 0, 0, 0, 0, 0

local requests = {}
local i = 1

function init(args)
  for k = id + 1, #paths, nthreads do
    requests[#requests + 1] = wrk.format("GET", paths[k], { ["Accept-Encoding"] = encoding })
  end
  share = #requests
end

function request()
  local r = requests[i]
  i = i % #requests + 1
  return r
end

if mode == "pass" then
  -- Called before each request of a connection: hold the connection once
  -- the whole share has been sent.
  function delay()
    if sent >= share then
      return 3600 * 1000
    end
    sent = sent + 1
    if started == 0 then
      started = now()
    end
    return 0
  end

  function response(status, headers, body)
    answered = answered + 1
    if status == 200 then
      ok = ok + 1
      body_bytes = body_bytes + #body
      local enc = headers["Content-Encoding"] or headers["content-encoding"]
      if enc == "gzip" then
        gzipped = gzipped + 1
      end
    elseif status == 204 then
      empty = empty + 1
    else
      other = other + 1
    end
    if answered >= share then
      finished = now()
      if done_dir then
        local f = io.open(done_dir .. "/thread-" .. id, "w")
        if f then
          f:close()
        end
      end
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, _)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local extra = ""
  if mode == "pass" then
    local first, last = math.huge, 0
    local n = { ok = 0, empty = 0, other = 0, gzipped = 0, body_bytes = 0, answered = 0, share = 0 }
    for _, t in ipairs(threads) do
      local s, f = t:get("started"), t:get("finished")
      if s > 0 and s < first then
        first = s
      end
      if f > last then
        last = f
      end
      for k, _ in pairs(n) do
        n[k] = n[k] + t:get(k)
      end
    end
    local complete = n.answered >= n.share and last > 0
    if complete then
      secs = last - first
    end
    extra = string.format(
      " pass_complete=%s tiles=%d answered=%d status_200=%d status_204=%d status_other=%d gzip=%d body_mb=%.3f",
      tostring(complete), n.share, n.answered, n.ok, n.empty, n.other, n.gzipped, n.body_bytes / 1e6)
  end
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
      "errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d%s\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect, e.read, e.write, e.status, e.timeout, extra))
end
