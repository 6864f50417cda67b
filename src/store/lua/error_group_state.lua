-- Sets an error group's state, if the group still exists, and keeps it
-- (and the list of groups) another TTL from now.
-- KEYS[1] error:group:{service}:{group}   KEYS[2] error:groups:{service}
-- ARGV[1] state   ARGV[2] now (ms)   ARGV[3] ttl (s)
-- Returns 1 when changed, 0 when the group is unknown.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'state_at', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return 1
