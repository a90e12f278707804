-- GET one path (HF_PATH) as many signed-in users in turn: one session cookie a line of the
-- file HF_COOKIES, each request the next user's.
local path = os.getenv("HF_PATH")
local cookies = {}
local n = 0
init = function(args)
  for line in io.lines(os.getenv("HF_COOKIES")) do cookies[#cookies + 1] = line end
  n = math.random(0, #cookies - 1)
end
request = function()
  n = n + 1
  return wrk.format("GET", path, { ["Cookie"] = cookies[(n % #cookies) + 1], ["Accept-Encoding"] = "gzip, br" })
end
dofile(os.getenv("HF_WRK_DIR") .. "/p95.lua")
