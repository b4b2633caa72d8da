-- GCRA for package ratelimit: the computation of gcra.go (take), run
-- atomically in Redis on the server's clock, so that every gateway instance
-- shares one limit whatever its own clock says.
--
-- KEYS[1]  the key's state: "<seconds>:<nanoseconds>" of its TAT (the time
--          its bucket is full again), expiring at that moment
-- ARGV[1]  tau: nanoseconds to fill an empty bucket
-- ARGV[2]  cost: nanoseconds of this request (tokens x interval)
-- ARGV[3]  extra: nanoseconds of a local share to take as well, only if
--          the bucket holds the request and the share together (0: none)
-- ARGV[4]  giveback: nanoseconds of an unused local share returned to the
--          bucket before the decision (0: none); never refused
--
-- Returns {allowed (1 or 0), diff (ns from now to the TAT after the
-- decision), wait (ns until the request would pass; 0 when allowed),
-- granted (1 when the extra share was taken)}.
--
-- Lua numbers are doubles: exact for integers below 2^53 ns (104 days).
-- Absolute times in ns (~1.8e18) are not, so times are kept as seconds and
-- nanoseconds and only differences (at most 2*tau, 60 days) are formed.

if redis.replicate_commands then
  redis.replicate_commands() -- Redis < 5: replicate effects, TIME is not deterministic
end

local tau = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local extra = tonumber(ARGV[3])
local t = redis.call('TIME')
local now_s = tonumber(t[1])
local now_ns = tonumber(t[2]) * 1000

local diff = 0
local state = redis.call('GET', KEYS[1])
if state then
  local s, ns = string.match(state, '^(%d+):(%d+)$')
  if s then
    diff = (tonumber(s) - now_s) * 1e9 + (tonumber(ns) - now_ns)
    if diff < 0 then diff = 0 end
    if diff > tau then diff = tau end -- clock stepped back or policy shrank
  end
end

local changed = false
local giveback = tonumber(ARGV[4])
if giveback > 0 and diff > 0 then
  diff = math.max(diff - giveback, 0)
  changed = true
end

local granted = 0
if extra > 0 and diff + cost + extra - tau <= 0 then
  cost = cost + extra
  granted = 1
end

local allowed = 0
local wait = diff + cost - tau
if wait <= 0 then
  allowed = 1
  wait = 0
  diff = diff + cost
  changed = true
end

if changed then
  if diff <= 0 then
    redis.call('DEL', KEYS[1]) -- a full bucket is no state
  else
    local total = now_ns + diff
    local carry = math.floor(total / 1e9)
    local ttl_ms = math.ceil(diff / 1e6)
    redis.call('SET', KEYS[1], string.format('%d:%d', now_s + carry, total - carry * 1e9), 'PX', ttl_ms)
  end
end
return {allowed, diff, wait, granted}
