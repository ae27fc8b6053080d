package hub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sharded pub/sub on a Redis Cluster. A shard channel lives on the master
// owning its slot, and SSUBSCRIBE must be sent to that master: go-redis's
// ClusterClient.SSubscribe pins its one connection to the owner of the
// first channel, so the broker keeps a PubSub of its own per master
// (shard), opened on that master's client, and routes every channel to the
// shard owning it. Each shard carries a probe channel whose slot that
// master owns, so a silently lost subscription on any shard is caught.
//
// Only Run's goroutine touches a shardSet. Each shard's reader goroutine
// delivers envelopes itself and hands everything else (confirmations,
// pongs, probes, errors) to Run through events.

const (
	maxProbeTries = 1 << 16                // probe names tried to find one on a shard
	retryMin      = 100 * time.Millisecond // first wait before routing again
	retryMax      = 2 * time.Second
)

// shardSet is the state of Run on a Redis Cluster.
type shardSet struct {
	b           *RedisBroker
	cc          *redis.ClusterClient
	events      chan shardEvent
	probePrefix string            // every probe channel of this node starts so
	shards      map[string]*shard // by master address
	route       map[string]*shard // broker channel → the shard it is subscribed (or being subscribed) on
	lost        map[string]bool   // broker channels lost with a shard, not confirmed again since

	pendingResync bool // OnResync at the next probe back once lost is empty
	reload        bool // the slot map may be stale: refresh it before routing
	retry         *time.Timer
	retryArmed    bool
	closing       sync.WaitGroup // shards being closed
	backoff       time.Duration
	pings         uint64
}

// shard is this node's subscription connection to one master.
type shard struct {
	addr      string
	ps        *redis.PubSub
	quit      chan struct{}     // closed by close: the reader stops
	done      chan struct{}     // closed when the reader has returned
	chans     map[string]string // Redis channel → broker channel, subscribed or being subscribed here
	confirmed map[string]bool   // Redis channels whose ssubscribe Redis confirmed
	leaving   map[string]uint64 // Redis channel → ping of the batch that unsubscribed it
	batches   []shardBatch      // sent, waiting for their pong, in order
	add, del  []string          // Redis channels for the next batch

	probe     string // probe channel on a slot of this master ("" = to pick)
	newProbe  bool   // probe goes out in the next batch
	probeSubs int    // ssubscribe confirmations of probe
	lastProbe time.Time
}

// shardBatch is one round of (un)subscriptions on a shard, closed by a
// ping whose pong says Redis has processed all of it.
type shardBatch struct {
	ping    uint64
	added   []string // Redis channels
	removed []string
	probe   string // the probe channel subscribed in this batch, if any
}

// shardEvent is what a reader hands to Run.
type shardEvent struct {
	sh  *shard
	msg any // *redis.Subscription, *redis.Pong or a probe's *redis.Message
	err error
}

// runSharded is Run on a Redis Cluster.
func (b *RedisBroker) runSharded(ctx context.Context) error {
	s := &shardSet{
		b: b, cc: b.cluster, events: make(chan shardEvent, 256),
		probePrefix: b.opts.Prefix + ":ch:{probe:" + tagEscaper.Replace(b.opts.NodeID) + ":",
		shards:      map[string]*shard{}, route: map[string]*shard{}, lost: map[string]bool{},
		retry: time.NewTimer(time.Hour),
	}
	s.retry.Stop()
	defer s.retry.Stop()
	defer s.closeAll()
	probe := time.NewTicker(b.opts.ProbeEvery)
	defer probe.Stop()
	s.sync(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.dirty:
			s.sync(ctx)
		case <-s.retry.C:
			s.retryArmed = false
			s.sync(ctx)
		case ev := <-s.events:
			s.handle(ev)
		case <-probe.C:
			s.probeAll(ctx)
		}
	}
}

// tagEscaper keeps braces out of a hash tag, injectively.
var tagEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

