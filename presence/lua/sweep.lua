-- sweep.lua: expire the sessions of dead nodes and end graces of a room.
-- KEYS[1] sess, KEYS[2] byuser, KEYS[3] users, KEYS[4] grace (as join.lua)
-- ARGV[1] now ms, ARGV[2] grace ms
-- Returns the users whose membership ended (each exactly once, whichever
-- node sweeps first).
local now = tonumber(ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, m in ipairs(dead) do
  redis.call('ZREM', KEYS[1], m)
  if redis.call('ZREM', KEYS[2], m) == 1 then
    local user = string.match(m, '^(.-)%z')
    local lo = '[' .. user .. '\0'
    local hi = '(' .. user .. '\1'
    if redis.call('ZLEXCOUNT', KEYS[2], lo, hi) == 0 then
      redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), user)
    end
  end
end
local ended = {}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)) do
  redis.call('ZREM', KEYS[4], user)
  if redis.call('ZREM', KEYS[3], user) == 1 then
    table.insert(ended, user)
  end
end
return ended
