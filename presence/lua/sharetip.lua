-- sharetip.lua: add a user to a live room's pending member tip batch.
-- KEYS[1] batch list of "<n|->user" entries, KEYS[2] leader lock
-- ARGV[1] entry, ARGV[2] window ms
-- Returns 1 when the caller leads the batch (takes it after the window).
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], 10 * tonumber(ARGV[2]))
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
