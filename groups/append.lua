-- append.lua stores one chat message (Store.Append).
--
-- KEYS[1] meta hash (see commit.lua)   KEYS[2] seq counter
-- KEYS[3] msgs zset                    KEYS[4] idempotency key of
--         (group, from, ID); absent when the message has no ID. Its value
--         is "<deadline ms> <sequence> <stored message>".
--
-- ARGV[1] version read         ARGV[2] live '1'/'0' (take a sequence, store nothing)
-- ARGV[3] max messages (0 = no bound)
-- ARGV[4] age cut, Unix seconds ('' = no bound)
-- ARGV[5] message template (see history.lua)
-- ARGV[6] time, ARGV[7] from, ARGV[8] show: the last-message summary
-- ARGV[9] now, Unix ms, ARGV[10] idempotency window, ms
-- ARGV[11] '1': also KEYS[#KEYS], the sender's profile, must still hold
--          ARGV[12] ('' = no profile) (Store.AppendRecent, standalone
--          Redis only: on a Cluster the profile is in another slot)
--
-- Returns {0, sequence} for a new message, {1, stored message} for a repeat
-- within the window, or an error reply NOTFOUND or CONFLICT.
--
-- The window is judged by the caller's clock (ARGV[9]), like the retention
-- cut, so every node and the embedded store agree; PX only frees the key.
-- An entry from before the group was (re)created is not a repeat: its
-- sequence is not above the group's base.

local meta, seqKey, msgs, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, window = tonumber(ARGV[9]), tonumber(ARGV[10])

local m = redis.call('HMGET', meta, 'ver', 'base')
if not m[1] then
  return redis.error_reply('NOTFOUND group does not exist')
elseif m[1] ~= ARGV[1] then
  return redis.error_reply('CONFLICT group changed')
end
if ARGV[11] == '1' then
  if #KEYS == 4 then
    idem = nil
  end
  if (redis.call('GET', KEYS[#KEYS]) or '') ~= ARGV[12] then
    return redis.error_reply('CONFLICT profile changed')
  end
end

if idem then
  local e = redis.call('GET', idem)
  if e then
    local deadline, seq, stored = string.match(e, '^(%d+) (%d+) (.*)$')
    if tonumber(deadline) > now and tonumber(seq) > (tonumber(m[2]) or 0) then
      return {1, stored}
    end
  end
end

local seq = redis.call('INCR', seqKey)
local stored = stamp(ARGV[5], seq)
if ARGV[2] ~= '1' then
  redis.call('ZADD', msgs, seq, stored)
  trim(msgs, ARGV[3], ARGV[4])
end
setLast(meta, seq, ARGV[6], ARGV[7], ARGV[8])
if idem then
  local v = string.format('%d %d ', now + window, seq) .. stored
  redis.call('SET', idem, v, 'PX', window)
end
return {0, seq}
