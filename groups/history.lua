-- history.lua: helpers shared by commit.lua and append.lua. The Go side
-- prepends this file to each of them (store_redis.go), so it has no KEYS or
-- ARGV of its own.
--
-- A stored message is a template made in Go, {"time":T,"sequence":S,...}
-- with NUL bytes where the sequence goes: NUL never occurs in JSON, and the
-- leading time lets trim read a message's age without decoding it.

-- stamp fills the sequence seq into a message template.
local function stamp(tmpl, seq)
  return (string.gsub(tmpl, '%z', string.format('%d', seq)))
end

-- timeOf is the Unix time of a stored message (nil if unreadable).
local function timeOf(stored)
  return tonumber(string.match(stored, '^{"time":(%-?%d+)'))
end

-- trim applies a Retention to the history zset msgs: keep the newest max
-- messages (0 = no bound), then drop the oldest while older than cut (Unix
-- seconds, '' = no bound). Dropping stops at the first young message, so the
-- history stays contiguous and OldestSequence means "nothing after it lost".
local function trim(msgs, max, cut)
  max = tonumber(max)
  if max > 0 then
    redis.call('ZREMRANGEBYRANK', msgs, 0, -max - 1)
  end
  if cut == '' then
    return
  end
  cut = tonumber(cut)
  -- Look at one message first: usually it is young and nothing is read in
  -- vain; grow the batch while whole batches are old.
  local n = 1
  while true do
    local batch = redis.call('ZRANGE', msgs, 0, n - 1)
    local old = 0
    for _, m in ipairs(batch) do
      local t = timeOf(m)
      if t == nil or t >= cut then
        break
      end
      old = old + 1
    end
    if old > 0 then
      redis.call('ZREMRANGEBYRANK', msgs, 0, old - 1)
    end
    if old < n then
      return
    end
    n = math.min(n * 4, 256)
  end
end

-- setLast records the summary of the group's newest message in meta.
local function setLast(meta, seq, time, from, show)
  redis.call('HSET', meta, 'lseq', seq, 'ltime', time, 'lfrom', from, 'lshow', show)
end
