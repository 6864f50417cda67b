-- Confirms an account's unverified email address with the emailed token:
-- claims the address's index if nobody holds it, marks it verified and
-- drops the cache entry. The token is spent either way.
-- KEYS[1] email_confirmation:{token}   KEYS[2] account:{id}
-- KEYS[3] account:email:{email}        KEYS[4] user:{id}
-- ARGV[1] the user id and ARGV[2] the email the caller read from the token
-- ARGV[3] now (RFC 3339)
-- Returns 'confirmed', 'taken' or 'expired'.
local t = redis.call('HMGET', KEYS[1], 'user_id', 'email')
if t[1] ~= ARGV[1] or t[2] ~= ARGV[2] then return 'expired' end
redis.call('DEL', KEYS[1])
local a = redis.call('HMGET', KEYS[2], 'email', 'email_verified')
if a[1] ~= ARGV[2] or a[2] ~= '0' then return 'expired' end
if redis.call('SET', KEYS[3], ARGV[1], 'NX') == false then return 'taken' end
redis.call('HSET', KEYS[2], 'email_verified', '1', 'updated_at', ARGV[3])
redis.call('DEL', KEYS[4])
return 'confirmed'
