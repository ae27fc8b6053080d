package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"chatd/internal/redistest"
)

// redisEnv is one Redis deployment the broker tests run on: the Redis of
// CHAT_TEST_REDIS_URL, and the Redis Cluster of
// CHAT_TEST_REDIS_CLUSTER_ADDRS (test/redis-cluster.sh start prints it),
// each skipped when not set or not answering.
type redisEnv struct {
	prefix string
	// client returns a client whose connections carry name (CLIENT
	// LIST), closed at the end of the test.
	client func(t *testing.T, name string) redis.UniversalClient
	// node returns the master that owns the Redis channel ch.
	node    func(t *testing.T, ch string) *redis.Client
	cluster bool
}

func redisEnvs(t *testing.T, f func(t *testing.T, e *redisEnv)) {
	t.Run("redis", func(t *testing.T) { f(t, standaloneEnv(t)) })
	t.Run("cluster", func(t *testing.T) { f(t, clusterEnv(t)) })
}

func standaloneEnv(t *testing.T) *redisEnv {
	admin, prefix := redistest.Client(t)
	answers(t, admin)
	opt, _ := redis.ParseURL(os.Getenv("CHAT_TEST_REDIS_URL"))
	return &redisEnv{
		prefix: prefix,
		client: func(t *testing.T, name string) redis.UniversalClient {
			o := *opt
			o.ClientName = name
			c := redis.NewClient(&o)
			t.Cleanup(func() { _ = c.Close() })
			return c
		},
		node: func(*testing.T, string) *redis.Client { return admin },
	}
}

func clusterEnv(t *testing.T) *redisEnv {
	env := os.Getenv("CHAT_TEST_REDIS_CLUSTER_ADDRS")
	if env == "" {
		t.Skip("CHAT_TEST_REDIS_CLUSTER_ADDRS not set")
	}
	addrs := strings.Split(env, ",")
	admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	answers(t, admin)
	r := make([]byte, 6)
	_, _ = rand.Read(r)
	prefix := "chattest:" + hex.EncodeToString(r)
	t.Cleanup(func() {
		ctx := context.Background()
		_ = admin.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Unlink(ctx, iter.Val())
			}
			return iter.Err()
		})
		_ = admin.Close()
	})
	return &redisEnv{
		prefix:  prefix,
		cluster: true,
		client: func(t *testing.T, name string) redis.UniversalClient {
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ClientName: name})
			t.Cleanup(func() { _ = c.Close() })
			return c
		},
		node: func(t *testing.T, ch string) *redis.Client {
			c, err := admin.MasterForKey(context.Background(), ch)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
}

// answers skips the test when Redis does not answer.
func answers(t *testing.T, c redis.UniversalClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Skipf("Redis does not answer: %v", err)
	}
}

// testBroker is a running RedisBroker and what it reported.
type testBroker struct {
	*RedisBroker
	name string

	mu      sync.Mutex // mu guards the fields below
	got     map[string]int
	order   []string
	subs    []string // every channel OnSubscribed reported, in order
	resyncs int
}

// startBroker runs a broker of node name on e until the end of the test.
func startBroker(t *testing.T, e *redisEnv, name string) *testBroker {
	tb := newTestBroker(t, e, name)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tb.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return tb
}

// newTestBroker returns a broker that is not running (it can Publish).
func newTestBroker(t *testing.T, e *redisEnv, name string) *testBroker {
	tb := &testBroker{name: name, got: map[string]int{}}
	rdb := e.client(t, e.prefix+":"+name)
	tb.RedisBroker = NewRedisBroker(rdb, RedisBrokerOptions{
		Prefix: e.prefix, NodeID: name, ProbeEvery: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
		OnResync: func() {
			tb.mu.Lock()
			tb.resyncs++
			tb.mu.Unlock()
		},
		OnSubscribed: func(chs []string) {
			tb.mu.Lock()
			tb.subs = append(tb.subs, chs...)
			tb.mu.Unlock()
		},
	})
	tb.SetHandler(func(env *Envelope) {
		tb.mu.Lock()
		tb.got[env.ID]++
		tb.order = append(tb.order, env.ID)
		tb.mu.Unlock()
	})
	return tb
}

