-- Changes an existing account and drops its cache entry, all or nothing.
-- KEYS[1] account:{id}   KEYS[2] user:{id}
-- ARGV[1] now (RFC 3339)   ARGV[2] '1' to end every session (bump session_epoch)
-- ARGV[3] the updated_at the caller read ('' = write whatever changed since)
-- ARGV[4] n, then n field/value pairs to set, then the fields to remove.
-- Returns 1 when written, 0 when the account does not exist, -1 when it
-- changed since the caller read it.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' and (redis.call('HGET', KEYS[1], 'updated_at') or '') ~= ARGV[3] then return -1 end
local n = tonumber(ARGV[4])
local set = {'updated_at', ARGV[1]}
for i = 5, 4 + n * 2 do set[#set + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(set))
for i = 5 + n * 2, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
if ARGV[2] == '1' then redis.call('HINCRBY', KEYS[1], 'session_epoch', 1) end
redis.call('DEL', KEYS[2])
return 1
