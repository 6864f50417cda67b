-- Spends a password code (forgot_password or change_password) and sets the
-- new password hash, ending every session and dropping the cache entry.
-- KEYS[1] verification_guard   KEYS[2] verification   KEYS[3] account:{id}
-- KEYS[4] user:{id}
-- ARGV[1] the code   ARGV[2] max attempts   ARGV[3] new hash   ARGV[4] now
-- ARGV[5] 'link' when proven by the emailed link: wrong guesses at the code
-- (maybe a stranger's) do not stop the mailbox's owner.
-- Returns {status, 0}: ok, exhausted, expired, retry.
local current = redis.call('HGET', KEYS[1], 'code')
if not current then return {'expired', 0} end
if current ~= ARGV[1] then return {'retry', 0} end
if ARGV[5] ~= 'link' and tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') >= tonumber(ARGV[2]) then
  return {'exhausted', 0}
end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'expired', 0} end
redis.call('DEL', KEYS[1], KEYS[2])
if redis.call('EXISTS', KEYS[3]) == 0 then return {'expired', 0} end
redis.call('HSET', KEYS[3], 'password_hash', ARGV[3], 'updated_at', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'session_epoch', 1)
redis.call('DEL', KEYS[4])
return {'ok', 0}
