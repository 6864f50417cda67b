-- Forgets an upload request: slot, request and index entry.
-- KEYS[1] upload_slots:{user}  KEYS[2] upload_request:{user}:{key}  KEYS[3] upload_requests
-- ARGV[1] object key
-- Returns {'dropped', 0} or {'gone', 0}.
local existed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], KEYS[2])
if existed == 1 then return {'dropped', 0} end
return {'gone', 0}
