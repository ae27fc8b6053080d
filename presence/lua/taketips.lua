-- taketips.lua: take a live room's pending member tip batch.
-- KEYS[1] batch list (as sharetip.lua)
-- Returns the entries, oldest first.
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return entries
