package hub

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
)

// RedisBrokerOptions configure a RedisBroker.
type RedisBrokerOptions struct {
	Prefix string // key and channel prefix (CHAT_REDIS_PREFIX)
	NodeID string
	// ProbeEvery is how often the node publishes to its own probe channel
	// (one per shard on a Redis Cluster); a probe not back within 3
	// periods means the subscription is lost (default 2 s).
	ProbeEvery time.Duration
	// OnResync is called when the node may have missed envelopes (the
	// subscription was lost and is back): the server tells its sessions.
	OnResync func()
	// OnSubscribed is called with the channels this node has just started
	// listening to, once Redis confirmed it. Pushes published between a
	// join and that moment missed the node; the server tells the sessions
	// of those groups to resync them. On a Redis Cluster it is called
	// again for a channel whose slot moved to another shard, once the
	// node listens to it there.
	OnSubscribed func(channels []string)
	Logger       *slog.Logger
}

// RedisBroker is the Broker of a cluster on Redis pub/sub: one channel per
// group and per user (prefix:ch:g:<id>, prefix:ch:u:<id>), subscribed only
// while this node has sessions for it. A periodic self-probe catches a lost
// subscription (a reconnect, or a silent loss), after which the node
// resubscribes and OnResync runs.
//
// On a Redis Cluster (rdb is a *redis.ClusterClient) it uses sharded
// pub/sub instead (SSUBSCRIBE/SPUBLISH: a message travels only to the
// master owning its channel's slot, not over the whole cluster bus). The
// channels are hash-tagged like the keys they belong to
// (prefix:ch:{g:<id>}, prefix:ch:{u:<id>}), the node keeps one
// subscription connection per master it listens on, and a probe channel
// per such master (see broker_redis_sharded.go).
//
// Publish coalesces concurrent calls into one pipeline (see
// broker_redis_publish.go).
type RedisBroker struct {
	rdb     redis.UniversalClient
	cluster *redis.ClusterClient // set when rdb is one: sharded pub/sub
	opts    RedisBrokerOptions

	mu      sync.Mutex // mu guards want, handler and seen
	want    map[string]bool
	handler func(*Envelope)
	seen    func(id string) bool // optional: IDs to drop undecoded
	dirty   chan struct{}        // wakes Run to apply Listen changes

	pub       publisher
	posts     chan struct{} // one per PublishAsync call not yet answered
	unbatched bool          // one round trip per Publish (benchmarks compare)
}

var _ Broker = (*RedisBroker)(nil)

