-- Counts one wrong guess against the live code and against the day's total
-- for this purpose and email (which a fresh code does not reset); the last
-- allowed guess of either kind kills the code.
-- KEYS[1] verification_guard   KEYS[2] verification of the live code
-- KEYS[3] verification_failures   KEYS[4] the guessing client's counter for
-- this address   KEYS[5] the client's counter across addresses
-- ARGV[1] code the caller saw in the guard   ARGV[2] max attempts per code
-- ARGV[3] max wrong guesses per day   ARGV[4] that counter's ttl
-- ARGV[5] the client counter's window
-- Returns {status, n}: wrong/attempts left, exhausted, expired, retry.
local current = redis.call('HGET', KEYS[1], 'code')
if not current then return {'expired', 0} end
if current ~= ARGV[1] then return {'retry', 0} end
local max = tonumber(ARGV[2])
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if attempts >= max then return {'exhausted', 0} end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local failures = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]), 'NX')
for _, key in ipairs({KEYS[4], KEYS[5]}) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, tonumber(ARGV[5]), 'NX')
end
if attempts >= max or failures >= tonumber(ARGV[3]) then
  -- the code stops working for typed guesses; its verification (and a
  -- reset's link token) stays, so the emailed link still works
  redis.call('HSET', KEYS[1], 'attempts', max)
  return {'exhausted', 0}
end
return {'wrong', max - attempts}
