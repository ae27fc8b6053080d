package groups

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestBatcher: 200 goroutines × 50 requests through one batcher each get
// their own replies, in fewer pipelines than requests, never more of them
// on the wire at once than allowed, and a caller whose context is
// cancelled does not fail the requests that share its pipeline.
func TestBatcher(t *testing.T) {
	for _, pipes := range []int{1, 3} {
		t.Run(fmt.Sprintf("pipelines=%d", pipes), func(t *testing.T) { testBatcher(t, pipes) })
	}
}

// inFlight records the most pipelines on the wire at once (not counting
// the one go-redis runs inside a pipeline to set up a new connection).
type inFlight struct {
	roundTrips
	mu       sync.Mutex
	now, max int
}

func (f *inFlight) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		f.n.Add(1)
		if n := cmds[0].Name(); n == "hello" || n == "client" || n == "auth" || n == "select" {
			return next(ctx, cmds)
		}
		f.mu.Lock()
		f.now++
		f.max = max(f.max, f.now)
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.now--
			f.mu.Unlock()
		}()
		return next(ctx, cmds)
	}
}

func testBatcher(t *testing.T, pipes int) {
	rdb, prefix := testRedis(t)
	rt := &inFlight{}
	rdb.AddHook(rt)
	st := NewRedisStore(rdb, prefix)
	st.SetPipelines(pipes)
	b := st.batch
	ctx := context.Background()
	const workers, each = 200, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wctx := ctx
			if w%10 == 0 {
				c, cancel := context.WithCancel(ctx)
				cancel() // requests of this one may fail; the others must not
				wctx = c
			}
			key := fmt.Sprintf("%s:{b}:%d", prefix, w)
			for i := range each {
				var incr *redis.IntCmd
				var get *redis.StringCmd
				b.do(wctx, func(p redis.Pipeliner) {
					incr = p.Incr(wctx, key)
					get = p.Get(wctx, key+":absent")
				})
				if wctx != ctx {
					continue
				}
				if n, err := incr.Result(); err != nil || n != int64(i+1) {
					errs <- fmt.Errorf("worker %d request %d: INCR %d, %v", w, i, n, err)
					return
				}
				if err := get.Err(); err != redis.Nil {
					errs <- fmt.Errorf("worker %d: GET of a missing key: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := rt.n.Load(); n >= workers*each {
		t.Errorf("%d pipelines for %d requests: nothing was batched", n, workers*each)
	}
	if rt.max > pipes {
		t.Errorf("%d pipelines on the wire at once, want at most %d", rt.max, pipes)
	}
	t.Logf("%d requests in %d pipelines, at most %d at once", workers*each, rt.n.Load(), rt.max)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) != 0 || b.running != 0 {
		t.Errorf("after the load: %d queued, %d running, want 0 and 0", len(b.queue), b.running)
	}
}
