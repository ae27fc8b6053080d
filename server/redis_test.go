package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"chatd/groups"
)

// redisStore returns a RedisStore on CHAT_TEST_REDIS_URL under a key prefix
// of its own, deleting every key of that prefix when the test ends. It
// skips the test when the variable is not set.
func redisStore(t *testing.T) groups.Store {
	t.Helper()
	url := os.Getenv("CHAT_TEST_REDIS_URL")
	if url == "" {
		t.Skip("CHAT_TEST_REDIS_URL not set")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("CHAT_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "chattest:" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Unlink(ctx, iter.Val())
		}
		_ = rdb.Close()
	})
	return groups.NewRedisStore(rdb, prefix)
}

// unreachableRedis is a RedisStore on a port where nothing listens.
func unreachableRedis(t *testing.T) groups.Store {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return groups.NewRedisStore(rdb, "chattest:unreachable")
}