// sync routes every wanted channel to its shard and drops the others, then
// sends each shard its batch.
func (s *shardSet) sync(ctx context.Context) {
	if s.reload {
		if err := s.reloadSlots(ctx); err != nil {
			s.b.opts.Logger.Warn("broker cannot read the cluster's slots", "node_id", s.b.opts.NodeID, "err", err)
			s.scheduleRetry()
			return
		}
		s.reload = false
	}
	s.b.mu.Lock()
	want := make(map[string]bool, len(s.b.want))
	for c := range s.b.want {
		want[c] = true
	}
	s.b.mu.Unlock()
	for name, sh := range s.route {
		if !want[name] {
			ch := s.b.channel(name)
			delete(s.route, name)
			delete(sh.chans, ch)
			delete(sh.confirmed, ch)
			sh.del = append(sh.del, ch)
		}
	}
	for name := range s.lost {
		if !want[name] {
			delete(s.lost, name)
		}
	}
	var failed error
	for name := range want {
		if s.route[name] != nil {
			continue
		}
		ch := s.b.channel(name)
		sh, err := s.shardFor(ctx, ch)
		if err != nil {
			failed = err
			continue
		}
		s.route[name] = sh
		sh.chans[ch] = name
		sh.add = append(sh.add, ch)
	}
	for _, sh := range s.shards {
		if err := s.fixProbe(ctx, sh); err != nil {
			s.drop(sh)
			failed = err
			continue
		}
		if err := s.send(ctx, sh); err != nil {
			s.lose(sh, err)
			failed = err
		}
	}
	if len(s.shards) == 0 && len(s.lost) == 0 {
		s.pendingResync = false // no session here to tell
	}
	if failed != nil {
		s.b.opts.Logger.Warn("broker cannot subscribe yet; retrying", "node_id", s.b.opts.NodeID, "err", failed)
		s.scheduleRetry()
	}
}

// reloadSlots refreshes the cluster client's slot map now (ForEachMaster
// reloads it before it runs; ReloadState only schedules a reload).
func (s *shardSet) reloadSlots(ctx context.Context) error {
	return s.cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { return nil })
}

// shardFor returns the shard of the master owning ch, opening it if new.
func (s *shardSet) shardFor(ctx context.Context, ch string) (*shard, error) {
	client, err := s.cc.MasterForKey(ctx, ch)
	if err != nil {
		return nil, fmt.Errorf("failed to find the shard of %s: %w", ch, err)
	}
	addr := client.Options().Addr
	if sh := s.shards[addr]; sh != nil {
		return sh, nil
	}
	sh := &shard{addr: addr, ps: client.SSubscribe(ctx),
		quit: make(chan struct{}), done: make(chan struct{}),
		chans: map[string]string{}, confirmed: map[string]bool{}, leaving: map[string]uint64{}}
	if err := s.pickProbe(ctx, sh); err != nil {
		_ = sh.ps.Close()
		return nil, err
	}
	s.shards[addr] = sh
	go s.read(sh)
	return sh, nil
}

// pickProbe finds a probe channel whose slot sh's master owns.
func (s *shardSet) pickProbe(ctx context.Context, sh *shard) error {
	for k := range maxProbeTries {
		name := s.probePrefix + strconv.Itoa(k) + "}"
		c, err := s.cc.MasterForKey(ctx, name)
		if err != nil {
			return fmt.Errorf("failed to find the shard of %s: %w", name, err)
		}
		if c.Options().Addr == sh.addr {
			sh.probe, sh.newProbe, sh.probeSubs, sh.lastProbe = name, true, 0, time.Now()
			return nil
		}
	}
	return fmt.Errorf("no slot of %s in the cluster", sh.addr)
}

// fixProbe gives sh a new probe channel after its slot moved away. A
// master that owns no slot any more loses its channels to the others.
func (s *shardSet) fixProbe(ctx context.Context, sh *shard) error {
	if sh.probe != "" {
		return nil
	}
	return s.pickProbe(ctx, sh)
}

