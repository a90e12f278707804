-- POST /api/v1/contacts at a steady pace (HF_DELAY_MS between a connection's requests), each
-- tagged "paced", counting the creates the server acknowledged (201) for the RPO benchmark.
local token = os.getenv("HF_TOKEN")
local pause = tonumber(os.getenv("HF_DELAY_MS") or "10")
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"first_name":"Paced","last_name":"Write %d %d","tags":["paced"]}', n, math.random(1, 1000000000))
  return wrk.format("POST", "/api/v1/contacts", { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end
delay = function()
  return pause
end
done = function(summary, latency, requests)
  io.write(string.format("acknowledged %d  non-2xx %d  errors %d\n", summary.requests - summary.errors.status,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
