-- allow.lua: take one message from a live room's budget for this second.
-- KEYS[1] counter of the current second (expires after 2 s)
-- ARGV[1] rate per second, ARGV[2] priority: 0 High, 1 Normal, 2 Low, 3 Lowest
-- Returns 1 when accepted. Shedding (SPEC.md §5): every priority below 50%
-- of the budget; from 50% not Lowest, from 75% not Low, from 100% not
-- Normal; High always.
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local rate = tonumber(ARGV[1])
local p = tonumber(ARGV[2])
local ok = (p == 0) or (p == 1 and used < rate) or (p == 2 and used * 4 < rate * 3) or (p == 3 and used * 2 < rate)
if not ok then
  return 0
end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], 2000)
return 1