func (tb *testBroker) received(id string) int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.got[id]
}

func (tb *testBroker) subscribed() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.subs)
}

func (tb *testBroker) resynced() int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.resyncs
}

// listen starts listening to chs and waits until OnSubscribed reported
// exactly them, once each.
func (tb *testBroker) listen(t *testing.T, chs ...string) {
	t.Helper()
	before := len(tb.subscribed())
	for _, c := range chs {
		tb.Listen(c, true)
	}
	want := slices.Sorted(slices.Values(chs))
	var got []string
	waitFor(t, tb.name+" subscribed to "+strings.Join(want, ","), func() bool {
		got = slices.Sorted(slices.Values(tb.subscribed()[before:]))
		return len(got) >= len(want)
	})
	time.Sleep(50 * time.Millisecond) // nothing more comes
	got = slices.Sorted(slices.Values(tb.subscribed()[before:]))
	if !slices.Equal(got, want) {
		t.Fatalf("%s: OnSubscribed reported %v, want %v", tb.name, got, want)
	}
}

// publish sends an envelope with id on chs and fails the test on error.
func (tb *testBroker) publish(t *testing.T, id string, chs ...string) {
	t.Helper()
	if err := tb.Publish(context.Background(), []Outgoing{{Channels: chs, Env: &Envelope{ID: id, Kind: KindPush}}}); err != nil {
		t.Fatalf("%s: Publish %s: %v", tb.name, id, err)
	}
}

// waitReceived waits until tb got the envelope id.
func (tb *testBroker) waitReceived(t *testing.T, id string) {
	t.Helper()
	waitFor(t, tb.name+" receives "+id, func() bool { return tb.received(id) > 0 })
}

// shardGroups returns broker channels of n groups: on a cluster, each on
// a different master (n at most the number of masters).
func shardGroups(t *testing.T, e *redisEnv, b *RedisBroker, n int) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for i := 0; len(out) < n; i++ {
		if i > 10000 {
			t.Fatalf("no %d groups on distinct masters", n)
		}
		c := GroupChannel("grp" + strconv.Itoa(i))
		addr := e.node(t, b.channel(c)).Options().Addr
		if e.cluster && seen[addr] {
			continue
		}
		seen[addr] = true
		out = append(out, c)
	}
	return out
}

// subscribers counts the subscribers of the Redis channel ch.
func subscribers(t *testing.T, e *redisEnv, ch string) int64 {
	t.Helper()
	ctx := context.Background()
	node := e.node(t, ch)
	var m map[string]int64
	var err error
	if e.cluster {
		m, err = node.PubSubShardNumSub(ctx, ch).Result()
	} else {
		m, err = node.PubSubNumSub(ctx, ch).Result()
	}
	if err != nil {
		t.Fatal(err)
	}
	return m[ch]
}

// TestRedisBrokerListen: OnSubscribed reports exactly the channels
// listened to, on every shard; an envelope published by another node
// reaches the handler; after unlisten none does.
func TestRedisBrokerListen(t *testing.T) { redisEnvs(t, testRedisBrokerListen) }

func testRedisBrokerListen(t *testing.T, e *redisEnv) {
	a := startBroker(t, e, "a")
	b := newTestBroker(t, e, "b") // publishes without Run
	chs := append(shardGroups(t, e, a.RedisBroker, 3), UserChannel("alice"))
	a.listen(t, chs...)
	for _, c := range chs {
		b.publish(t, "b/"+c, c)
	}
	for _, c := range chs {
		a.waitReceived(t, "b/"+c)
	}
	b.publish(t, "b/two", chs[1], chs[2])
	a.waitReceived(t, "b/two")

	a.Listen(chs[0], false)
	waitFor(t, "unsubscribed", func() bool { return subscribers(t, e, a.channel(chs[0])) == 0 })
	b.publish(t, "b/after", chs[0])
	b.publish(t, "b/marker", chs[1])
	a.waitReceived(t, "b/marker")
	time.Sleep(100 * time.Millisecond)
	if n := a.received("b/after"); n != 0 {
		t.Errorf("received %d envelopes after unlisten", n)
	}
	if n := subscribers(t, e, a.channel(chs[1])); n != 1 {
		t.Errorf("%s has %d subscribers, want 1", chs[1], n)
	}
	if subs := a.subscribed(); len(subs) != len(chs) {
		t.Errorf("OnSubscribed reported %v after the first subscription", subs)
	}
	if n := a.resynced(); n != 0 {
		t.Errorf("%d resyncs without a loss", n)
	}
}

