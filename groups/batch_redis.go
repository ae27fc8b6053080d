package groups

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// batcher pipelines the Redis requests of concurrent operations: while a
// pipeline is on the wire, requests queue, and the next pipeline carries
// every queued one (up to maxCmds calls), so 64 operations in flight cost a
// few round trips instead of 64. A lone request goes out at once: there is
// no timer, only whatever queued while the previous pipelines ran.
//
// There is no batcher goroutine: a caller that finds fewer than maxPipes
// pipelines running sends one itself (taking the queue, its own request
// first); when a pipeline returns and requests are queued, the oldest
// waiting caller is told to send the next. A caller always waits for its
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
	// wake carries true (send the next pipeline) or false (done).
	wake chan bool
	// handed is set (under batcher.mu) when the call is told to send the
	// next pipeline, so no second pipeline picks it too.
	handed bool
}

func newBatcher(rdb redis.UniversalClient) *batcher {
	return &batcher{rdb: rdb, maxPipes: 2, maxCalls: 128}
}

// do runs add's commands in a pipeline shared with concurrent calls and
// returns once they have their replies. Errors are the commands' own
// (a pipeline sets each command's error, connection errors included).
func (b *batcher) do(ctx context.Context, add func(p redis.Pipeliner)) {
	c := &call{add: add, wake: make(chan bool, 2)} // at most one true and one false
	b.mu.Lock()
	b.queue = append(b.queue, c)
	lead := b.running < b.maxPipes
	if lead {
		b.running++
	}
	b.mu.Unlock()
	for {
		if lead {
			b.send(ctx)
		}
		if lead = <-c.wake; !lead {
			return
		}
	}
}

// send takes up to maxCalls queued calls, runs them in one pipeline, tells
// each it is done and hands the next pipeline to the oldest waiting call
// (or gives up its slot when none waits).
func (b *batcher) send(ctx context.Context) {
	b.mu.Lock()
	n := min(len(b.queue), b.maxCalls)
	batch := make([]*call, n)
	copy(batch, b.queue)
	b.queue = b.queue[:copy(b.queue, b.queue[n:])]
	b.mu.Unlock()

	if n > 0 {
		// Exec's error is the first command's error, which the caller of
		// that command reads from its command; nothing to do with it here.
		_, _ = b.rdb.Pipelined(context.WithoutCancel(ctx), func(p redis.Pipeliner) error {
			for _, c := range batch {
				c.add(p)
			}
			return nil
		})
	}

	b.mu.Lock()
	var next *call
	for _, c := range b.queue {
		if !c.handed {
			next, c.handed = c, true // stays queued: its own send takes it first
			break
		}
	}
	if next == nil {
		b.running--
	}
	b.mu.Unlock()
	for _, c := range batch {
		c.wake <- false
	}
	if next != nil {
		next.wake <- true
	}
}
