-- Spends a refresh token in one step: refused if its family is revoked;
-- listed if it was not yet; if it already was (a copy came back), its whole
-- family is revoked.
-- KEYS[1] token:blacklist:{jti}   KEYS[2] token:blacklist:{family}
-- ARGV[1] the token's entry   ARGV[2] its ttl   ARGV[3] the family's entry   ARGV[4] its ttl
-- Returns 'rotated', 'family_revoked' or 'reused'.
if redis.call('EXISTS', KEYS[2]) == 1 then return 'family_revoked' end
if redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then return 'rotated' end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return 'reused'