// TestRedisBrokerListenChurn: a channel listened to and left over and over
// (faster than Redis confirms) ends subscribed once when last listened
// to, and not at all when last left.
func TestRedisBrokerListenChurn(t *testing.T) { redisEnvs(t, testRedisBrokerListenChurn) }

func testRedisBrokerListenChurn(t *testing.T, e *redisEnv) {
	a := startBroker(t, e, "a")
	b := newTestBroker(t, e, "b")
	chs := shardGroups(t, e, a.RedisBroker, 3)
	for i := range 300 {
		a.Listen(chs[i%len(chs)], i%2 == 0)
		if i%7 == 0 {
			time.Sleep(time.Duration(i%5) * 100 * time.Microsecond)
		}
	}
	for _, c := range chs {
		a.Listen(c, true)
	}
	a.Listen(chs[2], false)
	for _, c := range chs[:2] {
		waitFor(t, c+" subscribed", func() bool { return subscribers(t, e, a.channel(c)) == 1 })
		b.publish(t, "churn/"+c, c)
		a.waitReceived(t, "churn/"+c)
	}
	waitFor(t, chs[2]+" left", func() bool { return subscribers(t, e, a.channel(chs[2])) == 0 })
	time.Sleep(100 * time.Millisecond)
	for _, c := range chs {
		want := int64(1)
		if c == chs[2] {
			want = 0
		}
		if n := subscribers(t, e, a.channel(c)); n != want {
			t.Errorf("%s: %d subscribers, want %d", c, n, want)
		}
	}
	if n := a.resynced(); n != 0 {
		t.Errorf("%d resyncs without a loss", n)
	}
}

// TestRedisBrokerConcurrentPublish: 64 goroutines publishing at once; every
// listener gets every envelope exactly once, and the publishes share
// round trips.
func TestRedisBrokerConcurrentPublish(t *testing.T) { redisEnvs(t, testRedisBrokerConcurrentPublish) }

func testRedisBrokerConcurrentPublish(t *testing.T, e *redisEnv) {
	l1, l2 := startBroker(t, e, "l1"), startBroker(t, e, "l2")
	p := newTestBroker(t, e, "p")
	trips := roundTrips{delay: time.Millisecond} // a network's round trip: callers pile up meanwhile
	p.rdb.AddHook(&trips)
	chs := shardGroups(t, e, p.RedisBroker, 3)
	l1.listen(t, chs...)
	l2.listen(t, chs...)
	const goroutines, each = 64, 40
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("p/%d/%d", g, i)
				if err := p.Publish(context.Background(), []Outgoing{{Channels: []string{chs[(g+i)%len(chs)]}, Env: &Envelope{ID: id, Kind: KindPush}}}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d publishes failed", n)
	}
	total := goroutines * each
	for _, l := range []*testBroker{l1, l2} {
		waitFor(t, l.name+" receives everything", func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			return len(l.order) >= total
		})
	}
	time.Sleep(100 * time.Millisecond)
	for _, l := range []*testBroker{l1, l2} {
		l.mu.Lock()
		if len(l.order) != total || len(l.got) != total {
			t.Errorf("%s: %d envelopes, %d distinct, want %d", l.name, len(l.order), len(l.got), total)
		}
		l.mu.Unlock()
	}
	if n := trips.n.Load(); n > int64(total/8) {
		t.Errorf("%d publishes took %d round trips", total, n)
	} else {
		t.Logf("%d publishes took %d round trips", total, n)
	}
}

// roundTrips counts commands and pipelines sent, each delayed by delay.
type roundTrips struct {
	n     atomic.Int64
	delay time.Duration
}

