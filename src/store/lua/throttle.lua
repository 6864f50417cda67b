-- Counts one attempt on every key, unless any key is already at its limit:
-- then nothing is counted, so a refused client cannot push a lockout further
-- out, and each lockout ends when the window that began with its first
-- counted attempt does.
-- KEYS: the counters.   ARGV: for each key, its limit then its window (s).
-- Returns 0 when counted, else the seconds until the longest lockout ends.
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i * 2 - 1]) then
    wait = math.max(wait, redis.call('TTL', key), 1)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[i * 2], 'NX')
end
return 0
