-- Releases a job's lease only if this holder still has it.
-- KEYS[1] lock:job:{name}  ARGV[1] the holder's token
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
