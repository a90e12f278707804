-- GET a rotating list of paths (one per line of the file HF_PATHS) with a session cookie
-- (HF_COOKIE). Run with two threads: the second starts half way down the list, so no path is
-- asked for again until the whole list has been gone through.
local cookie = os.getenv("HF_COOKIE")
local threads = 0
setup = function(thread)
  thread:set("first", threads)
  threads = threads + 1
end
local paths = {}
local n = 0
init = function(args)
  for line in io.lines(os.getenv("HF_PATHS")) do paths[#paths + 1] = line end
  n = first * math.floor(#paths / 2)
end
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1], { ["Cookie"] = cookie, ["Accept-Encoding"] = "gzip, br" })
end
dofile(os.getenv("HF_WRK_DIR") .. "/p95.lua")