func (*roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		time.Sleep(r.delay)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		time.Sleep(r.delay)
		return next(ctx, cmds)
	}
}

// TestRedisBrokerPublishOrder: one caller's envelopes on one channel
// arrive in the order published.
func TestRedisBrokerPublishOrder(t *testing.T) { redisEnvs(t, testRedisBrokerPublishOrder) }

func testRedisBrokerPublishOrder(t *testing.T, e *redisEnv) {
	l := startBroker(t, e, "l")
	p := newTestBroker(t, e, "p")
	c := GroupChannel("ordered")
	l.listen(t, c)
	var want []string
	for i := range 200 {
		id := "p/" + strconv.Itoa(i)
		want = append(want, id)
		p.publish(t, id, c)
	}
	l.waitReceived(t, want[len(want)-1])
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Equal(l.order, want) {
		t.Errorf("received out of order: %v", l.order)
	}
}

// TestRedisBrokerPublishCanceled: a Publish whose ctx has ended returns
// its error, and the next one works.
func TestRedisBrokerPublishCanceled(t *testing.T) { redisEnvs(t, testRedisBrokerPublishCanceled) }

func testRedisBrokerPublishCanceled(t *testing.T, e *redisEnv) {
	p := newTestBroker(t, e, "p")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Publish(ctx, []Outgoing{{Channels: []string{GroupChannel("x")}, Env: &Envelope{}}}); err != context.Canceled {
		t.Errorf("Publish with an ended ctx: %v", err)
	}
	p.publish(t, "p/1", GroupChannel("x"))
}

// TestRedisBrokerKilledConnection: Redis closes the node's subscription
// connection (of the shard of one channel); the node resubscribes, calls
// OnResync, and envelopes flow again.
func TestRedisBrokerKilledConnection(t *testing.T) { redisEnvs(t, testRedisBrokerKilledConnection) }

func testRedisBrokerKilledConnection(t *testing.T, e *redisEnv) {
	a := startBroker(t, e, "a")
	b := newTestBroker(t, e, "b")
	chs := shardGroups(t, e, a.RedisBroker, 3)
	a.listen(t, chs...)
	b.publish(t, "before", chs[0])
	a.waitReceived(t, "before")
	node := e.node(t, a.channel(chs[0]))
	if n := killPubSub(t, node, e.prefix+":a"); n == 0 {
		t.Fatal("no subscription connection to kill")
	}
	waitFor(t, "OnResync", func() bool { return a.resynced() > 0 })
	if e.cluster {
		// The killed shard's channel is subscribed again and reported.
		waitFor(t, chs[0]+" reported again", func() bool {
			return len(slices.DeleteFunc(a.subscribed(), func(c string) bool { return c != chs[0] })) == 2
		})
	}
	for i, c := range chs {
		id := "after/" + strconv.Itoa(i)
		b.publish(t, id, c)
		a.waitReceived(t, id)
	}
}

// killPubSub closes the pub/sub connections named name on node.
func killPubSub(t *testing.T, node *redis.Client, name string) int {
	t.Helper()
	ctx := context.Background()
	list, err := node.Do(ctx, "client", "list", "type", "pubsub").Text()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(list) {
		fields := map[string]string{}
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] != name {
			continue
		}
		if err := node.Do(ctx, "client", "kill", "id", fields["id"]).Err(); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// movable is a slot holding no key, and the masters to move it between.
type movable struct {
	slot       int64
	home, away *redis.Client // its owner, another master
	masters    []*redis.Client
}

// movableChannel finds a group channel of b whose slot holds no key, so
// the test can move it (back to home when the test ends).
func movableChannel(t *testing.T, e *redisEnv, b *RedisBroker, base string) (string, *movable) {
	t.Helper()
	admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(os.Getenv("CHAT_TEST_REDIS_CLUSTER_ADDRS"), ",")})
	t.Cleanup(func() { _ = admin.Close() })
	ctx := context.Background()
	m := &movable{}
	var c string
	for i := 0; ; i++ {
		c = GroupChannel(base + strconv.Itoa(i))
		m.slot = admin.ClusterKeySlot(ctx, b.channel(c)).Val()
		if n, err := e.node(t, b.channel(c)).ClusterCountKeysInSlot(ctx, int(m.slot)).Result(); err == nil && n == 0 {
			break
		}
	}
	m.home = e.node(t, b.channel(c))
	var mu sync.Mutex
	_ = admin.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		m.masters = append(m.masters, c)
		if c.Options().Addr != m.home.Options().Addr && m.away == nil {
			m.away = c
		}
		return nil
	})
	if m.away == nil {
		t.Skip("a single master")
	}
	t.Cleanup(func() { moveSlot(t, m.masters, m.slot, m.away, m.home) })
	return c, m
}

