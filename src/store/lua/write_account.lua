-- Changes an existing account and drops its cache entry, all or nothing.
-- KEYS[1] account:{id}   KEYS[2] user:{id}
-- ARGV[1] now (RFC 3339)   ARGV[2] '1' to end every session (bump session_epoch)
-- ARGV[3] n, then n field/value pairs to set, then the fields to remove.
-- Returns 1 when written, 0 when the account does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[3])
local set = {'updated_at', ARGV[1]}
for i = 4, 3 + n * 2 do set[#set + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(set))
for i = 4 + n * 2, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
if ARGV[2] == '1' then redis.call('HINCRBY', KEYS[1], 'session_epoch', 1) end
redis.call('DEL', KEYS[2])
return 1
