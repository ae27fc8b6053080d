-- join.lua: put one session into a live room.
-- KEYS[1] sess   zset  member "user\0node/sid" -> expiry (ms)
-- KEYS[2] byuser zset  same members, score 0 (lex range per user)
-- KEYS[3] users  zset  user -> first join time (ms): the room's members
-- KEYS[4] grace  zset  user -> grace deadline (ms), users with no session
-- ARGV[1] member, ARGV[2] user ("" = anonymous), ARGV[3] expiry ms, ARGV[4] now ms
-- Returns 1 when the user is new to the room (not a member, not in grace).
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
if ARGV[2] == '' then
  return 0
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[2])
if redis.call('ZSCORE', KEYS[3], ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
return 1