// shardSubscribers counts the subscribers of the Redis channel ch on node.
func shardSubscribers(node *redis.Client, ch string) int64 {
	n, err := node.PubSubShardNumSub(context.Background(), ch).Result()
	if err != nil {
		return -1
	}
	return n[ch]
}

// TestRedisBrokerSlotMoves: the slot of a group's channel moves to
// another master (CLUSTER SETSLOT); Redis unsubscribes the node there, the
// node subscribes on the new owner, reports the channel to OnSubscribed
// again (its sessions resync) and envelopes flow. Then it moves back.
func TestRedisBrokerSlotMoves(t *testing.T) {
	e := clusterEnv(t)
	a := startBroker(t, e, "a")
	b := newTestBroker(t, e, "b")
	c, m := movableChannel(t, e, a.RedisBroker, "moving")
	a.listen(t, c, UserChannel("alice"))
	b.publish(t, "home", c)
	a.waitReceived(t, "home")
	for i, to := range []*redis.Client{m.away, m.home} {
		from := m.home
		if to == m.home {
			from = m.away
		}
		before := len(a.subscribed())
		moveSlot(t, m.masters, m.slot, from, to)
		waitFor(t, "the channel reported again", func() bool { return slices.Contains(a.subscribed()[before:], c) })
		waitFor(t, "subscribed on "+to.Options().Addr, func() bool { return shardSubscribers(to, a.channel(c)) == 1 })
		id := "moved/" + strconv.Itoa(i)
		b.publish(t, id, c)
		a.waitReceived(t, id)
		if subs := a.subscribed()[before:]; !slices.Equal(subs, []string{c}) {
			t.Errorf("after the move OnSubscribed reported %v, want only %s", subs, c)
		}
	}
	if n := a.resynced(); n != 0 {
		t.Errorf("%d resyncs for a slot move", n)
	}
}

// TestRedisBrokerStaleSlots: the node's slot map is stale (the slot moved
// while the node listened to nothing there): its SSUBSCRIBE goes to the old
// owner, which answers MOVED; the node refreshes the map, subscribes on the
// new owner, and reports the channel once.
func TestRedisBrokerStaleSlots(t *testing.T) {
	e := clusterEnv(t)
	a := startBroker(t, e, "a")
	b := newTestBroker(t, e, "b")
	c, m := movableChannel(t, e, a.RedisBroker, "stale")
	a.listen(t, shardGroups(t, e, a.RedisBroker, 3)...) // a shard on every master, the slot map loaded
	moveSlot(t, m.masters, m.slot, m.home, m.away)
	a.listen(t, c)
	if n := shardSubscribers(m.away, a.channel(c)); n != 1 {
		t.Errorf("%d subscribers on the new owner", n)
	}
	b.publish(t, "moved", c)
	a.waitReceived(t, "moved")
}

// moveSlot gives slot (holding no key) from one master to another, the
// way redis-cli --cluster reshard does; a no-op when to owns it already.
func moveSlot(t *testing.T, masters []*redis.Client, slot int64, from, to *redis.Client) {
	t.Helper()
	ctx := context.Background()
	fromID, toID := from.ClusterMyID(ctx).Val(), to.ClusterMyID(ctx).Val()
	if owner(t, from, slot) == toID {
		return
	}
	steps := []struct {
		c    *redis.Client
		args []any
	}{
		{to, []any{"cluster", "setslot", slot, "importing", fromID}},
		{from, []any{"cluster", "setslot", slot, "migrating", toID}},
		{to, []any{"cluster", "setslot", slot, "node", toID}},
		{from, []any{"cluster", "setslot", slot, "node", toID}},
	}
	for _, m := range masters {
		if m.Options().Addr != from.Options().Addr && m.Options().Addr != to.Options().Addr {
			steps = append(steps, struct {
				c    *redis.Client
				args []any
			}{m, []any{"cluster", "setslot", slot, "node", toID}})
		}
	}
	for _, s := range steps {
		if err := s.c.Do(ctx, s.args...).Err(); err != nil {
			t.Fatalf("%v on %s: %v", s.args, s.c.Options().Addr, err)
		}
	}
}

