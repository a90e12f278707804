-- GET a search URL (HF_PATH: /api/v1/search or /search/suggest) with a rotating set of queries
-- (words of `holdfast dev seed` data: names, companies, cities, note words, typos, prefixes).
-- Authenticates with HF_TOKEN (bearer) or HF_COOKIE (a session cookie for the HTML routes).
local path = os.getenv("HF_PATH") or "/api/v1/search"
local token = os.getenv("HF_TOKEN")
local cookie = os.getenv("HF_COOKIE")
local queries = { "andersen", "ada", "lov", "zoe", "chloe costa", "northwind", "granite logistics", "lisbon",
  "renewal", "proposal", "bakr", "andersn", "ben ba", "tomas", "key account", "malmo" }
local n = 0
request = function()
  n = n + 1
  local q = queries[(n % #queries) + 1]:gsub(" ", "+")
  local headers = {}
  if token then headers["Authorization"] = "Bearer " .. token end
  if cookie then headers["Cookie"] = cookie end
  return wrk.format("GET", path .. "?q=" .. q, headers)
end
dofile(os.getenv("HF_WRK_DIR") .. "/p95.lua")