// NewRedisBroker returns a broker on rdb; Run makes it work.
func NewRedisBroker(rdb redis.UniversalClient, o RedisBrokerOptions) *RedisBroker {
	if o.ProbeEvery <= 0 {
		o.ProbeEvery = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OnResync == nil {
		o.OnResync = func() {}
	}
	if o.OnSubscribed == nil {
		o.OnSubscribed = func([]string) {}
	}
	b := &RedisBroker{rdb: rdb, opts: o, want: map[string]bool{}, dirty: make(chan struct{}, 1),
		posts: make(chan struct{}, maxPendingPosts)}
	b.cluster, _ = rdb.(*redis.ClusterClient)
	return b
}

// channel names the Redis channel of a broker channel. Sharded channels
// carry the name as hash tag: a group's channel lives on the slot of the
// group's keys.
func (b *RedisBroker) channel(name string) string {
	if b.cluster != nil {
		return b.opts.Prefix + ":ch:{" + name + "}"
	}
	return b.opts.Prefix + ":ch:" + name
}

// probeChannel is the node's probe channel on classic pub/sub (sharded
// pub/sub has one per shard: see shardSet.pickProbe).
func (b *RedisBroker) probeChannel() string { return b.channel("probe:" + b.opts.NodeID) }

// Listen implements Broker; Run applies the change.
func (b *RedisBroker) Listen(channel string, on bool) {
	b.mu.Lock()
	if on {
		b.want[channel] = true
	} else {
		delete(b.want, channel)
	}
	b.mu.Unlock()
	select {
	case b.dirty <- struct{}{}:
	default:
	}
}

// SetSeen sets the test of envelope IDs already applied here (the hub's
// own envelopes echoed back, second copies): those are dropped before
// they are decoded.
func (b *RedisBroker) SetSeen(f func(id string) bool) {
	b.mu.Lock()
	b.seen = f
	b.mu.Unlock()
}

// SetHandler implements Broker.
func (b *RedisBroker) SetHandler(f func(*Envelope)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handler = f
}

// Run subscribes and delivers envelopes until ctx ends, starting over on a
// lost subscription.
func (b *RedisBroker) Run(ctx context.Context) error {
	if b.cluster != nil {
		return b.runSharded(ctx)
	}
	single, ok := b.rdb.(*redis.Client)
	if !ok {
		// Nothing a retry would change: fail at once.
		return fmt.Errorf("classic pub/sub needs a *redis.Client (or a Cluster), not %T", b.rdb)
	}
	lost := false
	for ctx.Err() == nil {
		err := b.session(ctx, single, lost)
		if ctx.Err() != nil {
			return nil
		}
		b.opts.Logger.Warn("broker subscription lost; resubscribing", "node_id", b.opts.NodeID, "err", err)
		lost = true
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// session is one subscription: it returns when the subscription is lost.
// After a loss (resumed) the first probe back triggers OnResync.
func (b *RedisBroker) session(ctx context.Context, single *redis.Client, resumed bool) error {
	sc, err := dialSub(ctx, single.Options())
	if err != nil {
		return fmt.Errorf("failed to open the subscription connection: %w", err)
	}
	defer sc.Close()
	probeCh := b.probeChannel()
	if err := sc.send("SUBSCRIBE", []string{probeCh}); err != nil {
		return fmt.Errorf("failed to subscribe: %w", err)
	}
	have := map[string]bool{}
	// pending maps the Redis names of channels subscribed to and not yet
	// confirmed to their broker names; each confirmation reports its
	// channel to OnSubscribed.
	pending := map[string]string{}
	// The reader delivers envelopes itself and hands the session the
	// rest: confirmations (confirmed), probes back (probed), its end.
	confirmed := make(chan string, 1024)
	probed := make(chan struct{}, 1)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go b.read(sc, probeCh, confirmed, probed, readErr, stop)
	probe := time.NewTicker(b.opts.ProbeEvery)
	defer probe.Stop()
	lastProbe := time.Now()
	pendingResync := resumed
	if err := b.sync(sc, have, pending); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			return err
		case <-b.dirty:
			if err := b.sync(sc, have, pending); err != nil {
				return err
			}
		case c := <-confirmed:
			if name, ok := pending[c]; ok {
				delete(pending, c)
				b.opts.OnSubscribed([]string{name})
			}
		case <-probed:
			lastProbe = time.Now()
			if pendingResync {
				pendingResync = false
				b.opts.OnResync()
			}
		case <-probe.C:
			if time.Since(lastProbe) > 3*b.opts.ProbeEvery {
				return fmt.Errorf("no probe back for %v", time.Since(lastProbe).Round(time.Millisecond))
			}
			if err := b.rdb.Publish(ctx, probeCh, "p").Err(); err != nil {
				pendingResync = true // envelopes sent meanwhile may be lost
			}
		}
	}
}

// read reads sc until it fails: envelopes go to the handler from here;
// subscription confirmations and probes back go to the session.
func (b *RedisBroker) read(sc *subConn, probeCh string, confirmed chan<- string, probed chan<- struct{}, readErr chan<- error, stop <-chan struct{}) {
	for {
		ev, ch, payload, err := sc.next()
		if err != nil {
			readErr <- err
			return
		}
		switch ev {
		case subMessage:
			if string(ch) == probeCh {
				select {
				case probed <- struct{}{}:
				default: // one is enough
				}
			} else if len(payload) > 0 {
				// In place, in the read buffer until done: deliver keeps
				// nothing of it.
				b.deliver(unsafe.String(&payload[0], len(payload)))
			}
			sc.done()
		case subSubscribe:
			if string(ch) == probeCh {
				continue
			}
			select {
			case confirmed <- string(ch):
			case <-stop:
				return
			}
		}
	}
}

// sync subscribes to wanted channels (recording them in pending until
// Redis confirms each) and unsubscribes from the others.
func (b *RedisBroker) sync(sc *subConn, have map[string]bool, pending map[string]string) error {
	b.mu.Lock()
	var add, del, added []string
	for c := range b.want {
		if !have[c] {
			add = append(add, b.channel(c))
			added = append(added, c)
			have[c] = true
		}
	}
	for c := range have {
		if !b.want[c] {
			del = append(del, b.channel(c))
			delete(have, c)
		}
	}
	b.mu.Unlock()
	for i, c := range add {
		pending[c] = added[i]
	}
	// Redis's confirmation of each channel comes through the reader.
	if err := sc.send("SUBSCRIBE", add); err != nil {
		return fmt.Errorf("failed to subscribe: %w", err)
	}
	for _, c := range del {
		delete(pending, c)
	}
	if err := sc.send("UNSUBSCRIBE", del); err != nil {
		return fmt.Errorf("failed to unsubscribe: %w", err)
	}
	return nil
}

// deliver decodes a message (one envelope in either wire form, or a
// batch: DecodeEnvelopes) and hands its envelopes to the handler. The
// payload may lie in the subscription's read buffer (read): neither the
// seen test nor the decoded envelopes keep any of it.
func (b *RedisBroker) deliver(payload string) {
	b.mu.Lock()
	seen := b.seen
	b.mu.Unlock()
	if seen != nil {
		if isBatch(payload) {
			if allSeen(payload, seen) {
				return // this node's own, echoed: not worth decoding
			}
		} else if id, ok := envelopeID(payload); ok && seen(id) {
			return // this node's own, echoed, or a second copy: not worth decoding
		}
	}
	envs, err := decodePayload(payload)
	if err != nil {
		b.opts.Logger.Warn("dropping an undecodable envelope", "err", err)
		return
	}
	b.mu.Lock()
	f := b.handler
	b.mu.Unlock()
	if f != nil {
		for _, env := range envs {
			f(env)
		}
	}
}
