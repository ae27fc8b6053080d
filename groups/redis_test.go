package groups

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedis connects to the Redis of CHAT_TEST_REDIS_URL (skipping the test
// when it is unset) and returns the client and a key prefix unique to this
// test. Redis pub/sub ignores the DB number, so the prefix, not the DB, is
// what isolates tests. Every key under the prefix is deleted and the client
// closed when the test ends.
func testRedis(t *testing.T) (redis.UniversalClient, string) {
	t.Helper()
	return redisFor(t)
}

// redisFor is testRedis for tests and benchmarks alike.
func redisFor(t testing.TB) (redis.UniversalClient, string) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		t.Fatalf("redis at CHAT_TEST_REDIS_URL: %v", err)
	}
	prefix := "chattest:" + randomID(12)
	t.Cleanup(func() {
		deleteKeys(t, rdb, prefix)
		_ = rdb.Close()
	})
	return rdb, prefix
}

// deleteKeys removes every key under prefix.
func deleteKeys(t testing.TB, rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The prefix is letters, digits and ":", nothing a MATCH glob reads.
	iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			unlink(ctx, t, rdb, keys)
			keys = keys[:0]
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("failed to scan test keys: %v", err)
	}
	unlink(ctx, t, rdb, keys)
}

// unlink deletes keys one by one: in a Cluster they sit on many slots.
func unlink(ctx context.Context, t testing.TB, rdb redis.UniversalClient, keys []string) {
	if len(keys) == 0 {
		return
	}
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Unlink(ctx, k)
		}
		return nil
	})
	if err != nil {
		t.Errorf("failed to delete test keys: %v", err)
	}
}

// TestRedisKeySlots checks that every key of a group, and of a user, has
// one Cluster hash tag whatever its ID holds.
func TestRedisKeySlots(t *testing.T) {
	s := NewRedisStore(nil, "chat")
	for _, id := range []string{"g", "@TGS#ABC", "a}b", "{x}", "}{", "a:b}:c", "{", "}"} {
		keys := append(s.groupKeys(id), s.idemKey(id, "u}:x", "{id}"))
		for _, k := range keys {
			if got, want := hashTag(k), hashTag(keys[0]); got != want || !strings.HasPrefix(got, "g:") {
				t.Errorf("group %q: key %q has tag %q, want %q", id, k, got, want)
			}
		}
		for _, k := range []string{s.userKey(id, "notices"), s.userKey(id, "profile")} {
			if got, want := hashTag(k), hashTag(s.userKey(id, "groups")); got != want || !strings.HasPrefix(got, "u:") {
				t.Errorf("user %q: key %q has tag %q, want %q", id, k, got, want)
			}
		}
	}
}

// hashTag is what Redis Cluster hashes of key (CLUSTER KEYSLOT's rule).
func hashTag(key string) string {
	start := strings.IndexByte(key, '{')
	if start < 0 {
		return key
	}
	end := strings.IndexByte(key[start+1:], '}')
	if end <= 0 {
		return key
	}
	return key[start+1 : start+1+end]
}

// roundTrips counts the requests a client sends (a pipeline is one).
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// benchStore is a RedisStore whose round trips are counted.
func benchStore(b *testing.B) (*RedisStore, *roundTrips) {
	rdb, prefix := redisFor(b)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	return NewRedisStore(rdb, prefix), rt
}

// report adds ops/s and round trips per op to a benchmark's result.
func report(b *testing.B, rt *roundTrips, start int64, ops int) {
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(rt.n.Load()-start)/float64(ops), "roundtrips/op")
}

func BenchmarkRedisAppend(b *testing.B) {
	s, rt := benchStore(b)
	ctx := context.Background()
	if err := s.Commit(ctx, &Change{GroupID: "g", Create: true, Group: testGroup("g", Public)}); err != nil {
		b.Fatal(err)
	}
	m := chat("g", "u", "", strings.Repeat("x", 200), time.Now().Unix())
	_, _, _ = s.Append(ctx, m, 1, false, week) // load the script
	start, i := rt.n.Load(), 0
	for ; b.Loop(); i++ {
		m.ID = fmt.Sprint("id", i)
		if _, _, err := s.Append(ctx, m, 1, false, week); err != nil {
			b.Fatal(err)
		}
	}
	report(b, rt, start, i)
}

func BenchmarkRedisCommit(b *testing.B) {
	s, rt := benchStore(b)
	ctx := context.Background()
	if err := s.Commit(ctx, &Change{GroupID: "g", Create: true, Group: testGroup("g", Public)}); err != nil {
		b.Fatal(err)
	}
	v := uint64(1)
	start, i := rt.n.Load(), 0
	for ; b.Loop(); i++ {
		u := fmt.Sprint("u", i%500)
		ch := &Change{GroupID: "g", Version: v, Put: []*Member{{UserID: u, Role: RoleMember}},
			Tips: []*Message{tip("g", u, time.Now().Unix())}, Keep: week}
		if err := s.Commit(ctx, ch); err != nil {
			b.Fatal(err)
		}
		v++
	}
	report(b, rt, start, i)
}
