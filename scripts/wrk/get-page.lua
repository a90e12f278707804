-- GET one path (HF_PATH) with a signed-in session cookie (HF_COOKIE).
local cookie = os.getenv("HF_COOKIE")
local path = os.getenv("HF_PATH")
request = function()
  return wrk.format("GET", path, { ["Cookie"] = cookie, ["Accept-Encoding"] = "gzip, br" })
end
dofile(os.getenv("HF_WRK_DIR") .. "/p95.lua")
