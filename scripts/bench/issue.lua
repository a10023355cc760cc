-- wrk script: issue tickets for alice; every response's payload is appended to
-- $OUT_DIR/payloads-<thread>.txt for redeem.lua.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  out = io.open(os.getenv("OUT_DIR") .. "/payloads-" .. id .. ".txt", "w")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("RP_KEY")
  wrk.body = '{"username":"alice","entitlement":"lunch","ttl_seconds":86400}'
end

function response(status, headers, body)
  if status == 201 then
    local p = body:match('"payload":"([^"]+)"')
    if p then out:write(p, "\n") end
  end
end
