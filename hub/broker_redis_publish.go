package hub

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxBatchCommands bounds the PUBLISH commands of one pipeline.
const maxBatchCommands = 256

// publisher coalesces concurrent Publish calls: while one pipeline is in
// flight the next calls queue, and a single flusher sends everything
// queued meanwhile in the next pipeline. The first call of a burst sends
// its own pipeline in its goroutine (a lone Publish costs what one
// round trip costs: no timer, no hand-off); if calls queued meanwhile, a
// flusher goroutine takes over and exits when the queue is empty, so
// nothing outlives the last call.
type publisher struct {
	mu      sync.Mutex // mu guards queue and running
	queue   []*publishReq
	running bool // a flusher goroutine is draining queue
}

// maxPendingPosts bounds the PublishAsync calls whose pipeline has not
// answered yet: beyond it PublishAsync waits, so a slow Redis slows the
// requests that publish instead of queueing without limit.
const maxPendingPosts = 1024

// publishReq is one Publish or PublishAsync waiting for its pipeline.
type publishReq struct {
	ctx  context.Context
	msgs []redisMsg // in order
	done chan error // Publish: gets the outcome once
	// PublishAsync: then gets the outcome instead, in the flusher, once
	// the buffers of msgs are recycled and its place in posts is freed.
	then  func(error)
	bufs  []*[]byte
	posts chan struct{}
}

// finish hands r its outcome.
func (r *publishReq) finish(err error) {
	if r.then == nil {
		r.done <- err
		return
	}
	recycle(r.bufs)
	<-r.posts
	r.then(err)
}

// redisMsg is one PUBLISH: a Redis channel name and the payload.
type redisMsg struct {
	channel string
	payload []byte
}

// Publish implements Broker: the envelope goes out in the next pipeline
// (one round trip per shard for every call queued meanwhile). It returns
// once Redis accepted every channel's message, or ctx ended.
func (b *RedisBroker) Publish(ctx context.Context, out []Outgoing) error {
	msgs, bufs := b.encode(out)
	if len(msgs) == 0 {
		recycle(bufs)
		return nil
	}
	if b.unbatched {
		err := b.publishNow(ctx, msgs)
		recycle(bufs)
		return err
	}
	if err := ctx.Err(); err != nil {
		recycle(bufs)
		return err
	}
	r := &publishReq{ctx: ctx, msgs: msgs, done: make(chan error, 1)}
	if b.pub.enqueue(r) {
		b.flush(b.pub.take())
		if b.pub.more() {
			go b.flushLoop()
		}
	}
	select {
	case err := <-r.done:
		recycle(bufs) // the flusher is done with them
		return err
	case <-ctx.Done():
		return ctx.Err() // the flusher may still send them: not recycled
	}
}

// PublishAsync implements AsyncBroker: out goes in the next pipeline,
// after everything Publish or PublishAsync queued before it, and then
// gets the outcome from the flusher. It waits only while
// maxPendingPosts calls are unanswered (until ctx ends, at most
// maxPostWait).
func (b *RedisBroker) PublishAsync(ctx context.Context, out []Outgoing, then func(error)) {
	msgs, bufs := b.encode(out)
	if len(msgs) == 0 {
		recycle(bufs)
		then(nil)
		return
	}
	if err := b.roomForPost(ctx); err != nil {
		recycle(bufs)
		then(err)
		return
	}
	r := &publishReq{ctx: context.Background(), msgs: msgs, then: then, bufs: bufs, posts: b.posts}
	if b.unbatched {
		r.finish(b.publishNow(r.ctx, msgs))
		return
	}
	if b.pub.enqueue(r) {
		go b.flushLoop()
	}
}

// maxPostWait bounds a PublishAsync's wait for room in the queue.
const maxPostWait = 10 * time.Second

