-- Notes the S3 multipart upload an open request streams into, so the
-- cleanup can abort it if the request is abandoned.
-- KEYS[1] upload_slots:{user}  ARGV[1] object key  ARGV[2] multipart id
-- Returns 1 when noted, 0 when the request is gone or being cleaned up.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local slot = cjson.decode(raw)
if slot.claimed then return 0 end
slot.multipart_id = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(slot))
return 1
