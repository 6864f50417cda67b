-- Sets an account's profile picture URL and drops its cache entry; answers
-- the URL it replaced, so the caller deletes exactly that picture.
-- KEYS[1] account:{id}  KEYS[2] user:{id}   ARGV[1] new URL  ARGV[2] now (RFC 3339)
-- Returns {'swapped', old URL or ''} or {'gone', ''}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone', ''} end
local old = redis.call('HGET', KEYS[1], 'profile_picture_url') or ''
redis.call('HSET', KEYS[1], 'profile_picture_url', ARGV[1], 'updated_at', ARGV[2])
redis.call('DEL', KEYS[2])
return {'swapped', old}