// roomForPost takes a place among the unanswered posts. With room it
// does not look at ctx: an ended request's pushes still go out.
func (b *RedisBroker) roomForPost(ctx context.Context) error {
	select {
	case b.posts <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(maxPostWait)
	defer t.Stop()
	select {
	case b.posts <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("failed to publish: %d publishes unanswered for %v", cap(b.posts), maxPostWait)
	}
}

// encode turns out into PUBLISH commands on payload buffers lent by
// payloads: one per channel, in the order the channels first appear,
// holding that channel's envelopes in order (a batch when there are
// several, see envelope_batch.go).
func (b *RedisBroker) encode(out []Outgoing) ([]redisMsg, []*[]byte) {
	bufs := make([]*[]byte, 0, len(out)+1)
	encs := make([][]byte, len(out))
	// The common case, a few envelopes on channels of their own, needs no
	// map; many envelopes (a notice to each of 500 kicked members) go
	// through the map without the pairwise check.
	single := len(out) <= maxPairwise
	for i, o := range out {
		buf := payloads.Get().(*[]byte)
		*buf = AppendEnvelope((*buf)[:0], o.Env)
		bufs = append(bufs, buf)
		encs[i] = *buf
		for _, c := range o.Channels {
			single = single && !onChannel(out[:i], c)
		}
	}
	var msgs []redisMsg
	if single {
		for i, o := range out {
			for _, c := range o.Channels {
				msgs = append(msgs, redisMsg{channel: b.channel(c), payload: encs[i]})
			}
		}
		return msgs, bufs
	}
	var order []string
	byChannel := map[string][]int{}
	for i, o := range out {
		for _, c := range o.Channels {
			if _, ok := byChannel[c]; !ok {
				order = append(order, c)
			}
			byChannel[c] = append(byChannel[c], i)
		}
	}
	for _, c := range order {
		idx := byChannel[c]
		if len(idx) == 1 {
			msgs = append(msgs, redisMsg{channel: b.channel(c), payload: encs[idx[0]]})
			continue
		}
		parts := make([][]byte, len(idx))
		for j, i := range idx {
			parts[j] = encs[i]
		}
		buf := payloads.Get().(*[]byte)
		*buf = appendBatch((*buf)[:0], parts...)
		bufs = append(bufs, buf)
		msgs = append(msgs, redisMsg{channel: b.channel(c), payload: *buf})
	}
	return msgs, bufs
}

// maxPairwise is the most envelopes encode checks pair by pair for a
// shared channel.
const maxPairwise = 8

// onChannel reports whether one of out travels on channel.
func onChannel(out []Outgoing, channel string) bool {
	for _, o := range out {
		for _, c := range o.Channels {
			if c == channel {
				return true
			}
		}
	}
	return false
}

// payloads lends Publish the buffers of encoded envelopes, for as long
// as their pipeline takes: a chat message's envelope is a kilobyte or
// two, on every message.
var payloads = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPayload is the largest buffer returned to payloads.
const maxPooledPayload = 64 << 10

func recycle(bufs []*[]byte) {
	for _, b := range bufs {
		if cap(*b) <= maxPooledPayload {
			payloads.Put(b)
		}
	}
}

// flushLoop sends pipelines until the queue is empty.
func (b *RedisBroker) flushLoop() {
	for {
		batch := b.pub.take()
		if len(batch) == 0 {
			return
		}
		b.flush(batch)
	}
}

// enqueue queues r and reports whether no flusher is running: the caller
// is the flusher now.
func (p *publisher) enqueue(r *publishReq) (start bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(p.queue, r)
	start = !p.running
	p.running = true
	return start
}

// more reports whether requests are queued; if none, the flusher is done.
func (p *publisher) more() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		p.running = false
		return false
	}
	return true
}

// take removes the next batch from the queue: every request queued, up to
// maxBatchCommands commands (at least one request). An empty batch means
// the flusher is done.
func (p *publisher) take() []*publishReq {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, cmds := 0, 0
	for n < len(p.queue) && (n == 0 || cmds+len(p.queue[n].msgs) <= maxBatchCommands) {
		cmds += len(p.queue[n].msgs)
		n++
	}
	if n == 0 {
		p.running = false
		p.queue = nil
		return nil
	}
	batch := make([]*publishReq, n)
	copy(batch, p.queue)
	clear(p.queue[:n])
	p.queue = p.queue[n:]
	return batch
}

// flush sends batch in one pipeline (a cluster pipeline splits it per
// shard) and answers each request with the first error of its commands.
func (b *RedisBroker) flush(batch []*publishReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.finish(err) // its caller is gone: not worth a command
			continue
		}
		live = append(live, r)
	}
	if len(live) == 1 && len(live[0].msgs) == 1 {
		r, m := live[0], live[0].msgs[0]
		r.finish(b.publishCmd(r.ctx, b.rdb, m.channel, m.payload).Err())
		return
	}
	if len(live) == 0 {
		return
	}
	ctx := context.Background()
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, 0, maxBatchCommands)
	for _, r := range live {
		for _, m := range r.msgs {
			cmds = append(cmds, b.publishCmd(ctx, pipe, m.channel, m.payload))
		}
	}
	_, _ = pipe.Exec(ctx) // every command carries its own error
	i := 0
	for _, r := range live {
		var err error
		for range r.msgs {
			if e := cmds[i].Err(); e != nil && err == nil {
				err = fmt.Errorf("failed to publish: %w", e)
			}
			i++
		}
		r.finish(err)
	}
}

// publishNow is Publish without coalescing: one round trip per call.
func (b *RedisBroker) publishNow(ctx context.Context, msgs []redisMsg) error {
	if len(msgs) == 1 {
		return b.publishCmd(ctx, b.rdb, msgs[0].channel, msgs[0].payload).Err()
	}
	pipe := b.rdb.Pipeline()
	for _, m := range msgs {
		b.publishCmd(ctx, pipe, m.channel, m.payload)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("failed to publish: %w", err)
	}
	return nil
}

// publishCmd queues or runs the publish of payload on channel: SPUBLISH
// on a Redis Cluster, PUBLISH elsewhere.
func (b *RedisBroker) publishCmd(ctx context.Context, c redis.Cmdable, channel string, payload []byte) *redis.IntCmd {
	if b.cluster != nil {
		return c.SPublish(ctx, channel, payload)
	}
	return c.Publish(ctx, channel, payload)
}
