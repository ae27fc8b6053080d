-- heartbeat.lua: extend the expiry of this node's sessions in one room.
-- KEYS[1] sess (as join.lua)
-- ARGV[1] expiry ms, ARGV[2..] members
-- Only members still present are extended (a session removed by another
-- node stays removed). Returns how many were extended.
local n = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
    n = n + 1
  end
end
return n
