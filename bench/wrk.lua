-- wrk script for bench/workloads.ts: wrk -s bench/wrk.lua <url>/v3/kv/<route> -- <workload> <preloaded keys>
-- The same bodies as the autocannon driver: put (distinct keys, 256 B values), range and
-- range-serializable (over the preloaded keys), txn-cas (compare-and-swap on a preloaded key).
local digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {}
    for j = 3, 0, -1 do
      local d = math.floor(n / 64 ^ j) % 64
      q[#q + 1] = digits:sub(d + 1, d + 1)
    end
    if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

-- A counter as base64 digits: 8 of them are 6 bytes of key, distinct for every request.
local function counter(n)
  local s = {}
  for i = 8, 1, -1 do
    local d = n % 64
    s[i] = digits:sub(d + 1, d + 1)
    n = math.floor(n / 64)
  end
  return table.concat(s)
end

local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local workload, keys, nkeys, value, prefix
local n = 0
local rnd = 0

function init(args)
  workload = args[1] or "put"
  local count = tonumber(args[2] or "1000")
  nkeys = count
  value = b64(string.rep("v", 256))
  -- "bench/pu" plus a byte for this process and thread: 9 bytes, 12 base64 digits.
  prefix = b64("bench/pu" .. string.char((tonumber(args[3] or "0") * 16 + tid) % 256))
  keys = {}
  for i = 0, count - 1 do keys[i] = b64("bench/k/" .. i) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  if workload == "put" then
    return wrk.format(nil, nil, nil, '{"key":"' .. prefix .. counter(n) .. '","value":"' .. value .. '"}')
  end
  rnd = (rnd * 1103515245 + 12345 + n) % 2147483648
  local k = keys[rnd % nkeys]
  if workload == "range" then
    return wrk.format(nil, nil, nil, '{"key":"' .. k .. '"}')
  elseif workload == "range-serializable" then
    return wrk.format(nil, nil, nil, '{"key":"' .. k .. '","serializable":true}')
  else
    return wrk.format(nil, nil, nil, '{"compare":[{"key":"' .. k .. '","target":"VERSION","result":"GREATER","version":"0"}],"success":[{"request_put":{"key":"' .. k .. '","value":"' .. value .. '"}}]}')
  end
end
