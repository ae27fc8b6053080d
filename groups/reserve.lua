-- reserve.lua adds a group to a user's group set unless the user is at the
-- limit (Store.ReserveGroup). Idempotent: a group already in the set is ok.
--
-- KEYS[1] the user's group set
-- ARGV[1] groupID, ARGV[2] limit
--
-- Returns 1 when the group is in the set, 0 when the user is at the limit.

if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return 1
end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
