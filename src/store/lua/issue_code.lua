-- Issues a new verification code, killing the previous one, in one step.
-- KEYS[1] verification_guard   KEYS[2] old verification   KEYS[3] old registration
-- KEYS[4] new verification     KEYS[5] new registration   KEYS[6] user_candidate
-- ARGV[1] code the caller saw in the guard ('' = none)   ARGV[2] new code
-- ARGV[3] now (unix ms)   ARGV[4] resend cooldown (ms)   ARGV[5] max sends
-- ARGV[6] ttl   ARGV[7] candidate ttl   ARGV[8] 'start' | 'resend' | 'again'
--   ('again': send the live code once more if there is one, keeping it and
--   its link, so nobody can kill a code already in someone's mailbox)
-- ARGV[9] '1' when registration data belongs to the code (it must exist on resend)
-- ARGV[10] on resend, the attempt the caller owns ('' = not bound to one)
-- ARGV[11..] three field lists, each a count n then n field/value pairs:
--   verification, registration, candidate (the last two empty when not used)
-- Returns {status, n, replaced, phone}: ok/sends (replaced '1' when another
-- registration's live code died; phone of a resent registration),
-- again/sends (then the 3rd and 4th items are the live code and its link token),
-- cooldown/seconds to wait, too_many/seconds, expired, other_attempt, retry.
local current = redis.call('HGET', KEYS[1], 'code') or ''
if current ~= ARGV[1] then return {'retry', 0, '0', ''} end
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[6])
local sends = 0
if current ~= '' then
  sends = tonumber(redis.call('HGET', KEYS[1], 'sends') or '0')
  local wait = tonumber(redis.call('HGET', KEYS[1], 'sent_at') or '0') + tonumber(ARGV[4]) - now
  if wait > 0 then return {'cooldown', math.ceil(wait / 1000), '0', ''} end
  if sends >= tonumber(ARGV[5]) then
    return {'too_many', math.max(redis.call('TTL', KEYS[1]), 1), '0', ''}
  end
end

if ARGV[8] == 'again' and current ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[1], 'sends', sends + 1, 'sent_at', now)
  return {'again', sends + 1, current, redis.call('HGET', KEYS[2], 'link_token') or ''}
end

local function fields(at)
  local n = tonumber(ARGV[at])
  local list = {}
  for i = 1, n * 2 do list[i] = ARGV[at + i] end
  return list, at + 1 + n * 2
end
local verification, at = fields(11)
local registration, at2 = fields(at)
local candidate = fields(at2)

local replaced, phone = '0', ''
if ARGV[8] == 'resend' then
  if current == '' then return {'expired', 0, '0', ''} end
  if ARGV[9] == '1' then
    -- the registration data moves to the new code, for its own attempt only
    if redis.call('EXISTS', KEYS[3]) == 0 then return {'expired', 0, '0', ''} end
    if ARGV[10] ~= '' and redis.call('HGET', KEYS[3], 'attempt') ~= ARGV[10] then
      return {'other_attempt', 0, '0', ''}
    end
    phone = redis.call('HGET', KEYS[3], 'phone') or ''
    redis.call('RENAME', KEYS[3], KEYS[5])
    redis.call('EXPIRE', KEYS[5], ttl)
  end
else
  if current ~= '' then
    redis.call('DEL', KEYS[2], KEYS[3])
    if ARGV[9] == '1' then replaced = '1' end
  end
  redis.call('DEL', KEYS[5])
  if #registration > 0 then
    redis.call('HSET', KEYS[5], unpack(registration))
    redis.call('EXPIRE', KEYS[5], ttl)
  end
  if #candidate > 0 then
    redis.call('DEL', KEYS[6])
    redis.call('HSET', KEYS[6], unpack(candidate))
    redis.call('EXPIRE', KEYS[6], tonumber(ARGV[7]))
  end
end

redis.call('DEL', KEYS[2], KEYS[4])
redis.call('HSET', KEYS[4], unpack(verification))
redis.call('EXPIRE', KEYS[4], ttl)
redis.call('DEL', KEYS[1])
local method = ''
for i = 1, #verification, 2 do
  if verification[i] == 'delivery_method' then method = verification[i + 1] end
end
redis.call('HSET', KEYS[1], 'code', ARGV[2], 'attempts', 0, 'sends', sends + 1, 'sent_at', now,
  'delivery_method', method)
redis.call('EXPIRE', KEYS[1], ttl)
return {'ok', sends + 1, replaced, phone}
