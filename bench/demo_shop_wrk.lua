-- wrk script for the demo shop: round-robin over /p/bench-{i}, i < BENCH_PRODUCTS (default 2000).
-- wrk -t2 -c32 -d10s -s bench/demo_shop_wrk.lua http://127.0.0.1:PORT
local products = tonumber(os.getenv("BENCH_PRODUCTS") or "2000")
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/p/bench-" .. (counter % products))
end
