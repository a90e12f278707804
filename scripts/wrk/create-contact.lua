-- POST /api/v1/contacts with a bearer token (HF_TOKEN) and a fresh contact each time.
local token = os.getenv("HF_TOKEN")
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"first_name":"Load","last_name":"Tester %d","emails":[{"address":"load%d.%d@bench.example","kind":"work"}],"tags":["bench"]}', n, n, math.random(1, 1000000000))
  return wrk.format("POST", "/api/v1/contacts", { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end
dofile(os.getenv("HF_WRK_DIR") .. "/p95.lua")
