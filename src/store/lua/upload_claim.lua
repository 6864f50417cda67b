-- Marks an upload request as being cleaned up: from now on it cannot be
-- completed, so its object can be deleted safely.
-- KEYS[1] upload_slots:{user}  KEYS[2] upload_request:{user}:{key}  KEYS[3] upload_requests
-- ARGV[1] object key
-- Returns {'claimed', slot JSON}, or {'gone', ''} when the request
-- no longer exists (completed or dropped meanwhile; its index entry is removed).
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], KEYS[2])
  return {'gone', ''}
end
local slot = cjson.decode(raw)
slot.claimed = true
raw = cjson.encode(slot)
redis.call('HSET', KEYS[1], ARGV[1], raw)
return {'claimed', raw}
