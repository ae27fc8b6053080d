-- commit.lua applies one Change to a group atomically (Store.Commit).
--
-- KEYS[1] meta hash: rec (Group JSON), live ('1'/'0'), ver, base (the
--         sequence when the group was created), lseq/ltime/lfrom/lshow (last
--         message); of a dismissed group only vmax, its last version
-- KEYS[2] members hash: userID -> Member JSON
-- KEYS[3] seq counter: last sequence taken; survives Delete
-- KEYS[4] msgs zset: score = sequence, member = stored message
-- KEYS[5] apps hash: applicant -> Application JSON
--
-- ARGV[1] create '1'/'0'      ARGV[2] version read
-- ARGV[3] delete '1'/'0'      ARGV[4] new record JSON ('' = unchanged)
-- ARGV[5] live '1'/'0' of the new record
-- ARGV[6] max messages (0 = no bound)
-- ARGV[7] age cut, Unix seconds ('' = no bound)
-- then the user side (Change.Reserve, Release, Notices; standalone Redis
-- only, where its keys, KEYS[6] on, may be written with the group's):
--   reserve '1'/'0', groupID, limit   KEYS[6] the user's group set, when '1'
--   n                              release: the next n KEYS, group sets
--   n, notice JSON*, keep, TTL ms   notices: the next n KEYS, notice lists
-- then counted lists, in the order they are applied:
--   n, template*                   tips (see history.lua)
--   time, from, show               last tip summary, only when n > 0
--   n, userID*                     members removed
--   n, (userID, Member JSON)*      members put (a NUL: the first tip's sequence)
--   n, applicant*                  applications consumed
--   n, (applicant, JSON)*          applications put
--
-- Returns the sequence of the first tip (the others follow it; 0 when no
-- tips), or an error reply EXISTS, NOTFOUND, CONFLICT or TOOMANY (the
-- reserving user is at the limit: nothing is changed).

local meta, members, seqKey, msgs, apps = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

local at = 7
local function arg()
  at = at + 1
  return ARGV[at]
end

local reserve, groupID, limit = arg() == '1', arg(), tonumber(arg())
local releases = tonumber(arg())
local notices = {}
for i = 1, tonumber(arg()) do
  notices[i] = arg()
end
local keepNotices, noticeTTL = arg(), arg()
local userKey = 5
local function nextUserKey()
  userKey = userKey + 1
  return KEYS[userKey]
end

-- userSide applies the releases and stores the notices, once committed.
local function userSide()
  for _ = 1, releases do
    redis.call('SREM', nextUserKey(), groupID)
  end
  for _, n in ipairs(notices) do
    local key = nextUserKey()
    redis.call('RPUSH', key, n)
    redis.call('LTRIM', key, -tonumber(keepNotices), -1)
    redis.call('PEXPIRE', key, noticeTTL)
  end
end

local ver = redis.call('HGET', meta, 'ver')
if ARGV[1] == '1' then
  if ver then
    return redis.error_reply('EXISTS group exists')
  end
  -- A re-created group goes on from its predecessor's last version, so a
  -- version never repeats for one ID (vmax, see the delete below).
  redis.call('HSET', meta, 'ver', redis.call('HGET', meta, 'vmax') or 0, 'base', redis.call('GET', seqKey) or 0)
elseif not ver then
  return redis.error_reply('NOTFOUND group does not exist')
elseif ver ~= ARGV[2] then
  return redis.error_reply('CONFLICT group changed')
end

if reserve then -- as reserve.lua, before anything is written
  local set = nextUserKey()
  if redis.call('SISMEMBER', set, groupID) == 0 then
    if redis.call('SCARD', set) >= limit then
      return redis.error_reply('TOOMANY the user is in too many groups')
    end
    redis.call('SADD', set, groupID)
  end
end

if ARGV[4] ~= '' then
  redis.call('HSET', meta, 'rec', ARGV[4], 'live', ARGV[5])
end
local live = redis.call('HGET', meta, 'live') == '1'

local first, seq = 0, 0
for _ = 1, tonumber(arg()) do
  seq = redis.call('INCR', seqKey)
  if first == 0 then
    first = seq
  end
  local stored = stamp(arg(), seq)
  if not live then
    redis.call('ZADD', msgs, seq, stored)
  end
end
if first > 0 then
  setLast(meta, seq, arg(), arg(), arg())
end

if ARGV[3] == '1' then
  redis.call('DEL', meta, members, msgs, apps)
  redis.call('HSET', meta, 'vmax', ver) -- all that is left: no rec, no ver
  userSide()
  return first
end

for _ = 1, tonumber(arg()) do
  redis.call('HDEL', members, arg())
end
for _ = 1, tonumber(arg()) do
  -- a NUL in a member record stands for the first tip's sequence
  -- (Store.Commit, JoinSeqAtTip)
  redis.call('HSET', members, arg(), stamp(arg(), first))
end
for _ = 1, tonumber(arg()) do
  redis.call('HDEL', apps, arg())
end
for _ = 1, tonumber(arg()) do
  redis.call('HSET', apps, arg(), arg())
end

trim(msgs, ARGV[6], ARGV[7])
redis.call('HINCRBY', meta, 'ver', 1)
userSide()
return first
