-- Creates a payment exactly once per idempotency key, all or nothing.
-- KEYS[1] idempotency:{user}:{key}  KEYS[2] payment:{id}  KEYS[3] payments:user:{payer}
-- KEYS[4..] payments:received:{beneficiary}
-- ARGV[1] fingerprint of the request  ARGV[2] payment id  ARGV[3] payment JSON
-- ARGV[4] created (µs, so payments a moment apart keep their order)  ARGV[5] idempotency TTL (s)
-- Returns {'created', id}, {'replay', the first payment's id} or
-- {'reused', ''} when the key came with other parameters.
local saved = redis.call('GET', KEYS[1])
if saved then
  local first = cjson.decode(saved)
  if first.fingerprint ~= ARGV[1] then return {'reused', ''} end
  return {'replay', first.payment_id}
end
redis.call('SET', KEYS[1], cjson.encode({fingerprint = ARGV[1], payment_id = ARGV[2], status = 201}), 'EX', ARGV[5])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
for i = 4, #KEYS do redis.call('ZADD', KEYS[i], ARGV[4], ARGV[2]) end
return {'created', ARGV[2]}
