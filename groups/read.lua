-- read.lua reads a group and some of its members as one snapshot
-- (Store.Read, Store.Group).
--
-- KEYS[1] meta hash (see commit.lua)   KEYS[2] members hash
-- KEYS[3] seq counter
-- ARGV    the userIDs whose member records to read
--
-- Returns {} when the group does not exist, else
-- {rec, ver, lseq, ltime, lfrom, lshow, member count, seq, record of
-- ARGV[1] or nil, ...}.

local m = redis.call('HMGET', KEYS[1], 'rec', 'ver', 'lseq', 'ltime', 'lfrom', 'lshow')
if not m[1] then
  return {}
end
m[7] = redis.call('HLEN', KEYS[2])
m[8] = redis.call('GET', KEYS[3])
if #ARGV > 0 then
  local recs = redis.call('HMGET', KEYS[2], unpack(ARGV))
  for i = 1, #ARGV do
    m[8 + i] = recs[i]
  end
end
return m
