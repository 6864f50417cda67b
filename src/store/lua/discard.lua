-- Removes the pending keys of one code after its delivery failed. The guard
-- and the candidate go only if they still belong to this code: a newer code
-- issued meanwhile (another request) stays live.
-- KEYS[1] verification_guard   KEYS[2] verification   KEYS[3] registration
-- KEYS[4] user_candidate (or a key that does not exist)   ARGV[1] the code
if redis.call('HGET', KEYS[1], 'code') == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[4])
end
redis.call('DEL', KEYS[2], KEYS[3])
return 0
