// Package cluster runs several chatd processes on one Redis and checks
// that they act as one service (messages, tips, notices, live rooms,
// presence, a killed node). It needs CHAT_TEST_REDIS_URL and a Go
// toolchain to build chatd; it is skipped otherwise.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"chatd/groups"
	"chatd/server/auth"
)

const secret = "cluster-test-secret-0123456789"

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// build compiles chatd once per test binary.
func build(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chatd-cluster")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "chatd")
		out, err := exec.Command("go", "build", "-o", binary, "chatd/cmd/chatd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// node is one chatd process.
type node struct {
	id   string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// backend is where a cluster's nodes keep their state.
type backend struct {
	name string
	env  string // CHAT_REDIS_URL=... or CHAT_REDIS_CLUSTER_ADDRS=...
	rdb  func() redis.UniversalClient
}

// backends runs f on one Redis (CHAT_TEST_REDIS_URL) and on a Redis
// Cluster (CHAT_TEST_REDIS_CLUSTER_ADDRS, see test/redis-cluster.sh),
// each when configured.
func backends(t *testing.T, f func(t *testing.T, b backend)) {
	url := os.Getenv("CHAT_TEST_REDIS_URL")
	addrs := os.Getenv("CHAT_TEST_REDIS_CLUSTER_ADDRS")
	t.Run("redis", func(t *testing.T) {
		if url == "" {
			t.Skip("CHAT_TEST_REDIS_URL not set")
		}
		f(t, backend{"redis", "CHAT_REDIS_URL=" + url, func() redis.UniversalClient {
			opt, _ := redis.ParseURL(url)
			return redis.NewClient(opt)
		}})
	})
	t.Run("redis-cluster", func(t *testing.T) {
		if addrs == "" {
			t.Skip("CHAT_TEST_REDIS_CLUSTER_ADDRS not set")
		}
		f(t, backend{"cluster", "CHAT_REDIS_CLUSTER_ADDRS=" + addrs, func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
		}})
	})
}

// cluster starts n nodes on b under a key prefix of their own, stopping
// them and deleting the keys at the end.
func cluster(t *testing.T, b backend, n int) []*node {
	t.Helper()
	bin := build(t)
	r := make([]byte, 6)
	_, _ = rand.Read(r)
	prefix := "chattest" + hex.EncodeToString(r)
	t.Cleanup(func() { deleteKeys(b.rdb(), prefix) })
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = start(t, bin, b.env, prefix, fmt.Sprintf("n%d", i+1))
	}
	return nodes
}

func start(t *testing.T, bin, store, prefix, id string) *node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CHAT_ADDR="+addr, store, "CHAT_REDIS_PREFIX="+prefix,
		"CHAT_TOKEN_SECRET="+secret, "CHAT_NODE_ID="+id, "CHAT_LOG_LEVEL=warn", "CHAT_DRAIN_TIMEOUT=200ms")
	cmd.Stderr = os.Stderr // warnings and errors only (CHAT_LOG_LEVEL=warn)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	nd := &node{id: id, addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(nd.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-nd.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-nd.done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("node %s not ready", id)
	return nil
}

// deleteKeys removes every key under prefix, on every master of a cluster.
func deleteKeys(rdb redis.UniversalClient, prefix string) {
	defer rdb.Close()
	ctx := context.Background()
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Unlink(ctx, iter.Val())
		}
		return iter.Err()
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, scan)
		return
	}
	_ = scan(ctx, rdb.(*redis.Client))
}

// client is a WebSocket client of one node.
type client struct {
	t       *testing.T
	name    string
	c       *websocket.Conn
	mu      sync.Mutex
	msgs    []groups.Message
	notes   []int
	reply   chan frame
	closed  chan struct{}
	nextID  int
	resyncs int // resync pushes received (guarded by mu)
}

