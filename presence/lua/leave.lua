-- leave.lua: take one session out of a live room.
-- KEYS[1] sess, KEYS[2] byuser, KEYS[3] users, KEYS[4] grace (as join.lua)
-- ARGV[1] member, ARGV[2] user ("" = anonymous), ARGV[3] grace deadline ms
--   (0: the membership ends at once when this was the user's last session)
-- Returns 0 if the session was not in the room, 1 if it left, 2 if the
-- user's membership ended with it.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
if ARGV[2] == '' then
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
local lo = '[' .. ARGV[2] .. '\0'
local hi = '(' .. ARGV[2] .. '\1'
if redis.call('ZLEXCOUNT', KEYS[2], lo, hi) > 0 then
  return 1
end
if tonumber(ARGV[3]) > 0 then
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
  return 1
end
redis.call('ZREM', KEYS[3], ARGV[2])
return 2
