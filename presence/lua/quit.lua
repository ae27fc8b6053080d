-- quit.lua: end a user's membership of a live room, every session.
-- KEYS[1] sess, KEYS[2] byuser, KEYS[3] users, KEYS[4] grace (as join.lua)
-- ARGV[1] user
-- Returns 1 when the user was a member.
local lo = '[' .. ARGV[1] .. '\0'
local hi = '(' .. ARGV[1] .. '\1'
local ms = redis.call('ZRANGEBYLEX', KEYS[2], lo, hi)
for _, m in ipairs(ms) do
  redis.call('ZREM', KEYS[1], m)
end
redis.call('ZREMRANGEBYLEX', KEYS[2], lo, hi)
redis.call('ZREM', KEYS[4], ARGV[1])
return redis.call('ZREM', KEYS[3], ARGV[1])