type frame struct {
	ID      json.RawMessage `json:"id"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Event   string          `json:"event"`
}

func dial(t *testing.T, nd *node, user string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+nd.addr+"/ws", nil)
	if err != nil {
		t.Fatalf("dial %s: %v", nd.id, err)
	}
	c.SetReadLimit(1 << 20)
	cl := &client{t: t, name: user + "@" + nd.id, c: c, reply: make(chan frame, 100), closed: make(chan struct{})}
	go cl.read()
	t.Cleanup(func() { _ = c.CloseNow(); <-cl.closed })
	if user != "" {
		tok, _ := auth.Sign([]byte(secret), user, time.Hour, time.Now())
		cl.ok("login", map[string]any{"userID": user, "userSig": tok})
	}
	return cl
}

func (cl *client) read() {
	defer close(cl.closed)
	for {
		_, p, err := cl.c.Read(context.Background())
		if err != nil {
			return
		}
		var f frame
		_ = json.Unmarshal(p, &f)
		switch f.Event {
		case "":
			cl.reply <- f
		case "onMessageReceived":
			var ms []groups.Message
			_ = json.Unmarshal(f.Data, &ms)
			cl.mu.Lock()
			cl.msgs = append(cl.msgs, ms...)
			cl.mu.Unlock()
		case "resync":
			cl.mu.Lock()
			cl.resyncs++
			cl.mu.Unlock()
		case "receiveGroupSystemNotice":
			var d struct{ Type int }
			_ = json.Unmarshal(f.Data, &d)
			cl.mu.Lock()
			cl.notes = append(cl.notes, d.Type)
			cl.mu.Unlock()
		}
	}
}

func (cl *client) call(op string, data any) frame {
	cl.t.Helper()
	cl.nextID++
	b, _ := json.Marshal(map[string]any{"id": cl.nextID, "op": op, "data": data})
	if err := cl.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		cl.t.Fatalf("%s: write: %v", cl.name, err)
	}
	select {
	case f := <-cl.reply:
		return f
	case <-time.After(10 * time.Second):
		cl.t.Fatalf("%s: no reply to %s", cl.name, op)
	}
	return frame{}
}

func (cl *client) ok(op string, data any, out ...any) {
	cl.t.Helper()
	f := cl.call(op, data)
	if f.Code != 0 {
		cl.t.Fatalf("%s: %s: %d %s", cl.name, op, f.Code, f.Message)
	}
	for _, o := range out {
		_ = json.Unmarshal(f.Data, o)
	}
}

// settle waits for nodes to start listening to the channels of groups
// their sessions just joined. A node subscribes to a group's channel when
// its first session joins; pushes sent in that instant can be missed (and
// are recovered by syncMessages), and on a Redis Cluster the instant is
// longer because PUBLISH travels the cluster bus.
func settle() { time.Sleep(300 * time.Millisecond) }

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// has reports whether the client got a message matching f.
func (cl *client) has(f func(m groups.Message) bool) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, m := range cl.msgs {
		if f(m) {
			return true
		}
	}
	return false
}

func (cl *client) hasNotice(typ int) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, n := range cl.notes {
		if n == typ {
			return true
		}
	}
	return false
}

func text(s string) func(groups.Message) bool {
	return func(m groups.Message) bool { return string(m.Payload) == `{"text":"`+s+`"}` }
}

func tip(typ int, user string) func(groups.Message) bool {
	return func(m groups.Message) bool {
		return m.Type == groups.GroupTipElem && strings.Contains(string(m.Payload), fmt.Sprintf(`"operationType":%d,`, typ)) &&
			strings.Contains(string(m.Payload), `"`+user+`"`)
	}
}

func send(cl *client, gid, s string) groups.Message {
	var r struct{ Message groups.Message }
	cl.ok("sendMessage", map[string]any{"to": gid, "type": "TIMTextElem", "payload": map[string]any{"text": s}}, &r)
	return r.Message
}

func TestMessagesTipsNoticesCrossNodes(t *testing.T) { backends(t, testMessagesTipsNoticesCrossNodes) }

func testMessagesTipsNoticesCrossNodes(t *testing.T, be backend) {
	ns := cluster(t, be, 3)
	alice1 := dial(t, ns[0], "alice")
	alice3 := dial(t, ns[2], "alice")
	bob := dial(t, ns[1], "bob")
	carol := dial(t, ns[2], "carol")
	var r struct{ Group struct{ GroupID string } }
	alice1.ok("createGroup", map[string]any{"name": "g", "type": "Public"}, &r)
	gid := r.Group.GroupID
	waitFor(t, 5*time.Second, "notice 6 on alice's other node", func() bool { return alice3.hasNotice(groups.NoticeCreated) })
	bob.ok("joinGroup", map[string]any{"groupID": gid})
	for _, cl := range []*client{alice1, alice3, bob} {
		waitFor(t, 5*time.Second, cl.name+" join tip", func() bool { return cl.has(tip(groups.TipJoin, "bob")) })
	}
	send(bob, gid, "hi from n2")
	for _, cl := range []*client{alice1, alice3} {
		waitFor(t, 5*time.Second, cl.name+" message", func() bool { return cl.has(text("hi from n2")) })
	}
	m := send(alice1, gid, "hi from n1")
	waitFor(t, 5*time.Second, "bob gets alice's message", func() bool { return bob.has(text("hi from n1")) })
	waitFor(t, 5*time.Second, "alice's other session gets flow out", func() bool {
		return alice3.has(func(x groups.Message) bool { return x.Sequence == m.Sequence && x.Flow == "out" })
	})
	alice1.ok("deleteGroupMember", map[string]any{"groupID": gid, "userIDList": []string{"bob"}})
	waitFor(t, 5*time.Second, "kick notice across nodes", func() bool { return bob.hasNotice(groups.NoticeKicked) })
	send(alice1, gid, "after kick")
	waitFor(t, 5*time.Second, "alice3 gets it", func() bool { return alice3.has(text("after kick")) })
	time.Sleep(200 * time.Millisecond)
	if bob.has(text("after kick")) || carol.has(func(groups.Message) bool { return true }) {
		t.Error("a kicked user or a bystander got a group message")
	}
}

func TestLiveRoomsAcrossNodes(t *testing.T) { backends(t, testLiveRoomsAcrossNodes) }

func testLiveRoomsAcrossNodes(t *testing.T, be backend) {
	ns := cluster(t, be, 3)
	owner := dial(t, ns[0], "owner")
	var a, b struct{ Group struct{ GroupID string } }
	owner.ok("createGroup", map[string]any{"name": "A", "type": "AVChatRoom"}, &a)
	owner.ok("createGroup", map[string]any{"name": "B", "type": "AVChatRoom"}, &b)
	roomA, roomB := a.Group.GroupID, b.Group.GroupID
	u1 := dial(t, ns[0], "u")
	u1.ok("joinGroup", map[string]any{"groupID": roomA})
	watcher := dial(t, ns[1], "w")
	watcher.ok("joinGroup", map[string]any{"groupID": roomA})
	var viewers []*client
	for _, nd := range ns {
		v := dial(t, nd, "")
		v.ok("joinGroup", map[string]any{"groupID": roomB, "type": "AVChatRoom"})
		viewers = append(viewers, v)
	}
	owner.ok("joinGroup", map[string]any{"groupID": roomA})
	send(owner, roomA, "A1")
	waitFor(t, 5*time.Second, "u on n1 hears A", func() bool { return u1.has(text("A1")) })
	// u joins B through node 3: its node-1 session leaves A.
	u3 := dial(t, ns[2], "u")
	u3.ok("joinGroup", map[string]any{"groupID": roomB})
	waitFor(t, 5*time.Second, "tip 2 for u in A", func() bool { return watcher.has(tip(groups.TipQuit, "u")) })
	send(owner, roomA, "A2")
	waitFor(t, 5*time.Second, "watcher hears A2", func() bool { return watcher.has(text("A2")) })
	time.Sleep(300 * time.Millisecond)
	if u1.has(text("A2")) {
		t.Error("u's node-1 session still receives room A after joining B on node 3")
	}
	if f := u1.call("sendMessage", map[string]any{"to": roomA, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}}); f.Code != groups.CodeNoPermission {
		t.Errorf("u sends to A after leaving: %d", f.Code)
	}
	// The online count of B: three anonymous viewers, one per node, and u.
	waitFor(t, 10*time.Second, "online count 4", func() bool {
		var c struct{ MemberCount int }
		viewers[0].ok("getGroupOnlineMemberCount", map[string]any{"groupID": roomB}, &c)
		return c.MemberCount == 4
	})
	send(u3, roomB, "B1")
	for _, v := range viewers {
		waitFor(t, 5*time.Second, v.name+" hears B", func() bool { return v.has(text("B1")) })
	}
	// Joins on two nodes within a second: one batched tip for the room.
	dial(t, ns[0], "j1").ok("joinGroup", map[string]any{"groupID": roomB})
	dial(t, ns[1], "j2").ok("joinGroup", map[string]any{"groupID": roomB})
	waitFor(t, 5*time.Second, "one tip 1 listing j1 and j2", func() bool {
		return viewers[2].has(func(m groups.Message) bool {
			return tip(groups.TipJoin, "j1")(m) && strings.Contains(string(m.Payload), `"j2"`)
		})
	})
}

// TestKilledNode: kill -9 one node; its live sessions stop counting within
// 30 s, and its clients, reconnecting to another node, recover what they
// missed with syncMessages.
func TestKilledNode(t *testing.T) { backends(t, testKilledNode) }

func testKilledNode(t *testing.T, be backend) {
	ns := cluster(t, be, 3)
	owner := dial(t, ns[0], "owner")
	var r, live struct{ Group struct{ GroupID string } }
	owner.ok("createGroup", map[string]any{"name": "g", "type": "Public"}, &r)
	owner.ok("createGroup", map[string]any{"name": "L", "type": "AVChatRoom"}, &live)
	gid := r.Group.GroupID
	victim := dial(t, ns[2], "v")
	victim.ok("joinGroup", map[string]any{"groupID": gid})
	victim.ok("joinGroup", map[string]any{"groupID": live.Group.GroupID})
	settle()
	last := send(owner, gid, "before").Sequence
	waitFor(t, 5*time.Second, "victim hears", func() bool { return victim.has(text("before")) })
	_ = ns[2].cmd.Process.Kill()
	<-ns[2].done
	var sent []uint64
	for i := 0; i < 20; i++ {
		sent = append(sent, send(owner, gid, fmt.Sprint(i)).Sequence)
	}
	waitFor(t, 35*time.Second, "the dead node's session stops counting", func() bool {
		var c struct{ MemberCount int }
		owner.ok("getGroupOnlineMemberCount", map[string]any{"groupID": live.Group.GroupID}, &c)
		return c.MemberCount == 0
	})
	back := dial(t, ns[1], "v")
	var s struct {
		MessageList []groups.Message
		IsCompleted bool
	}
	back.ok("syncMessages", map[string]any{"groupID": gid, "afterSequence": last}, &s)
	if len(s.MessageList) != 20 || !s.IsCompleted {
		t.Fatalf("recovered %d messages", len(s.MessageList))
	}
	for i, m := range s.MessageList {
		if m.Sequence != sent[i] {
			t.Fatalf("message %d: sequence %d, want %d", i, m.Sequence, sent[i])
		}
	}
}

// TestOrderingAcrossNodes: 9 senders on three nodes × 50 messages into one
// group; a reader on every node sees strictly increasing sequences with
// no gap.
func TestOrderingAcrossNodes(t *testing.T) { backends(t, testOrderingAcrossNodes) }

func testOrderingAcrossNodes(t *testing.T, be backend) {
	ns := cluster(t, be, 3)
	owner := dial(t, ns[0], "owner")
	var r struct{ Group struct{ GroupID string } }
	owner.ok("createGroup", map[string]any{"name": "busy", "type": "Public"}, &r)
	gid := r.Group.GroupID
	var readers, senders []*client
	for i, nd := range ns {
		rd := dial(t, nd, fmt.Sprintf("r%d", i))
		rd.ok("joinGroup", map[string]any{"groupID": gid})
		readers = append(readers, rd)
		for j := 0; j < 3; j++ {
			s := dial(t, nd, fmt.Sprintf("s%d%d", i, j))
			s.ok("joinGroup", map[string]any{"groupID": gid})
			senders = append(senders, s)
		}
	}
	settle() // every node listens to the group
	const each = 50
	var wg sync.WaitGroup
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < each; k++ {
				b, _ := json.Marshal(map[string]any{"id": k, "op": "sendMessage", "data": map[string]any{"to": gid, "type": "TIMTextElem", "payload": map[string]any{"text": "m"}}})
				_ = s.c.Write(context.Background(), websocket.MessageText, b)
				<-s.reply
			}
		}()
	}
	wg.Wait()
	total := len(senders) * each
	for _, rd := range readers {
		chats := func() (n int, seqs map[uint64]bool, resyncs int) {
			rd.mu.Lock()
			defer rd.mu.Unlock()
			seqs = map[uint64]bool{}
			for _, m := range rd.msgs {
				if m.Chat() {
					n++
					seqs[m.Sequence] = true
				}
			}
			return n, seqs, rd.resyncs
		}
		deadline := time.Now().Add(10 * time.Second)
		for n, _, _ := chats(); n < total && time.Now().Before(deadline); n, _, _ = chats() {
			time.Sleep(10 * time.Millisecond)
		}
		if n, seqs, resyncs := chats(); n < total {
			// A push that reaches a node more than the reorder wait after a
			// later one is dropped there (pushes never go backwards); the
			// client recovers it with syncMessages, as here. Under a loaded
			// machine (the race detector, parallel test packages) that
			// happens; every message must still be in the history.
			after := uint64(0) // the reader joined before every chat message
			got := map[uint64]bool{}
			for {
				var page struct {
					MessageList []groups.Message
					IsCompleted bool
				}
				rd.ok("syncMessages", map[string]any{"groupID": gid, "afterSequence": after}, &page)
				for _, m := range page.MessageList {
					if m.Chat() {
						got[m.Sequence] = true
					}
					after = max(after, m.Sequence)
				}
				if page.IsCompleted || len(page.MessageList) == 0 {
					break
				}
			}
			var missing []uint64
			for q := range got {
				if !seqs[q] {
					missing = append(missing, q)
				}
			}
			t.Logf("%s: %d of %d messages pushed (%d resync pushes); syncMessages recovers the other %d", rd.name, n, total, resyncs, len(missing))
			if len(got) < total || n+len(missing) < total {
				t.Fatalf("%s: %d pushed and %d more in the history, want %d", rd.name, n, len(missing), total)
			}
		}
		rd.mu.Lock()
		prev := uint64(0)
		for _, m := range rd.msgs {
			if m.Chat() && prev > 0 && m.Sequence != prev+1 {
				t.Errorf("%s: sequence %d after %d", rd.name, m.Sequence, prev)
			}
			if m.Chat() {
				prev = m.Sequence
			}
		}
		rd.mu.Unlock()
	}
}

// TestRedisRestartResync: Redis goes away under a node: /readyz turns 503;
// when Redis is back the node resubscribes, its sessions get the resync
// push, /readyz is 200 again and messages flow.
func TestRedisRestartResync(t *testing.T) {
	if os.Getenv("CHAT_TEST_REDIS_URL") == "" {
		t.Skip("CHAT_TEST_REDIS_URL not set")
	}
	srv, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	startRedis := func() *exec.Cmd {
		cmd := exec.Command(srv, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "redis up", func() bool {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		return cmd
	}
	rs := startRedis()
	t.Cleanup(func() { _ = rs.Process.Kill(); _, _ = rs.Process.Wait() })
	nd := start(t, build(t), fmt.Sprintf("CHAT_REDIS_URL=redis://127.0.0.1:%d/0", port), "chattestresync", "n1")
	alice := dial(t, nd, "alice")
	var r struct{ Group struct{ GroupID string } }
	alice.ok("createGroup", map[string]any{"name": "g", "type": "Public"}, &r)
	resyncs := make(chan struct{}, 10)
	go func() {
		for range time.Tick(20 * time.Millisecond) {
			alice.mu.Lock()
			n := alice.resyncs
			alice.mu.Unlock()
			if n > 0 {
				resyncs <- struct{}{}
				return
			}
		}
	}()
	_ = rs.Process.Kill()
	_, _ = rs.Process.Wait()
	ready := func() int {
		resp, err := http.Get("http://" + nd.addr + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, 10*time.Second, "/readyz 503 without Redis", func() bool { return ready() == 503 })
	rs = startRedis()
	waitFor(t, 10*time.Second, "/readyz 200 with Redis back", func() bool { return ready() == 200 })
	select {
	case <-resyncs:
	case <-time.After(20 * time.Second):
		t.Fatal("no resync push after Redis came back")
	}
	// The store was lost with that Redis (no persistence); the node serves.
	alice.ok("createGroup", map[string]any{"name": "again", "type": "Public"})
}

// TestJoinThenImmediateMessage: a message sent on another node right after
// a join reaches the joiner, or the joiner's node sends it a resync for
// the group once it listens, so the client can fetch it.
func TestJoinThenImmediateMessage(t *testing.T) { backends(t, testJoinThenImmediateMessage) }

func testJoinThenImmediateMessage(t *testing.T, be backend) {
	ns := cluster(t, be, 2)
	alice := dial(t, ns[1], "alice")
	for i := 0; i < 20; i++ {
		var r struct{ Group struct{ GroupID string } }
		alice.ok("createGroup", map[string]any{"name": "g", "type": "Public"}, &r)
		gid := r.Group.GroupID
		bob := dial(t, ns[0], fmt.Sprintf("bob%d", i))
		bob.ok("joinGroup", map[string]any{"groupID": gid})
		send(alice, gid, "right away")
		waitFor(t, 5*time.Second, "the message or a resync", func() bool {
			bob.mu.Lock()
			resynced := bob.resyncs > 0
			bob.mu.Unlock()
			return resynced || bob.has(text("right away"))
		})
	}
}

// clusterOnly runs f on the Redis Cluster backend only.
func clusterOnly(t *testing.T, f func(t *testing.T, b backend)) {
	backends(t, func(t *testing.T, b backend) {
		if b.name != "cluster" {
			t.Skip("Redis Cluster only")
		}
		f(t, b)
	})
}

// TestShardedPubSub: on a Redis Cluster the nodes listen with sharded
// pub/sub (SSUBSCRIBE on the master owning each channel's slot), never
// with classic SUBSCRIBE, and messages flow between them.
func TestShardedPubSub(t *testing.T) { clusterOnly(t, testShardedPubSub) }

// twoNodeGroup starts two nodes, alice on the first and bob on the
// second, both in a new Public group.
func twoNodeGroup(t *testing.T, be backend) (alice, bob *client, gid string) {
	ns := cluster(t, be, 2)
	alice = dial(t, ns[0], "alice")
	bob = dial(t, ns[1], "bob")
	var r struct{ Group struct{ GroupID string } }
	alice.ok("createGroup", map[string]any{"name": "g", "type": "Public"}, &r)
	gid = r.Group.GroupID
	bob.ok("joinGroup", map[string]any{"groupID": gid})
	settle()
	return alice, bob, gid
}

func testShardedPubSub(t *testing.T, be backend) {
	alice, bob, gid := twoNodeGroup(t, be)
	send(alice, gid, "sharded")
	waitFor(t, 5*time.Second, "bob gets the message", func() bool { return bob.has(text("sharded")) })
	rdb := be.rdb().(*redis.ClusterClient)
	defer rdb.Close()
	ctx := context.Background()
	var mu sync.Mutex
	var sharded, classic []string
	_ = rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		s, _ := c.PubSubShardChannels(ctx, "*:ch:{g:"+gid+"}").Result()
		cl, _ := c.PubSubChannels(ctx, "*"+gid+"*").Result()
		mu.Lock()
		defer mu.Unlock()
		sharded = append(sharded, s...)
		classic = append(classic, cl...)
		return nil
	})
	if len(sharded) != 1 || len(classic) != 0 {
		t.Errorf("group channel: sharded %v, classic %v", sharded, classic)
	}
}

// TestShardSubscriptionKilled: Redis drops every node's shard
// subscription connections; the nodes subscribe again, tell their sessions
// to resync, and messages flow again.
func TestShardSubscriptionKilled(t *testing.T) { clusterOnly(t, testShardSubscriptionKilled) }

func testShardSubscriptionKilled(t *testing.T, be backend) {
	alice, bob, gid := twoNodeGroup(t, be)
	send(alice, gid, "before")
	waitFor(t, 5*time.Second, "bob gets the message", func() bool { return bob.has(text("before")) })
	resyncs := func(cl *client) int {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		return cl.resyncs
	}
	before := []int{resyncs(alice), resyncs(bob)} // their joins' resyncs
	rdb := be.rdb().(*redis.ClusterClient)
	defer rdb.Close()
	ctx := context.Background()
	var n atomic.Int64
	_ = rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		// chatd's connections carry no name; the hub package's broker
		// tests, which may run meanwhile, name theirs.
		list, err := c.Do(ctx, "client", "list", "type", "pubsub").Text()
		if err != nil {
			return err
		}
		for line := range strings.Lines(list) {
			f := map[string]string{}
			for kv := range strings.FieldsSeq(line) {
				k, v, _ := strings.Cut(kv, "=")
				f[k] = v
			}
			if f["name"] == "" && f["ssub"] != "0" {
				if c.Do(ctx, "client", "kill", "id", f["id"]).Err() == nil {
					n.Add(1)
				}
			}
		}
		return nil
	})
	if n.Load() == 0 {
		t.Fatal("no shard subscription to kill")
	}
	// A resync push comes once the node listens again.
	for i, cl := range []*client{alice, bob} {
		waitFor(t, 10*time.Second, cl.name+" resync push", func() bool { return resyncs(cl) > before[i] })
	}
	send(alice, gid, "after")
	waitFor(t, 5*time.Second, "bob gets the message after", func() bool { return bob.has(text("after")) })
	send(bob, gid, "back")
	waitFor(t, 5*time.Second, "alice gets bob's message", func() bool { return alice.has(text("back")) })
}