// send writes sh's pending (un)subscriptions and the ping that closes the
// batch.
func (s *shardSet) send(ctx context.Context, sh *shard) error {
	if len(sh.add) == 0 && len(sh.del) == 0 && !sh.newProbe {
		return nil
	}
	s.pings++
	bt := shardBatch{ping: s.pings, added: sh.add, removed: sh.del}
	sh.add, sh.del = nil, nil
	if sh.newProbe {
		sh.newProbe = false
		bt.probe = sh.probe
		if err := sh.ps.SSubscribe(ctx, sh.probe); err != nil {
			return fmt.Errorf("failed to subscribe: %w", err)
		}
	}
	// One channel per command: SSUBSCRIBE refuses channels of two slots.
	for _, ch := range bt.added {
		if err := sh.ps.SSubscribe(ctx, ch); err != nil {
			return fmt.Errorf("failed to subscribe: %w", err)
		}
	}
	for _, ch := range bt.removed {
		sh.leaving[ch] = bt.ping
		if err := sh.ps.SUnsubscribe(ctx, ch); err != nil {
			return fmt.Errorf("failed to unsubscribe: %w", err)
		}
	}
	sh.batches = append(sh.batches, bt)
	if err := sh.ps.Ping(ctx, strconv.FormatUint(bt.ping, 10)); err != nil {
		return fmt.Errorf("failed to confirm the subscription: %w", err)
	}
	return nil
}

// read receives from sh until it is closed or its connection fails.
func (s *shardSet) read(sh *shard) {
	defer close(sh.done)
	for {
		msg, err := sh.ps.Receive(context.Background())
		if m, ok := msg.(*redis.Message); ok && err == nil && !strings.HasPrefix(m.Channel, s.probePrefix) {
			s.b.deliver(m.Payload)
			continue
		}
		select {
		case s.events <- shardEvent{sh: sh, msg: msg, err: err}:
		case <-sh.quit:
			return
		}
		if err != nil && !isRedirect(err) {
			return // Run closes the shard
		}
	}
}

