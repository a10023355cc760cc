-- wrk script: POST the NDJSON batch in $BODY_FILE to /api/v1/ingest with the source key
-- in $SOURCE_KEY; counts non-200 answers.
local errors = 0

function init(args)
  local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/x-ndjson"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("SOURCE_KEY")
end

function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    if errors < 4 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
  end
end
