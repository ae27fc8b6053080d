package presence

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"chatd/groups"
	"chatd/internal/redistest"
)

// testRedis returns a client on CHAT_TEST_REDIS_URL and a key prefix of
// the test's own (see internal/redistest).
func testRedis(t *testing.T) (redis.UniversalClient, string) { return redistest.Client(t) }

func TestRedisPresence(t *testing.T) {
	testPresence(t, func(t *testing.T, grace time.Duration) (groups.Presence, func()) {
		rdb, prefix := testRedis(t)
		r := NewRedis(rdb, prefix, "n1", RedisOptions{Options: Options{Grace: grace}})
		return r, func() { r.sweep(context.Background()) }
	})
}

// TestRedisPresenceAcrossNodes: a user in room A on node 1 who joins B
// through node 2 leaves A on node 1 too; a dead node's sessions stop
// counting after the session TTL.
func TestRedisPresenceAcrossNodes(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	n1 := NewRedis(rdb, prefix, "n1", RedisOptions{SessionTTL: 100 * time.Millisecond, Options: Options{Grace: 50 * time.Millisecond}})
	n2 := NewRedis(rdb, prefix, "n2", RedisOptions{SessionTTL: 100 * time.Millisecond, Options: Options{Grace: 50 * time.Millisecond}})
	s1 := groups.SessionRef{Node: "n1", ID: 1}
	s2 := groups.SessionRef{Node: "n2", ID: 1}
	n1.UserUp(ctx, "alice", s1)
	n2.UserUp(ctx, "alice", s2)
	if n, _ := n1.Online(ctx, "alice"); n != 2 {
		t.Errorf("alice online on %d sessions, want 2", n)
	}
	n1.JoinLive(ctx, "A", "alice", s1)
	res, err := n2.JoinLive(ctx, "B", "alice", s2)
	if err != nil || res.Left != "A" || !res.LeftUser {
		t.Fatalf("join B on n2: %+v %v", res, err)
	}
	if in, _ := n1.InRoom(ctx, "A", s1); in {
		t.Error("alice's node-1 session still in A")
	}
	if n, _ := n1.Count(ctx, "A"); n != 0 {
		t.Errorf("A count %d", n)
	}
	// Node 2 dies: no heartbeats. Its session stops counting after the TTL
	// and the membership ends after the grace, reported once.
	n1.JoinLive(ctx, "B", "bob", groups.SessionRef{Node: "n1", ID: 2})
	ended := make(chan string, 10)
	n1.OnExpire(func(room, user string) { ended <- room + "/" + user })
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n1.heartbeat(ctx)
		n1.sweep(ctx)
		if len(ended) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case e := <-ended:
		if e != "B/alice" {
			t.Errorf("ended %s", e)
		}
	default:
		t.Fatal("the dead node's user never expired")
	}
	if n, _ := n1.Count(ctx, "B"); n != 1 {
		t.Errorf("B count %d, want 1 (bob)", n)
	}
	if n, _ := n1.Online(ctx, "alice"); n != 1 {
		t.Errorf("alice online on %d sessions after node 2 died, want 1", n)
	}
}

// TestRedisSharedTips: joins on two nodes within the window make one
// batch, led by the node that opened it.
func TestRedisSharedTips(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	n1 := NewRedis(rdb, prefix, "n1", RedisOptions{})
	n2 := NewRedis(rdb, prefix, "n2", RedisOptions{})
	w := time.Second
	if lead, err := n1.ShareTip(ctx, "R", groups.TipJoin, "a", false, w); err != nil || !lead {
		t.Fatalf("first share: lead %v %v", lead, err)
	}
	if lead, _ := n2.ShareTip(ctx, "R", groups.TipJoin, "b", false, w); lead {
		t.Error("a second node leads the same batch")
	}
	n2.ShareTip(ctx, "R", groups.TipQuit, "c", true, w) // another type: its own batch
	users, notify, err := n1.TakeTips(ctx, "R", groups.TipJoin)
	if err != nil || len(users) != 2 || users[0] != "a" || users[1] != "b" || len(notify) != 0 {
		t.Errorf("take: %v %v %v", users, notify, err)
	}
	if users, _, _ := n1.TakeTips(ctx, "R", groups.TipJoin); len(users) != 0 {
		t.Errorf("taken twice: %v", users)
	}
	if users, notify, _ := n2.TakeTips(ctx, "R", groups.TipQuit); len(users) != 1 || len(notify) != 1 {
		t.Errorf("quit batch %v %v", users, notify)
	}
}
