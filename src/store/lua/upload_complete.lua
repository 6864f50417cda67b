-- Records a completed upload and deletes its request, all or nothing.
-- KEYS[1] upload_slots:{user}  KEYS[2] upload_request:{user}:{key}
-- KEYS[3] upload_requests      KEYS[4] files:usage:{user}
-- KEYS[5] file:{key}           KEYS[6] files:user:{user}
-- ARGV[1] object key  ARGV[2] created (ms)  ARGV[3] user id
-- ARGV[4] '1' to list it among the user's files  ARGV[5] its size (bytes)
-- ARGV[6] requests started before this (ms) are abandoned  ARGV[7..] file field/value pairs
-- Returns {'completed', size}, {'done', 0} when it already was (by this
-- user), {'missing', 0}, or {'expired', 0} when abandoned or claimed by the cleanup.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  if redis.call('HGET', KEYS[5], 'user_id') == ARGV[3] then return {'done', 0} end
  return {'missing', 0}
end
local slot = cjson.decode(raw)
if slot.claimed or tonumber(slot.started_ms) < tonumber(ARGV[6]) then return {'expired', 0} end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], KEYS[2])
redis.call('HSET', KEYS[5], unpack(ARGV, 7))
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[6], ARGV[2], ARGV[1])
  redis.call('INCRBY', KEYS[4], ARGV[5])
end
return {'completed', tonumber(ARGV[5])}
