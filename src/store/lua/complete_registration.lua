-- Spends a registration code and creates the account, claiming the indexes
-- of the identifiers the registration proved, all or nothing. An email
-- delivery (or the emailed link) proves the address; an SMS code proves only
-- the phone, so the email index is neither checked nor claimed: the address
-- stays unverified until its owner confirms it.
-- KEYS[1] verification_guard  KEYS[2] verification  KEYS[3] registration
-- KEYS[4] user_candidate  KEYS[5] account:email:…  KEYS[6] account:username:…
-- KEYS[7] account:{user_id}
-- ARGV[1] the code   ARGV[2] username the caller read from the candidate
-- ARGV[3] new user id   ARGV[4] now (RFC 3339)   ARGV[5] max attempts
-- ARGV[6] the attempt the caller owns ('' = not bound to one)
-- ARGV[7] 'link' or 'code': how the caller proved it
-- Returns {status, email_proven}: created, taken, exhausted, expired,
-- other_attempt, retry.
local current = redis.call('HGET', KEYS[1], 'code')
if not current then return {'expired', 0} end
if current ~= ARGV[1] then return {'retry', 0} end
-- wrong guesses at the code (maybe a stranger's) do not stop the link
if ARGV[7] ~= 'link' and tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') >= tonumber(ARGV[5]) then
  return {'exhausted', 0}
end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'expired', 0} end
local reg = redis.call('HMGET', KEYS[3], 'name', 'email', 'phone', 'password', 'preferences', 'address', 'attempt')
if not reg[1] or not reg[4] then return {'expired', 0} end
if ARGV[6] ~= '' and reg[7] ~= ARGV[6] then return {'other_attempt', 0} end
local cand = redis.call('HMGET', KEYS[4], 'username', 'role')
if cand[1] ~= ARGV[2] then return {'retry', 0} end
local method = redis.call('HGET', KEYS[1], 'delivery_method') or 'email'
local email_proven = method ~= 'sms' or ARGV[7] == 'link'

-- the code is spent whatever happens next
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
if redis.call('EXISTS', KEYS[6]) == 1 or (email_proven and redis.call('EXISTS', KEYS[5]) == 1) then
  return {'taken', 0}
end
if email_proven then redis.call('SET', KEYS[5], ARGV[3]) end
redis.call('SET', KEYS[6], ARGV[3])
redis.call('HSET', KEYS[7],
  'id', ARGV[3], 'email', reg[2], 'username', ARGV[2], 'name', reg[1],
  'role', cand[2] or 'consumer', 'password_hash', reg[4], 'session_epoch', 0,
  'email_verified', email_proven and '1' or '0',
  'created_at', ARGV[4], 'updated_at', ARGV[4])
local optional = {phone = reg[3], preferences = reg[5], address = reg[6]}
for field, value in pairs(optional) do
  if value and value ~= '' then redis.call('HSET', KEYS[7], field, value) end
end
return {'created', email_proven and 1 or 0}
