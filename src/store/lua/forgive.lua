-- Takes back counted attempts after a success: `clear` keys are deleted,
-- the others lose one attempt if they still exist (a DECR on an expired
-- counter would recreate it without a TTL).
-- KEYS: the counters   ARGV[1] how many of the first KEYS to clear
local clear = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if i <= clear then
    redis.call('DEL', key)
  elseif tonumber(redis.call('GET', key) or '0') > 0 then
    redis.call('DECR', key)
  end
end
return 0
