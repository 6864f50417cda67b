-- Extends a job's lease, only for the holder that has it.
-- KEYS[1] lock:job:{name}; ARGV[1] holder; ARGV[2] lease in ms.
-- Returns 1 when extended, 0 when the lease is someone else's or gone.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