// isRedirect reports whether err is Redis refusing a command because the
// slot is not (or not yet) this master's. Any other failure ends the
// shard: go-redis has reconnected it and resubscribed everything in one
// command (which a cluster refuses: CROSSSLOT), or the connection is gone.
func isRedirect(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	for _, p := range []string{"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}

// handle applies one event of a shard.
func (s *shardSet) handle(ev shardEvent) {
	sh := ev.sh
	if s.shards[sh.addr] != sh {
		return // from a shard closed meanwhile
	}
	if ev.err != nil {
		if isRedirect(ev.err) {
			// A subscription went to a master that does not own the
			// slot; the batch's pong routes it again.
			s.b.opts.Logger.Debug("broker subscription redirected", "node_id", s.b.opts.NodeID,
				"shard", sh.addr, "err", ev.err)
			s.reload = true
			return
		}
		s.lose(sh, ev.err)
		s.scheduleRetry()
		return
	}
	switch m := ev.msg.(type) {
	case *redis.Subscription:
		s.subscription(sh, m)
	case *redis.Pong:
		s.pong(sh, m.Payload)
	case *redis.Message:
		if m.Channel == sh.probe {
			sh.lastProbe = time.Now()
			if s.pendingResync && len(s.lost) == 0 {
				s.pendingResync = false
				s.b.opts.OnResync()
			}
		}
	}
}

// subscription handles a confirmation, or a server-initiated
// sunsubscribe: the slot of that channel moved to another master.
func (s *shardSet) subscription(sh *shard, m *redis.Subscription) {
	switch m.Kind {
	case "ssubscribe":
		if m.Channel == sh.probe {
			// A second confirmation: go-redis resubscribed after a
			// reconnect, envelopes may be lost.
			if sh.probeSubs++; sh.probeSubs > 1 {
				s.pendingResync = true
			}
			return
		}
		if _, ok := sh.chans[m.Channel]; ok {
			sh.confirmed[m.Channel] = true
		}
	case "sunsubscribe":
		if m.Channel == sh.probe {
			sh.probe = ""
			s.rerouteSoon()
			return
		}
		if _, ours := sh.leaving[m.Channel]; ours {
			return
		}
		if name, ok := sh.chans[m.Channel]; ok {
			s.b.opts.Logger.Debug("broker channel moved to another shard", "node_id", s.b.opts.NodeID,
				"channel", name, "from", sh.addr)
			s.unroute(sh, m.Channel)
			s.rerouteSoon()
		}
	}
}

// pong closes the batches of sh up to ping: OnSubscribed for the channels
// Redis confirmed; the ones it refused are routed again.
func (s *shardSet) pong(sh *shard, payload string) {
	ping, err := strconv.ParseUint(payload, 10, 64)
	if err != nil {
		return
	}
	for len(sh.batches) > 0 && sh.batches[0].ping <= ping {
		bt := sh.batches[0]
		sh.batches = sh.batches[1:]
		s.finish(sh, bt)
	}
}

func (s *shardSet) finish(sh *shard, bt shardBatch) {
	var ok []string
	refused := false
	for _, ch := range bt.added {
		name, still := sh.chans[ch]
		switch {
		case !still: // unlistened or moved meanwhile
		case sh.confirmed[ch]:
			ok = append(ok, name)
			delete(s.lost, name)
		default:
			s.unroute(sh, ch)
			refused = true
		}
	}
	for _, ch := range bt.removed {
		if sh.leaving[ch] == bt.ping {
			delete(sh.leaving, ch)
		}
	}
	if bt.probe != "" && bt.probe == sh.probe && sh.probeSubs == 0 {
		sh.probe = ""
		refused = true
	}
	if refused {
		s.reload = true
		s.scheduleRetry()
	} else {
		s.backoff = 0
	}
	if len(ok) > 0 {
		s.b.opts.OnSubscribed(ok)
	}
}

// unroute forgets that sh carries ch; sync routes it again if wanted.
func (s *shardSet) unroute(sh *shard, ch string) {
	if name, ok := sh.chans[ch]; ok {
		delete(s.route, name)
	}
	delete(sh.chans, ch)
	delete(sh.confirmed, ch)
}

// rerouteSoon makes Run refresh the slot map and route again.
func (s *shardSet) rerouteSoon() {
	s.reload = true
	select {
	case s.b.dirty <- struct{}{}:
	default:
	}
}

// probeAll ends the shards whose probe is overdue and publishes the next
// probe on every other one.
func (s *shardSet) probeAll(ctx context.Context) {
	limit := 3 * s.b.opts.ProbeEvery
	lost := false
	for _, sh := range s.shards {
		if since := time.Since(sh.lastProbe); sh.probe != "" && since > limit {
			s.lose(sh, fmt.Errorf("no probe back for %v", since.Round(time.Millisecond)))
			lost = true
		}
	}
	if lost {
		s.scheduleRetry()
	}
	pipe := s.cc.Pipeline()
	for _, sh := range s.shards {
		if sh.probe != "" {
			pipe.SPublish(ctx, sh.probe, "p")
		}
	}
	if pipe.Len() == 0 {
		return
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.pendingResync = true // envelopes sent meanwhile may be lost
	}
}

// lose closes a shard whose subscription is gone: its channels are
// subscribed again (on whichever master owns them now) and OnResync runs
// once they all are and a probe is back.
func (s *shardSet) lose(sh *shard, err error) {
	s.b.opts.Logger.Warn("broker subscription lost; resubscribing", "node_id", s.b.opts.NodeID,
		"shard", sh.addr, "err", err)
	for _, name := range sh.chans {
		s.lost[name] = true
	}
	if len(sh.chans) > 0 {
		s.pendingResync = true
	}
	s.drop(sh)
}

// drop closes sh and unroutes its channels.
func (s *shardSet) drop(sh *shard) {
	for ch := range sh.chans {
		s.unroute(sh, ch)
	}
	s.close(sh)
	s.reload = true
}

// close ends sh's connection and reader. It does not wait: go-redis may
// be redialing that master under the PubSub's lock (after a read error it
// reconnects before it returns the error), and Run must not stall on a
// dead master.
func (s *shardSet) close(sh *shard) {
	if s.shards[sh.addr] == sh {
		delete(s.shards, sh.addr)
	}
	close(sh.quit)
	s.closing.Go(func() {
		_ = sh.ps.Close()
		<-sh.done
	})
}

// closeAll closes every shard and waits until all are closed.
func (s *shardSet) closeAll() {
	for _, sh := range s.shards {
		s.close(sh)
	}
	s.closing.Wait()
}

// scheduleRetry runs sync again after a growing pause.
func (s *shardSet) scheduleRetry() {
	if s.retryArmed {
		return
	}
	s.backoff = min(max(2*s.backoff, retryMin), retryMax)
	s.retry.Reset(s.backoff)
	s.retryArmed = true
}
