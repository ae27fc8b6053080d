// Package redistest gives tests a Redis of their own: the server of
// CHAT_TEST_REDIS_URL under a key prefix unique to the test, whose keys are
// deleted when the test ends (Redis pub/sub ignores the DB number, so the
// prefix, not the DB, is what isolates tests). The groups package keeps
// its own copy so that it imports no other project package.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Client returns a client and a fresh key prefix, or skips the test when
// CHAT_TEST_REDIS_URL is not set.
func Client(t testing.TB) (*redis.Client, string) {
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
	return rdb, prefix
}
