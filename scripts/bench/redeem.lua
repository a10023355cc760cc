-- wrk script: redeem ticket payloads written by issue.lua, each once; counts statuses
-- (200 redeemed, 409 already redeemed). Run it for less time than the supply lasts:
-- wrk always runs its full duration, so a thread that runs out dilutes Requests/sec,
-- and the summary then says so.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  payloads = {}
  local dir = os.getenv("OUT_DIR")
  local n = tonumber(os.getenv("THREADS"))
  -- Thread i takes every file whose index is i modulo the thread count.
  for f = 0, n - 1 do
    if f % n == id then
      for line in io.lines(dir .. "/payloads-" .. f .. ".txt") do payloads[#payloads + 1] = line end
    end
  end
  i = 0
  ok, already, other, ran_out = 0, 0, 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("VERIFIER_KEY")
end

function request()
  i = i + 1
  if i > #payloads then
    ran_out = 1
    wrk.thread:stop()
    i = #payloads
  end
  return wrk.format(nil, "/api/v1/tickets/redeem", nil, '{"payload":"' .. payloads[i] .. '"}')
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 elseif status == 409 then already = already + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local o, a, x, r = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); a = a + t:get("already"); x = x + t:get("other"); r = r + t:get("ran_out")
  end
  io.write(string.format("redeemed %d, already_redeemed %d, other %d\n", o, a, x))
  if r > 0 then io.write("WARNING: payloads ran out before the end; Requests/sec is diluted (issue longer)\n") end
end
