-- Moves a payment's status along a legal transition and keeps the
-- per-currency totals, all or nothing.
-- KEYS[1] payment:{id}  KEYS[2] payments:totals:{payer}  KEYS[3..] payments:totals:{beneficiary}
-- (beneficiaries in the payment's order)
-- ARGV[1] the status it must have now  ARGV[2] the new status  ARGV[3] now (RFC 3339)
-- ARGV[4] provider reference ('' keeps it; another than the one noted refuses)
-- Returns {'moved', new JSON}, {'missing', ''} or {'refused', current status}.
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing', ''} end
local p = cjson.decode(raw)
if p.status ~= ARGV[1] then return {'refused', p.status} end
-- A move that names another charge than the one noted is not this
-- payment's, whatever the caller read before (a webhook racing the charge).
if ARGV[4] ~= '' and type(p.provider_ref) == 'string' and p.provider_ref ~= ARGV[4] then
  return {'refused', p.status}
end
-- cjson reads [] as an empty table and would write it back as {}.
if type(p.beneficiaries) ~= 'table' or next(p.beneficiaries) == nil then p.beneficiaries = cjson.null end
p.status = ARGV[2]
p.updated_at = ARGV[3]
if ARGV[4] ~= '' then p.provider_ref = ARGV[4] end
if ARGV[2] == 'refunded' then p.refunded_at = ARGV[3] end
local sign = 0
if ARGV[2] == 'succeeded' then sign = 1 elseif ARGV[2] == 'refunded' then sign = -1 end
if sign ~= 0 then
  redis.call('HINCRBY', KEYS[2], 'sent:' .. p.currency, sign * p.amount)
  if p.beneficiaries ~= cjson.null then
    for i, b in ipairs(p.beneficiaries) do
      redis.call('HINCRBY', KEYS[2 + i], 'received:' .. p.currency, sign * b.amount)
    end
  end
end
local json = cjson.encode(p)
redis.call('SET', KEYS[1], json)
return {'moved', json}
