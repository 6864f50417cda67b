-- Counts one wrong guess against the live code; the last allowed guess kills it.
-- KEYS[1] verification_guard   KEYS[2] verification of the live code
-- ARGV[1] code the caller saw in the guard   ARGV[2] max attempts
-- Returns {status, n}: wrong/attempts left, exhausted, expired, retry.
local current = redis.call('HGET', KEYS[1], 'code')
if not current then return {'expired', 0} end
if current ~= ARGV[1] then return {'retry', 0} end
local max = tonumber(ARGV[2])
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if attempts >= max then return {'exhausted', 0} end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts >= max then
  redis.call('DEL', KEYS[2])
  return {'exhausted', 0}
end
return {'wrong', max - attempts}