// owner returns the ID of the node that c believes owns slot.
func owner(t *testing.T, c *redis.Client, slot int64) string {
	t.Helper()
	slots, err := c.ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			return s.Nodes[0].ID
		}
	}
	return ""
}

// TestRedisBrokerSubscribedMeansListening: when OnSubscribed reports a
// channel, the node listens to it: an envelope published from inside the
// callback arrives, for each of 30 channels.
func TestRedisBrokerSubscribedMeansListening(t *testing.T) {
	redisEnvs(t, testRedisBrokerSubscribedMeansListening)
}

func testRedisBrokerSubscribedMeansListening(t *testing.T, e *redisEnv) {
	pub := newTestBroker(t, e, "pub")
	var mu sync.Mutex
	got := map[string]bool{}
	br := NewRedisBroker(e.client(t, e.prefix+":sub"), RedisBrokerOptions{
		Prefix: e.prefix, NodeID: "sub", Logger: slog.New(slog.DiscardHandler),
		OnSubscribed: func(chs []string) {
			for _, c := range chs {
				// Run waits while this publishes: nothing of the channel
				// can be read before the envelope is in Redis.
				_ = pub.Publish(context.Background(), []Outgoing{{Channels: []string{c}, Env: &Envelope{ID: "first/" + c, Kind: KindDropGroup, GroupID: c}}})
			}
		},
	})
	br.SetHandler(func(env *Envelope) {
		mu.Lock()
		got[env.ID] = true
		mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var chs []string
	for i := range 30 {
		c := GroupChannel(fmt.Sprint("sml", i))
		chs = append(chs, c)
		br.Listen(c, true)
	}
	waitFor(t, "every first envelope", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range chs {
			if !got["first/"+c] {
				return false
			}
		}
		return true
	})
}

// TestRedisBrokerDropsSeen: an envelope whose ID the hub has seen (its
// own, echoed back) never reaches the handler; the others do.
func TestRedisBrokerDropsSeen(t *testing.T) { redisEnvs(t, testRedisBrokerDropsSeen) }

func testRedisBrokerDropsSeen(t *testing.T, e *redisEnv) {
	a := startBroker(t, e, "a")
	a.SetSeen(func(id string) bool { return id == "a/own" })
	ch := UserChannel("alice")
	a.listen(t, ch)
	a.publish(t, "a/own", ch)
	a.publish(t, "a/marker", ch)
	a.waitReceived(t, "a/marker")
	if n := a.received("a/own"); n != 0 {
		t.Errorf("a seen envelope reached the handler %d times", n)
	}
	// A batch (two envelopes on one channel) is dropped only when all of
	// it is seen; otherwise every envelope reaches the handler, seen ones
	// too (the hub drops those by ID).
	a.SetSeen(func(id string) bool { return strings.HasPrefix(id, "a/own") })
	batch := func(ids ...string) {
		var out []Outgoing
		for _, id := range ids {
			out = append(out, Outgoing{Channels: []string{ch}, Env: &Envelope{ID: id, Kind: KindPush}})
		}
		if err := a.Publish(context.Background(), out); err != nil {
			t.Fatal(err)
		}
	}
	batch("a/own1", "a/own2")
	batch("a/own3", "a/new")
	a.waitReceived(t, "a/new")
	if n1, n2, n3 := a.received("a/own1"), a.received("a/own2"), a.received("a/own3"); n1 != 0 || n2 != 0 || n3 != 1 {
		t.Errorf("own1, own2 (a batch all seen), own3 (beside an unseen one) reached the handler %d, %d, %d times; want 0, 0, 1", n1, n2, n3)
	}
}

// TestRedisBrokerPublishAsyncOrder: PublishAsync and Publish calls of one
// node, interleaved, arrive in the order made, and every PublishAsync
// gets its outcome once.
func TestRedisBrokerPublishAsyncOrder(t *testing.T) { redisEnvs(t, testRedisBrokerPublishAsyncOrder) }

func testRedisBrokerPublishAsyncOrder(t *testing.T, e *redisEnv) {
	l := startBroker(t, e, "l")
	p := newTestBroker(t, e, "p")
	c := GroupChannel("ordered")
	l.listen(t, c)
	var want []string
	var answered, failed atomic.Int64
	for i := range 300 {
		id := "p/" + strconv.Itoa(i)
		want = append(want, id)
		if i%7 == 3 {
			p.publish(t, id, c)
			continue
		}
		p.PublishAsync(context.Background(), []Outgoing{{Channels: []string{c}, Env: &Envelope{ID: id, Kind: KindPush}}}, func(err error) {
			answered.Add(1)
			if err != nil {
				failed.Add(1)
			}
		})
	}
	l.waitReceived(t, want[len(want)-1])
	waitFor(t, "every PublishAsync answered", func() bool { return answered.Load() == 300-43 })
	if n := failed.Load(); n != 0 {
		t.Errorf("%d PublishAsync calls failed", n)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Equal(l.order, want) {
		t.Errorf("received out of order: %v", l.order)
	}
	time.Sleep(50 * time.Millisecond)
	if n := answered.Load(); n != 300-43 {
		t.Errorf("%d answers, want %d", n, 300-43)
	}
}

// TestRedisBrokerPublishAsyncBounded: while maxPendingPosts calls are
// unanswered (Redis does not answer) the next PublishAsync waits, and
// gives up with its ctx; once Redis fails the pending ones, they get the
// error and the broker takes calls again.
func TestRedisBrokerPublishAsyncBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	defer func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	go func() { // a "Redis" that reads and never answers
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, conn) }()
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: 300 * time.Millisecond,
		MaxRetries: -1, Protocol: 2, DisableIdentity: true})
	defer rdb.Close()
	b := NewRedisBroker(rdb, RedisBrokerOptions{Prefix: "bounded", NodeID: "n", Logger: slog.New(slog.DiscardHandler)})
	b.posts = make(chan struct{}, 2)
	out := []Outgoing{{Channels: []string{GroupChannel("g")}, Env: &Envelope{ID: "n/1", Kind: KindPush}}}
	errs := make(chan error, 4)
	for range 2 {
		b.PublishAsync(context.Background(), out, func(err error) { errs <- err })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	b.PublishAsync(ctx, out, func(err error) { errs <- err })
	if err := <-errs; err != context.DeadlineExceeded {
		t.Fatalf("the call beyond the bound: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("the call beyond the bound gave up after %v, before its ctx ended", d)
	}
	for range 2 {
		if err := <-errs; err == nil {
			t.Error("a publish Redis never answered succeeded")
		}
	}
	b.PublishAsync(context.Background(), out, func(err error) { errs <- err })
	if err := <-errs; err == nil {
		t.Error("a publish Redis never answered succeeded")
	}
}

// TestRedisBrokerPublishAsyncEndedCtx: with room in the queue a post
// goes out even when its ctx has ended (a request whose session left).
func TestRedisBrokerPublishAsyncEndedCtx(t *testing.T) {
	e := standaloneEnv(t)
	l := startBroker(t, e, "l")
	p := newTestBroker(t, e, "p")
	c := GroupChannel("ended")
	l.listen(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errs := make(chan error, 1)
	p.PublishAsync(ctx, []Outgoing{{Channels: []string{c}, Env: &Envelope{ID: "p/1", Kind: KindPush}}}, func(err error) { errs <- err })
	if err := <-errs; err != nil {
		t.Errorf("PublishAsync with an ended ctx and room: %v", err)
	}
	l.waitReceived(t, "p/1")
}
