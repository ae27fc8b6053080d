package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"chatd/internal/redistest"
)

// BenchmarkRedisBrokerPublish measures Publish from ~64 goroutines at once
// (as many requests in flight as a busy node has): batched, the way the
// broker runs, and unbatched, one round trip per call as before. The lone
// variants publish from one goroutine: the latency of a Publish at low
// load, which batching must not raise. The cluster variants (SPUBLISH to
// three groups, one per master) run when CHAT_TEST_REDIS_CLUSTER_ADDRS is
// set.
func BenchmarkRedisBrokerPublish(b *testing.B) {
	for _, m := range []struct {
		name      string
		unbatched bool
		lone      bool
		cluster   bool
	}{
		{"batched", false, false, false}, {"unbatched", true, false, false},
		{"lone/batched", false, true, false}, {"lone/unbatched", true, true, false},
		{"cluster/batched", false, false, true}, {"cluster/unbatched", true, false, true},
	} {
		b.Run(m.name, func(b *testing.B) {
			var rdb redis.UniversalClient
			var prefix string
			if m.cluster {
				rdb, prefix = benchCluster(b)
			} else {
				rdb, prefix = redistest.Client(b)
			}
			br := NewRedisBroker(rdb, RedisBrokerOptions{Prefix: prefix, NodeID: "bench", Logger: slog.New(slog.DiscardHandler)})
			br.unbatched = m.unbatched
			env := &Envelope{ID: "bench/1", Kind: KindPush, GroupID: "g", ToGroup: true, Seq: 1,
				Out: json.RawMessage(`{"event":"onMessageReceived","data":[{"text":"hello"}]}`)}
			chs := [][]string{{GroupChannel("g")}}
			if m.cluster {
				chs = [][]string{{GroupChannel("grp0")}, {GroupChannel("grp1")}, {GroupChannel("grp2")}}
			}
			publish := func(i int) bool {
				if err := br.Publish(context.Background(), []Outgoing{{Channels: chs[i%len(chs)], Env: env}}); err != nil {
					b.Error(err)
					return false
				}
				return true
			}
			b.ReportAllocs()
			b.ResetTimer()
			if m.lone {
				for i := range b.N {
					if !publish(i) {
						return
					}
				}
			} else {
				b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next() && publish(i); i++ {
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// benchCluster returns a client of the Redis Cluster of
// CHAT_TEST_REDIS_CLUSTER_ADDRS and a fresh prefix, or skips.
func benchCluster(b *testing.B) (*redis.ClusterClient, string) {
	addrs := os.Getenv("CHAT_TEST_REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		b.Skip("CHAT_TEST_REDIS_CLUSTER_ADDRS not set")
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	b.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		b.Skipf("Redis Cluster does not answer: %v", err)
	}
	r := make([]byte, 6)
	_, _ = rand.Read(r)
	return c, "chattest:" + hex.EncodeToString(r) // pub/sub only: no key to clean up
}
