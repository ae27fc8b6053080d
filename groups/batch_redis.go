package groups

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// batcher pipelines the Redis requests of concurrent operations: while a
// pipeline is on the wire, requests queue, and the next pipeline carries
// every queued one (up to maxCalls requests), so 64 operations in flight cost a
// few round trips instead of 64. A lone request goes out at once: there is
// no timer, only whatever queued while the previous pipelines ran.
//
// One pipeline on the wire at a time is the default: Redis runs
// pipelines one after another anyway, so where its round trip is short
// against its work on a batch a second pipeline only splits the batch
// and adds a write and a read on both sides (closed-loop sendMessage on
// local Redis: 5–20% more ops/s with one than with two, in six
// alternating pairs of runs). A distant Redis is better served by more
// (SetPipelines), so a request need not wait for the previous round trip.
//
// There is no batcher goroutine: a caller that finds fewer than maxPipes
// pipelines running sends one itself (its own request first, then the
// queue); when a pipeline returns and requests are queued, the oldest
// waiting caller is taken off the queue and told to send the next. A caller always waits for its
// own request, which Redis's timeouts bound; its ctx goes into the
// pipeline only when it sends one.
type batcher struct {
	rdb      redis.UniversalClient
	maxPipes int // pipelines in flight at once
	maxCalls int // requests per pipeline

	mu      sync.Mutex // guards queue and running
	queue   []*call
	running int
}

// call is one request: add puts its commands in the pipeline; the
// caller reads their results from the commands once done.
type call struct {
	add func(p redis.Pipeliner)
	// wake carries one value: true (take the queue and send the next
	// pipeline, this call first) or false (done).
	wake chan bool
}

// MaxPipelines bounds RedisStore.SetPipelines.
const MaxPipelines = 64

func newBatcher(rdb redis.UniversalClient) *batcher {
	return &batcher{rdb: rdb, maxPipes: 1, maxCalls: 128}
}

// do runs add's commands in a pipeline shared with concurrent calls and
// returns once they have their replies. Errors are the commands' own
// (a pipeline sets each command's error, connection errors included).
func (b *batcher) do(ctx context.Context, add func(p redis.Pipeliner)) {
	c := &call{add: add}
	b.mu.Lock()
	if b.running < b.maxPipes {
		b.running++
		b.mu.Unlock()
		b.send(ctx, c)
		return
	}
	c.wake = make(chan bool, 1)
	b.queue = append(b.queue, c)
	b.mu.Unlock()
	if <-c.wake {
		b.send(ctx, c)
	}
}

// send runs own and up to maxCalls-1 queued calls in one pipeline, tells
// the queued ones they are done and hands the next pipeline to the oldest
// call still queued, taking it off the queue (or gives up its slot when
// none waits).
func (b *batcher) send(ctx context.Context, own *call) {
	b.mu.Lock()
	n := min(len(b.queue), b.maxCalls-1)
	batch := make([]*call, 0, n+1)
	batch = append(append(batch, own), b.queue[:n]...)
	b.queue = b.queue[:copy(b.queue, b.queue[n:])]
	b.mu.Unlock()

	// Exec's error is the first command's error, which the caller of that
	// command reads from its command; nothing to do with it here.
	_, _ = b.rdb.Pipelined(context.WithoutCancel(ctx), func(p redis.Pipeliner) error {
		for _, c := range batch {
			c.add(p)
		}
		return nil
	})

	b.mu.Lock()
	var next *call
	if len(b.queue) > 0 {
		next = b.queue[0]
		b.queue = b.queue[:copy(b.queue, b.queue[1:])]
	} else {
		b.running--
	}
	b.mu.Unlock()
	for _, c := range batch[1:] {
		c.wake <- false
	}
	if next != nil {
		next.wake <- true
	}
}
