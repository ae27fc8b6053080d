-- notice.lua stores one system notice (Store.AppendNotice).
--
-- KEYS[1] the user's notices list, oldest first
-- ARGV[1] the notice JSON   ARGV[2] how many to keep   ARGV[3] TTL, ms
--
-- One script, so it shares the store's pipelines with the other requests
-- in flight (a MULTI/EXEC was a round trip of its own).

redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
