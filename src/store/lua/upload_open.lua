-- Opens an upload request if the user is within their limits, all or nothing.
-- KEYS[1] upload_slots:{user}  KEYS[2] upload_request:{user}:{key}
-- KEYS[3] upload_requests      KEYS[4] files:usage:{user}
-- ARGV[1] object key  ARGV[2] slot JSON  ARGV[3] size  ARGV[4] start (ms)
-- ARGV[5] start (RFC 3339)  ARGV[6] requests started before this (ms) are
-- abandoned and count for nothing  ARGV[7] max open  ARGV[8] quota (bytes)
-- ARGV[9] max files (completed and open)
-- KEYS[5] files:user:{user}
-- Returns {'opened', 0}, {'too_many', open}, {'too_many_files', n} or
-- {'quota', bytes in use}.
local open, reserved = 0, 0
for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
  local slot = cjson.decode(raw)
  if tonumber(slot.started_ms) >= tonumber(ARGV[6]) and not slot.claimed then
    open = open + 1
    reserved = reserved + tonumber(slot.size)
  end
end
if open >= tonumber(ARGV[7]) then return {'too_many', open} end
local files = redis.call('ZCARD', KEYS[5]) + open
if files >= tonumber(ARGV[9]) then return {'too_many_files', files} end
local used = tonumber(redis.call('GET', KEYS[4]) or '0') + reserved
if used + tonumber(ARGV[3]) > tonumber(ARGV[8]) then return {'quota', used} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], KEYS[2])
return {'opened', 0}
