package server

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"chatd/groups"
	"chatd/internal/redistest"
)

// redisStore returns a RedisStore on CHAT_TEST_REDIS_URL under a key
// prefix of its own (see internal/redistest), skipping without it.
func redisStore(t *testing.T) groups.Store {
	rdb, prefix := redistest.Client(t)
	return groups.NewRedisStore(rdb, prefix)
}

// unreachableRedis is a RedisStore on a port where nothing listens.
func unreachableRedis(t *testing.T) groups.Store {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return groups.NewRedisStore(rdb, "chattest:unreachable")
}
