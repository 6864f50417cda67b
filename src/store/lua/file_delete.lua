-- Forgets a completed file if it belongs to the user.
-- KEYS[1] file:{key}  KEYS[2] files:user:{user}  KEYS[3] files:usage:{user}
-- ARGV[1] object key  ARGV[2] user id
-- Returns {'deleted', size} or {'missing', 0}.
if redis.call('HGET', KEYS[1], 'user_id') ~= ARGV[2] then return {'missing', 0} end
local size = tonumber(redis.call('HGET', KEYS[1], 'size') or '0')
redis.call('DEL', KEYS[1])
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  local left = redis.call('DECRBY', KEYS[3], size)
  if left <= 0 then redis.call('DEL', KEYS[3]) end
end
return {'deleted', size}
