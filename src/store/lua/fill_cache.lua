-- Fills the user cache unless the account changed since it was read (a write
-- between our read and this fill would otherwise be hidden by stale data).
-- KEYS[1] user:{id}   KEYS[2] account:{id}
-- ARGV[1] JSON   ARGV[2] ttl   ARGV[3] the account's updated_at when read
if (redis.call('HGET', KEYS[2], 'updated_at') or '') ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
